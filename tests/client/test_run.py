"""`vigil run`, as a real process: exit codes, output, log tail, metadata, retries, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.client.conftest import PING_KEY, FakeVigil, VigilRunner, client_env

CHECK = "5f8c6a1e-2b7d-4c1e-9a3f-0d4e5b6c7a8f"


def ping_url(fake_vigil: FakeVigil) -> str:
    return f"{fake_vigil.url}/ping/{CHECK}"


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


@pytest.mark.parametrize("code", [0, 1, 3])
def test_exit_code_passes_through_and_is_reported(
    vigil: VigilRunner, fake_vigil: FakeVigil, code: int
) -> None:
    result = vigil("run", "--url", ping_url(fake_vigil), "--", "sh", "-c", f"exit {code}")

    assert result.returncode == code
    assert result.stderr == b""
    start, finish = fake_vigil.pings()
    assert start.path == f"/ping/{CHECK}/start"
    assert finish.path == f"/ping/{CHECK}/{code}"
    assert start.rid == finish.rid
    assert uuid.UUID(str(start.rid)).version == 4


def test_killed_by_sigkill_exits_137(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    result = vigil("run", "--url", ping_url(fake_vigil), "--", "sh", "-c", "kill -KILL $$")

    assert result.returncode == 137
    assert fake_vigil.pings()[-1].path == f"/ping/{CHECK}/137"


def test_output_passes_through_byte_for_byte(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    out = bytes(range(256)) + b"\xff\xfe not utf-8 \x80\r\n\x00no newline at the end"
    err = b"\xc3\x28 invalid sequence\n\x00\x01partial"
    script = (
        "import sys\n"
        f"sys.stdout.buffer.write({out!r}); sys.stdout.flush()\n"
        f"sys.stderr.buffer.write({err!r}); sys.stderr.flush()\n"
    )

    result = vigil("run", "--url", ping_url(fake_vigil), "--", *py(script))

    assert result.returncode == 0
    assert result.stdout == out
    assert result.stderr == err
    # The log is text the server can store: bad UTF-8 replaced, each stream's lines whole.
    log = fake_vigil.pings()[-1].body.decode("utf-8")
    assert out.split(b"\n")[0].decode("utf-8", "replace") + "\n" in log
    assert "[stderr] \ufffd( invalid sequence\n" in log
    assert "\x00no newline at the end" in log
    assert "[stderr] \x00\x01partial" in log


def test_stdin_reaches_the_job(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    # cron feeds the text after a `%` to stdin: it must get through to the command.
    result = vigil("run", "--url", ping_url(fake_vigil), "--", "cat", input=b"line one\nline two")

    assert result.stdout == b"line one\nline two"


def test_log_and_typed_meta_arrive(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    # The pause keeps the two streams' order in the log deterministic.
    script = (
        "import sys, time; print('A' * 30000, flush=True); time.sleep(0.2)\n"
        "sys.stderr.write('the end'); sys.stderr.flush(); sys.exit(1)"
    )

    result = vigil(
        "run",
        "--url",
        ping_url(fake_vigil),
        "--meta",
        "rows=42",
        "--meta",
        "ratio=0.5",
        "--meta",
        "ok=true",
        "--meta",
        "version=1.2.3",
        "--meta",
        "zip=007",
        "--meta",
        "note=hello world",
        "--",
        *py(script),
    )

    assert result.returncode == 1
    finish = fake_vigil.pings()[-1]
    assert finish.path == f"/ping/{CHECK}/1"
    assert finish.headers["Content-Type"] == "application/json"
    envelope = finish.json()
    assert envelope["meta"] == {
        "rows": 42,
        "ratio": 0.5,
        "ok": True,
        "version": "1.2.3",
        "zip": "007",
        "note": "hello world",
    }
    assert envelope["log"] == "A" * 30000 + "\n[stderr] the end"


def test_log_without_meta_is_the_plain_body(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    result = vigil("run", "--url", ping_url(fake_vigil), "--", "sh", "-c", "echo out; echo err >&2")

    assert result.returncode == 0
    finish = fake_vigil.pings()[-1]
    assert finish.headers["Content-Type"].startswith("text/plain")
    assert b"out\n" in finish.body
    assert b"err\n" in finish.body


def test_server_down_job_still_runs_within_budget(
    vigil: VigilRunner, closed_port: int, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    budget = 2.0
    started = time.monotonic()

    result = vigil(
        "run",
        "--timeout",
        str(budget),
        "--url",
        f"http://127.0.0.1:{closed_port}/ping/{CHECK}",
        "--",
        "sh",
        "-c",
        f"echo hi; touch {marker}; exit 3",
    )

    elapsed = time.monotonic() - started
    assert result.returncode == 3
    assert marker.exists()
    assert result.stdout == b"hi\n"
    assert elapsed < budget + 3
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("vigil: ")
    assert "exit 3" in lines[0]


def test_server_errors_are_retried_until_delivered(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    fake_vigil.fail("/ping/", status=500, times=1)
    fake_vigil.fail(f"/ping/{CHECK}/0", status=503, times=1)

    result = vigil("run", "--url", ping_url(fake_vigil), "--", "true")

    assert result.returncode == 0
    assert result.stderr == b""
    paths = [p.path for p in fake_vigil.pings()]
    assert paths.count(f"/ping/{CHECK}/start") == 2
    assert paths.count(f"/ping/{CHECK}/0") == 2
    assert paths[-1] == f"/ping/{CHECK}/0"


def test_rate_limit_is_retried(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    fake_vigil.fail(f"/ping/{CHECK}/0", status=429, times=1, headers={"Retry-After": "0.2"})

    result = vigil("run", "--url", ping_url(fake_vigil), "--", "true")

    assert result.returncode == 0
    assert [p.path for p in fake_vigil.pings()].count(f"/ping/{CHECK}/0") == 2


def test_client_error_is_not_retried(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    fake_vigil.fail("/ping/", status=404, times=10, body=b"not found")

    result = vigil("run", "--url", ping_url(fake_vigil), "--", "sh", "-c", "exit 4")

    assert result.returncode == 4
    assert len(fake_vigil.pings()) == 2  # One start, one finish, no retries.
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1
    assert "404" in lines[0]


def test_start_ping_does_not_delay_the_job(vigil: VigilRunner, fake_vigil: FakeVigil, tmp_path: Path) -> None:
    fake_vigil.fail(f"/ping/{CHECK}/start", status=0, times=1, delay=2.0)  # A slow, not failed, answer.
    stamp = tmp_path / "started"
    before = time.time()

    result = vigil(
        "run",
        "--url",
        ping_url(fake_vigil),
        "--",
        *py(f"import time; open({str(stamp)!r}, 'w').write(str(time.time()))"),
    )

    assert result.returncode == 0
    assert float(stamp.read_text()) - before < 1.5
    paths = [p.path for p in fake_vigil.pings()]
    assert paths == [f"/ping/{CHECK}/start", f"/ping/{CHECK}/0"]  # The finish waited for the start.


def test_sigterm_is_forwarded_to_the_job(fake_vigil: FakeVigil, tmp_path: Path) -> None:
    marker = tmp_path / "got-term"
    script = (
        "import signal, sys, time\n"
        "def on_term(signum, frame):\n"
        f"    open({str(marker)!r}, 'w').write('TERM')\n"
        "    sys.exit(143)\n"
        "signal.signal(signal.SIGTERM, on_term)\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil_client", "run", "--url", ping_url(fake_vigil), "--", *py(script)],
        env=client_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert code == 143
    assert marker.read_text() == "TERM"
    assert fake_vigil.pings()[-1].path == f"/ping/{CHECK}/143"


def test_command_not_found_reports_127(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    result = vigil("run", "--url", ping_url(fake_vigil), "--", "no-such-command-vigil-test")

    assert result.returncode == 127
    assert b"command not found" in result.stderr
    finish = fake_vigil.pings()[-1]
    assert finish.path == f"/ping/{CHECK}/127"
    assert b"no-such-command-vigil-test: command not found" in finish.body


def test_slug_url_and_shell_mode(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    result = vigil("run", "--slug", "nightly-backup", "--shell", "--", "echo abc | tr a-c x-z && exit 2")

    assert result.returncode == 2
    assert result.stdout == b"xyz\n"
    paths = [p.path for p in fake_vigil.pings()]
    assert paths == [f"/ping/{PING_KEY}/nightly-backup/start", f"/ping/{PING_KEY}/nightly-backup/2"]


def test_job_sees_the_run_id(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    result = vigil("run", "--url", ping_url(fake_vigil), "--", "sh", "-c", 'printf %s "$VIGIL_RID"')

    assert result.stdout.decode() == fake_vigil.pings()[0].rid


def test_missing_configuration_still_runs_the_job(vigil: VigilRunner) -> None:
    result = vigil("run", "--slug", "x", "--", "sh", "-c", "echo ran; exit 5", env={"VIGIL_PING_KEY": ""})

    assert result.returncode == 5
    assert result.stdout == b"ran\n"
    assert b"VIGIL_PING_KEY" in result.stderr


def test_env_timeout_is_used(vigil: VigilRunner, closed_port: int) -> None:
    started = time.monotonic()
    result = vigil(
        "run",
        "--url",
        f"http://127.0.0.1:{closed_port}/ping/{CHECK}",
        "--",
        "true",
        env={"VIGIL_TIMEOUT": "0.5"},
    )

    assert result.returncode == 0
    assert time.monotonic() - started < 3


def test_ping_body_is_json_safe_for_json_looking_output(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    # A job printing JSON must not be mistaken for a metadata envelope by the server.
    vigil("run", "--url", ping_url(fake_vigil), "--", "echo", '{"meta": {"x": 1}}')

    envelope = json.loads(fake_vigil.pings()[-1].body)
    assert envelope == {"meta": {}, "log": '{"meta": {"x": 1}}\n'}


@pytest.mark.skipif(not hasattr(os, "getpgrp"), reason="POSIX only")
def test_run_without_command_is_a_usage_error(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    result = vigil("run", "--url", ping_url(fake_vigil))

    assert result.returncode == 2
    assert fake_vigil.pings() == []
