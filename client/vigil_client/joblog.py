"""The log `vigil run` sends: a job's stdout and stderr told apart, its head and tail kept.

Lines appear in the order they ended; stdout lines as they are, stderr lines after
STDERR_PREFIX. When the whole output does not fit in the server's limit, the log keeps its
first third and its last two thirds (the end usually says what went wrong) with a line in
between saying how much was cut. Memory stays bounded however much the job prints: the head,
a rolling tail and one unfinished line per stream are all that is held.
"""

from __future__ import annotations

import codecs
import threading

# The server's PING_BODY_LIMIT when it does not say (CONTRACT §1: default 100000 bytes).
DEFAULT_LIMIT = 100_000
# Whatever a server announces, this process holds no more (memory on the job's host).
MAX_LIMIT = 10_000_000
STDOUT = "stdout"
STDERR = "stderr"
STDERR_PREFIX = b"[stderr] "
# An unfinished line waits this long for its end, then is logged as it is (a job printing
# megabytes without a newline must not be held in memory).
MAX_PENDING_LINE = 8192
# The tail may grow this far past its size before it is trimmed: one copy per this many bytes.
TAIL_SLACK = 64 * 1024
# A cut moves to the nearest line boundary within this many bytes, so kept lines stay whole.
LINE_SEARCH = 2048
# Room kept for the line that says what was cut.
MARKER_ROOM = 200


def parse_limit(value: str | None) -> int | None:
    """The `Ping-Body-Limit` header as bytes, or None when it is missing or makes no sense."""
    if value is None or not value.strip().isdigit():
        return None
    limit = int(value.strip())
    return limit if limit > 0 else None


class JobLog:
    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._lock = threading.Lock()
        self._head = bytearray()
        self._tail = bytearray()
        self._dropped = 0  # Bytes between head and tail that are no longer held.
        self.total = 0  # Bytes of log written so far.
        self._pending = {STDOUT: bytearray(), STDERR: bytearray()}
        self._decoders = {
            stream: codecs.getincrementaldecoder("utf-8")(errors="replace") for stream in (STDOUT, STDERR)
        }
        # The stream whose line the log stopped in the middle of, if any.
        self._open_line: str | None = None
        self._limit = 0
        self._head_size = 0
        self._tail_size = 0
        self._resize(limit)

    @property
    def limit(self) -> int:
        return self._limit

    def set_limit(self, limit: int) -> None:
        """The server's own limit, once its answer to the start ping tells it."""
        with self._lock:
            self._resize(limit)

    def write(self, stream: str, chunk: bytes) -> None:
        """Bytes the job wrote to `stream` (STDOUT or STDERR)."""
        with self._lock:
            # Valid UTF-8 from here on: the server counts (and cuts) the log as UTF-8 bytes.
            self._take(stream, self._decoders[stream].decode(chunk).encode("utf-8"))

    def close(self) -> None:
        """The job is done: log what is left of unfinished lines."""
        with self._lock:
            for stream in (STDOUT, STDERR):
                rest = self._decoders[stream].decode(b"", final=True).encode("utf-8")
                pending = self._pending[stream]
                pending += rest
                if pending:
                    self._emit(stream, bytes(pending))
                    pending.clear()

    def getvalue(self) -> bytes:
        """The log to send: all of it, or head, a line saying how much was cut, and tail."""
        with self._lock:
            if not self._dropped and len(self._head) + len(self._tail) <= self._limit:
                return bytes(self._head + self._tail)
            budget = max(0, self._limit - MARKER_ROOM)
            head_size = min(len(self._head), budget // 3)
            head = _cut_after_line(self._head, head_size)
            tail_size = min(len(self._tail), budget - len(head))
            tail = _cut_before_line(self._tail, len(self._tail) - tail_size)
            cut = self.total - len(head) - len(tail)
            marker = (
                ("" if not head or head.endswith(b"\n") else "\n")
                + f"[vigil: {cut:,} bytes cut here to fit the server's limit of {self._limit:,} bytes]\n"
            ).encode()
            return head + marker[: max(0, self._limit - len(head) - len(tail))] + tail

    # ---- internals, with the lock held ---------------------------------------------------

    def _resize(self, limit: int) -> None:
        limit = max(1, min(limit, MAX_LIMIT))
        if limit == self._limit:
            return
        self._limit = limit
        self._head_size = limit // 3
        self._tail_size = limit - self._head_size
        if not self._dropped:
            # Nothing lost yet: share what is held between head and tail anew.
            whole = self._head + self._tail
            self._head = whole[: self._head_size]
            self._tail = whole[self._head_size :]
        elif len(self._head) > self._head_size:
            self._dropped += len(self._head) - self._head_size
            del self._head[self._head_size :]
        self._trim_tail(0)

    def _take(self, stream: str, data: bytes) -> None:
        pending = self._pending[stream]
        pending += data
        end = pending.rfind(b"\n") + 1
        if end:
            self._emit(stream, bytes(pending[:end]))
            del pending[:end]
        if len(pending) > MAX_PENDING_LINE:
            self._emit(stream, bytes(pending))
            pending.clear()

    def _emit(self, stream: str, data: bytes) -> None:
        """Whole lines (or a piece of an overlong one) of `stream` into the log."""
        out = bytearray()
        if self._open_line is not None and self._open_line != stream:
            out += b"\n"  # The other stream's line was logged unfinished: end it first.
            self._open_line = None
        if stream == STDERR:
            if self._open_line is None:
                out += STDERR_PREFIX
            lines = data[:-1] if data.endswith(b"\n") else data
            out += lines.replace(b"\n", b"\n" + STDERR_PREFIX) + data[len(lines) :]
        else:
            out += data
        self._open_line = None if data.endswith(b"\n") else stream
        self._append(bytes(out))

    def _append(self, data: bytes) -> None:
        self.total += len(data)
        if not self._tail and not self._dropped:
            room = self._head_size - len(self._head)
            self._head += data[:room]
            data = data[room:]
        self._tail += data
        self._trim_tail(TAIL_SLACK)

    def _trim_tail(self, slack: int) -> None:
        excess = len(self._tail) - self._tail_size
        if excess > slack:
            del self._tail[:excess]
            self._dropped += excess


def _cut_after_line(data: bytearray, size: int) -> bytes:
    """The first `size` bytes, shortened to the end of a line if one ends near there, and never
    through a UTF-8 character."""
    if size >= len(data):
        return bytes(data)
    newline = data.rfind(b"\n", max(0, size - LINE_SEARCH), size)
    if newline >= 0:
        return bytes(data[: newline + 1])
    while size > 0 and data[size] & 0xC0 == 0x80:  # `size` falls inside a character
        size -= 1
    return bytes(data[:size])


def _cut_before_line(data: bytearray, start: int) -> bytes:
    """The bytes from `start` on, moved to the start of a line if one begins near there, and
    never through a UTF-8 character."""
    if start <= 0:
        return bytes(data)
    newline = data.find(b"\n", start - 1, start + LINE_SEARCH)
    if newline >= 0:
        return bytes(data[newline + 1 :])
    while start < len(data) and data[start] & 0xC0 == 0x80:
        start += 1
    return bytes(data[start:])
