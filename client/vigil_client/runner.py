"""Run a job: pass its output through untouched, copy it into its log, forward signals."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import FrameType

from vigil_client.joblog import STDERR, STDOUT, JobLog
from vigil_client.pings import Meta, PingSession, PingTarget
from vigil_client.transport import Budget, Transport

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# After the job exits, keep copying output while it still flows; stop once it has been
# quiet this long, because a daemon the job started may hold the pipe open forever.
DRAIN_QUIET_SECONDS = 1.0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class _Pump(threading.Thread):
    """Copies one of the child's pipes to our fd of the same kind, byte for byte, and to the log."""

    def __init__(self, source: int, dest: int, log: JobLog, stream: str) -> None:
        super().__init__(name=f"vigil-pump-{stream}", daemon=True)
        self.source = source
        self.dest = dest
        self.log = log
        self.stream = stream
        self.progress = 0

    def run(self) -> None:
        writing = True
        while True:
            try:
                chunk = os.read(self.source, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.progress += 1
            self.log.write(self.stream, chunk)
            if not writing:
                continue
            try:
                _write_all(self.dest, chunk)
            except BrokenPipeError:
                # Our reader went away (`vigil run ... | head`): stop reading so the job gets
                # SIGPIPE on its next write, as it would have without us in between.
                break
            except OSError as exc:
                if exc.errno not in (errno.EBADF, errno.EINVAL):
                    raise
                writing = False  # No usable output fd (closed by cron/systemd): just keep the log.


class SignalForwarder:
    """Passes SIGINT/SIGTERM/SIGHUP on to the child instead of letting them kill us first."""

    def __init__(self, signals: Sequence[signal.Signals] = FORWARDED_SIGNALS) -> None:
        self.signals = signals
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending: list[int] = []
        self._previous: dict[int, object] = {}

    def __enter__(self) -> SignalForwarder:
        # signal.signal only works in the main thread (the SDK or tests may call us elsewhere).
        if threading.current_thread() is threading.main_thread():
            for sig in self.signals:
                # An ignored signal (e.g. SIGINT for a job started with `&`) stays ignored:
                # the child inherits that, exactly as it would without us.
                if signal.getsignal(sig) is signal.SIG_IGN:
                    continue
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)  # type: ignore[arg-type]
        self._previous.clear()

    def attach(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc
        pending, self._pending = self._pending, []
        for sig in pending:
            self._send(sig)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and _in_terminal_foreground():
            # Ctrl-C at a terminal already reached the whole process group, the child
            # included; a second SIGINT would cut its own clean-up short.
            return
        if self._proc is None:
            self._pending.append(signum)  # Arrived while spawning: deliver right after.
        else:
            self._send(signum)

    def _send(self, signum: int) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError):
            self._proc.send_signal(signum)


def _in_terminal_foreground() -> bool:
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


def shell_argv(command: Sequence[str], shell: str | None = None) -> list[str]:
    """`--shell`: one string for `sh -c`, several joined by spaces like sh's "$*"."""
    shell = shell or os.environ.get("SHELL") or "/bin/sh"
    return [shell, "-c", " ".join(command)]


def exit_status(returncode: int) -> int:
    """A shell's view of a result: killed by signal N -> 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def _spawn_failure(exc: OSError, name: str) -> tuple[int, bytes]:
    """The shell's exit status and message for a command that could not be started."""
    if isinstance(exc, FileNotFoundError):
        return 127, f"vigil: {name}: command not found\n".encode()
    if isinstance(exc, PermissionError):
        return 126, f"vigil: {name}: permission denied\n".encode()
    return 126, f"vigil: {name}: cannot execute: {exc.strerror or exc}\n".encode()


def run_command(
    argv: Sequence[str],
    log: JobLog,
    *,
    env: Mapping[str, str] | None = None,
    stdout_fd: int = 1,
    stderr_fd: int = 2,
) -> int:
    """Run argv to completion and return its exit status as a shell would report it.

    127 when the command does not exist, 126 when it cannot be executed, 128+N when a
    signal killed it. stdin is inherited, so cron's `%` input still reaches the job. The log
    is closed (unfinished lines written) before this returns.
    """
    if not argv:
        raise ValueError("no command to run")
    with SignalForwarder() as forwarder:
        try:
            proc = subprocess.Popen(
                list(argv),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(env) if env is not None else None,
                bufsize=0,
            )
        except OSError as exc:
            status, message = _spawn_failure(exc, argv[0])
            log.write(STDERR, message)
            log.close()
            with contextlib.suppress(OSError):
                _write_all(stderr_fd, message)
            return status
        forwarder.attach(proc)
        assert proc.stdout is not None
        assert proc.stderr is not None
        pumps = [
            _Pump(proc.stdout.fileno(), stdout_fd, log, STDOUT),
            _Pump(proc.stderr.fileno(), stderr_fd, log, STDERR),
        ]
        for pump in pumps:
            pump.start()
        returncode = proc.wait()
        _drain(pumps)
    if not any(p.is_alive() for p in pumps):
        proc.stdout.close()
        proc.stderr.close()
    log.close()
    return exit_status(returncode)


def _drain(pumps: list[_Pump]) -> None:
    """Wait for the pumps while output keeps coming; give up after a quiet spell."""
    while True:
        before = [p.progress for p in pumps]
        deadline = time.monotonic() + DRAIN_QUIET_SECONDS
        for pump in pumps:
            pump.join(timeout=max(0.0, deadline - time.monotonic()))
        if not any(p.is_alive() for p in pumps):
            return
        if [p.progress for p in pumps] == before:
            return


def run_monitored(
    target: PingTarget | None,
    argv: Sequence[str],
    *,
    budget: Budget,
    warn: Callable[[str], None],
    rid: str | None = None,
    meta: Meta | None = None,
) -> int:
    """`vigil run`: a start ping in the background, the job at once, then its result and log.

    `rid` ties the run to a Run now request (`vigil agent`); otherwise a fresh one is made.
    """
    log = JobLog()
    session = PingSession(target, Transport(budget), warn, rid=rid, on_body_limit=log.set_limit)
    # Lets the job send `vigil ping log --rid "$VIGIL_RID"` into the same run.
    env = {**os.environ, "VIGIL_RID": session.rid}
    session.start()  # In the background: the job starts now, whatever the server does.
    status = run_command(argv, log, env=env)
    # The log is cut to the limit the start ping's answer tells, so that answer comes first.
    session.wait_for_start()
    session.finish(status, log.getvalue(), meta or None)
    return status
