"""vigil_client.joblog: both streams told apart, head and tail within the limit, bounded memory."""

from __future__ import annotations

import re

import pytest
from vigil_client.joblog import (
    MAX_LIMIT,
    MAX_PENDING_LINE,
    STDERR,
    STDOUT,
    TAIL_SLACK,
    JobLog,
    parse_limit,
)

CUT = re.compile(r"\[vigil: ([0-9,]+) bytes cut here to fit the server's limit of ([0-9,]+) bytes\]\n")


def logged(log: JobLog) -> str:
    log.close()
    return log.getvalue().decode("utf-8")


def cut_of(text: str) -> tuple[int, str, str]:
    """(bytes said to be cut, the text before the marker, the text after it)."""
    match = CUT.search(text)
    assert match is not None, text[-500:]
    return int(match[1].replace(",", "")), text[: match.start()], text[match.end() :]


def test_stdout_as_it_is_and_stderr_prefixed_in_the_order_lines_end() -> None:
    log = JobLog()
    log.write(STDOUT, b"starting\nhalf a ")
    log.write(STDERR, b"warning: low disk\nerror: ")
    log.write(STDOUT, b"line\n")
    log.write(STDERR, b"disk full\n")

    assert logged(log) == ("starting\n[stderr] warning: low disk\nhalf a line\n[stderr] error: disk full\n")


def test_unfinished_lines_are_logged_at_the_end() -> None:
    log = JobLog()
    log.write(STDOUT, b"no newline")
    log.write(STDERR, b"nor here")

    assert logged(log) == "no newline\n[stderr] nor here"


def test_output_of_stdout_alone_is_the_log_unchanged() -> None:
    log = JobLog()
    for chunk in (b'{"meta": 1}', b"\r\n", b"tabs\tand \x00 NUL\n", b"end"):
        log.write(STDOUT, chunk)

    assert logged(log) == '{"meta": 1}\r\ntabs\tand \x00 NUL\nend'


def test_a_line_longer_than_the_pending_limit_is_logged_in_pieces_and_memory_stays_bounded() -> None:
    log = JobLog()
    log.write(STDOUT, b"x" * (MAX_PENDING_LINE * 3))
    log.write(STDERR, b"interrupting\n")
    log.write(STDOUT, b"y" * 10 + b"\n")

    # The long line was written unfinished, so the stderr line first ends it.
    assert logged(log) == "x" * (MAX_PENDING_LINE * 3) + "\n[stderr] interrupting\n" + "y" * 10 + "\n"


def test_characters_split_between_reads_stay_whole_and_bad_bytes_are_replaced() -> None:
    log = JobLog()
    euro = "€".encode()
    log.write(STDOUT, b"price " + euro[:1])
    log.write(STDOUT, euro[1:] + b" \xff ok\n")

    assert logged(log) == "price € \ufffd ok\n"


def test_everything_is_kept_when_it_fits() -> None:
    log = JobLog(limit=1000)
    lines = [f"line {n:03d}\n".encode() for n in range(100)]  # 9 bytes each: 900 in all
    for line in lines:
        log.write(STDOUT, line)

    assert logged(log) == b"".join(lines).decode()


@pytest.mark.parametrize("limit", [2_000, 10_000, 100_000])
def test_head_and_tail_are_kept_with_the_cut_stated_exactly(limit: int) -> None:
    log = JobLog(limit=limit)
    whole = b"".join(f"{n:07d} {'.' * 40}\n".encode() for n in range(20_000))  # 49 bytes a line
    for start in range(0, len(whole), 4096):
        log.write(STDOUT, whole[start : start + 4096])

    text = logged(log)
    cut, head, tail = cut_of(text)

    assert len(text.encode()) <= limit
    assert whole.decode().startswith(head)
    assert whole.decode().endswith(tail)
    assert len(head) + cut + len(tail) == len(whole)
    assert f"limit of {limit:,} bytes" in text
    # Cuts fall between lines, and the tail holds about two thirds of the room.
    assert head.endswith("\n")
    assert tail.startswith(tuple("0123456789"))
    assert len(tail) > len(head)
    assert len(head) > limit // 4


def test_both_streams_in_head_and_tail() -> None:
    log = JobLog(limit=3000)
    for n in range(1000):
        log.write(STDOUT, f"out {n:04d}\n".encode())
        log.write(STDERR, f"err {n:04d}\n".encode())

    text = logged(log)
    cut, head, tail = cut_of(text)

    assert head.startswith("out 0000\n[stderr] err 0000\nout 0001\n[stderr] err 0001\n")
    assert tail.endswith("out 0999\n[stderr] err 0999\n")
    for line in (head + tail).splitlines():
        assert re.fullmatch(r"out \d{4}|\[stderr\] err \d{4}", line), line
    assert cut == log.total - len(head) - len(tail)
    assert log.total == 1000 * (9 + 18)


def test_gigabytes_of_output_hold_only_head_and_tail() -> None:
    log = JobLog(limit=100_000)
    chunk = (b"a fairly ordinary line of job output\n" * 1700)[:65536]
    for n in range(4000):  # 256 MiB through stdout, half as much through stderr
        log.write(STDOUT, chunk)
        if n % 2:
            log.write(STDERR, chunk)
        held = len(log._head) + len(log._tail) + sum(map(len, log._pending.values()))
        assert held <= 100_000 + TAIL_SLACK + 2 * MAX_PENDING_LINE + len(chunk)

    text = logged(log)
    cut, head, tail = cut_of(text)

    assert cut > 380_000_000
    assert len(text.encode()) <= 100_000
    assert head.startswith("a fairly ordinary line of job output\n")
    assert tail.endswith("job output\n") or tail.endswith("job ")


def test_a_limit_told_before_anything_was_lost_reshapes_what_is_held() -> None:
    log = JobLog(limit=1000)
    for n in range(50):
        log.write(STDOUT, f"{n:09d}\n".encode())  # 500 bytes: all held
    log.set_limit(400)
    for n in range(50, 60):
        log.write(STDOUT, f"{n:09d}\n".encode())

    text = logged(log)
    cut, head, tail = cut_of(text)

    assert len(text.encode()) <= 400
    assert head.startswith("000000000\n")
    assert tail.endswith("000000059\n")
    assert cut == 600 - len(head) - len(tail)


def test_a_larger_limit_keeps_more() -> None:
    log = JobLog()
    log.set_limit(500_000)
    whole = b"".join(f"{n:09d}\n".encode() for n in range(30_000))  # 300 kB
    log.write(STDOUT, whole)

    assert log.limit == 500_000
    assert logged(log) == whole.decode()


def test_limits_are_capped() -> None:
    log = JobLog()
    log.set_limit(10**12)
    assert log.limit == MAX_LIMIT


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("100000", 100000),
        (" 2048 ", 2048),
        ("0", None),
        ("-5", None),
        ("lots", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_limit(header: str | None, expected: int | None) -> None:
    assert parse_limit(header) == expected
