"""`vigil run`'s log against the fake server: streams told apart, the server's limit honoured."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.client.conftest import FakeVigil, VigilRunner, client_env

CHECK = "0b7e2c6a-41d8-4f7e-9c55-3a1f2e6d9b80"
CUT = re.compile(rb"\[vigil: ([0-9,]+) bytes cut here to fit the server's limit of ([0-9,]+) bytes\]\n")
# 1,500 lines of 100 bytes on each stream: 300 kB.
BOTH_STREAMS = (
    "import sys\n"
    "for n in range(1500):\n"
    "    sys.stdout.write(f'out {n:06d} ' + 'o' * 88 + '\\n')\n"
    "    sys.stderr.write(f'err {n:06d} ' + 'e' * 88 + '\\n')\n"
    "sys.exit(1)\n"
)
WHOLE_LOG_BYTES = 1500 * 100 * 2 + 1500 * len(b"[stderr] ")


def ping_url(fake_vigil: FakeVigil) -> str:
    return f"{fake_vigil.url}/ping/{CHECK}"


def run_both_streams(
    vigil: VigilRunner, fake_vigil: FakeVigil
) -> tuple[subprocess.CompletedProcess[bytes], bytes]:
    # -u: unbuffered, so the two streams' lines alternate as the job writes them.
    result = vigil("run", "--url", ping_url(fake_vigil), "--", sys.executable, "-u", "-c", BOTH_STREAMS)
    assert result.returncode == 1
    finish = fake_vigil.pings()[-1]
    assert finish.path == f"/ping/{CHECK}/1"
    return result, finish.body


def assert_head_and_tail(body: bytes, limit: int) -> None:
    """Within the limit; the cut stated exactly; each stream's lines told apart, in order, from
    its first line on in the head and up to its last one in the tail.

    Which stream's lines come first when both stream fast depends on how the two pipes'
    reads interleave, so the two streams are checked each on its own.
    """
    match = CUT.search(body)
    assert match is not None, body[-300:]
    assert int(match[2].replace(b",", b"")) == limit
    head, tail = body[: match.start()], body[match.end() :]
    assert len(body) <= limit
    assert int(match[1].replace(b",", b"")) == WHOLE_LOG_BYTES - len(head) - len(tail)
    kept = {"head": stream_lines(head), "tail": stream_lines(tail)}
    for stream in ("out", "err"):
        in_head, in_tail = kept["head"][stream], kept["tail"][stream]
        assert in_head == list(range(len(in_head))), (stream, in_head)
        assert in_tail == list(range(1500 - len(in_tail), 1500)), (stream, in_tail)
    assert 0 in kept["head"]["out"] + kept["head"]["err"]
    assert 1499 in kept["tail"]["out"] + kept["tail"]["err"]


def stream_lines(part: bytes) -> dict[str, list[int]]:
    """The line numbers of each stream in `part`; every line must be one of the two shapes."""
    numbers: dict[str, list[int]] = {"out": [], "err": []}
    for line in part.splitlines():
        match = re.fullmatch(rb"out (\d{6}) o{88}|\[stderr\] err (\d{6}) e{88}", line)
        assert match is not None, line
        if match[1] is not None:
            numbers["out"].append(int(match[1]))
        else:
            numbers["err"].append(int(match[2]))
    return numbers


def test_a_small_ping_body_limit_gets_head_and_tail_with_the_cut_stated(
    vigil: VigilRunner, fake_vigil: FakeVigil
) -> None:
    fake_vigil.ping_body_limit = 5000

    result, body = run_both_streams(vigil, fake_vigil)

    assert_head_and_tail(body, 5000)
    # The job's own output still passed through whole and unchanged.
    assert result.stdout == b"".join(f"out {n:06d} {'o' * 88}\n".encode() for n in range(1500))
    assert result.stderr == b"".join(f"err {n:06d} {'e' * 88}\n".encode() for n in range(1500))


def test_without_the_header_the_log_is_cut_to_100_kb(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    _, body = run_both_streams(vigil, fake_vigil)

    assert_head_and_tail(body, 100_000)
    assert len(body) > 99_000  # All the room is used.
    assert b"out " in body
    assert b"[stderr] err " in body


def test_a_larger_limit_gets_the_whole_log(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    fake_vigil.ping_body_limit = 1_000_000

    _, body = run_both_streams(vigil, fake_vigil)

    assert len(body) == WHOLE_LOG_BYTES
    assert not CUT.search(body)
    assert body.count(b"[stderr] err ") == 1500
    assert body.count(b"\nout ") + body.startswith(b"out ") == 1500


def test_a_start_ping_that_fails_leaves_the_default_limit(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    fake_vigil.ping_body_limit = 5000
    fake_vigil.fail(f"/ping/{CHECK}/start", status=404, times=1)

    _, body = run_both_streams(vigil, fake_vigil)

    assert_head_and_tail(body, 100_000)


def test_streams_are_told_apart_in_the_order_lines_were_written(
    vigil: VigilRunner, fake_vigil: FakeVigil
) -> None:
    # Pauses between the streams' writes make their order certain.
    script = (
        "import sys, time\n"
        "def say(stream, text):\n"
        "    stream.write(text); stream.flush(); time.sleep(0.15)\n"
        "say(sys.stdout, 'copying files\\n')\n"
        "say(sys.stderr, 'warning: slow disk\\n')\n"
        "say(sys.stdout, '120 files copied\\nverifying ')\n"
        "say(sys.stderr, 'error: checksum mismatch\\n')\n"
        "say(sys.stdout, 'failed\\n')\n"
    )

    result = vigil("run", "--url", ping_url(fake_vigil), "--", sys.executable, "-c", script)

    assert result.returncode == 0
    assert fake_vigil.pings()[-1].body == (
        b"copying files\n"
        b"[stderr] warning: slow disk\n"
        b"120 files copied\n"
        b"[stderr] error: checksum mismatch\n"
        b"verifying failed\n"
    )


@pytest.mark.slow
def test_memory_stays_bounded_while_a_job_prints_hundreds_of_megabytes(fake_vigil: FakeVigil) -> None:
    # A fresh interpreter measures the largest child it waited for: `vigil run` itself (the
    # job's own children count inside it, and `head`/`tr` hold almost nothing).
    megabytes = 300
    job = f"head -c {megabytes * 1024 * 1024} /dev/zero | tr '\\\\0' 'x' | fold -w 99"
    measure = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    argv = [sys.executable, "-m", "vigil_client", "run", "--url", ping_url(fake_vigil), "--shell", "--", job]

    result = subprocess.run(
        [sys.executable, "-c", measure, *argv], env=client_env(), capture_output=True, timeout=240, check=True
    )

    peak_kib = int(result.stdout)
    assert peak_kib < 80 * 1024, f"vigil run peaked at {peak_kib / 1024:.0f} MiB"
    body = fake_vigil.pings()[-1].body
    assert len(body) <= 100_000
    match = CUT.search(body)
    assert match is not None
    assert int(match[1].replace(b",", b"")) > (megabytes - 1) * 1024 * 1024
