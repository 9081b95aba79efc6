"""`vigil ping` for shell scripts: kinds, bodies, metadata, retries, exit statuses."""

from __future__ import annotations

import time

import pytest

from tests.client.conftest import PING_KEY, FakeVigil, VigilRunner

CHECK = "0b9a3c2d-1e4f-4a5b-8c6d-7e8f9a0b1c2d"


@pytest.mark.parametrize(
    ("args", "suffix"),
    [
        ((), ""),
        (("start",), "/start"),
        (("fail",), "/fail"),
        (("log",), "/log"),
        (("0",), "/0"),
        (("255",), "/255"),
    ],
)
def test_ping_kinds(vigil: VigilRunner, fake_vigil: FakeVigil, args: tuple[str, ...], suffix: str) -> None:
    result = vigil("ping", *args, "--url", f"{fake_vigil.url}/ping/{CHECK}")

    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    (ping,) = fake_vigil.pings()
    assert ping.path == f"/ping/{CHECK}{suffix}"


def test_ping_with_rid_body_and_slug(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    rid = "9d2c1b0a-3e4f-4a5b-8c6d-7e8f9a0b1c2d"

    result = vigil("ping", "3", "--slug", "db-dump", "--create", "--rid", rid, "--data", "dump failed")

    assert result.returncode == 0
    (ping,) = fake_vigil.pings()
    assert ping.path == f"/ping/{PING_KEY}/db-dump/3"
    assert ping.query == {"create": ["1"], "rid": [rid]}
    assert ping.body == b"dump failed"


def test_ping_body_from_stdin_with_meta(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    result = vigil(
        "ping",
        "log",
        "--url",
        f"{fake_vigil.url}/ping/{CHECK}",
        "--data-file",
        "-",
        "--meta",
        "files=12",
        "--meta",
        "dry=false",
        input=b"copied 12 files\n",
    )

    assert result.returncode == 0
    (ping,) = fake_vigil.pings()
    assert ping.json() == {"meta": {"files": 12, "dry": False}, "log": "copied 12 files\n"}


def test_ping_body_from_file(vigil: VigilRunner, fake_vigil: FakeVigil, tmp_path) -> None:
    data = tmp_path / "report.txt"
    data.write_bytes(b"\xffbinary\x00report")

    result = vigil("ping", "--url", f"{fake_vigil.url}/ping/{CHECK}", "--data-file", str(data))

    assert result.returncode == 0
    assert fake_vigil.pings()[0].body == b"\xffbinary\x00report"


def test_ping_retries_server_errors(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    fake_vigil.fail("/ping/", status=500, times=2)

    result = vigil("ping", "--url", f"{fake_vigil.url}/ping/{CHECK}")

    assert result.returncode == 0
    assert len(fake_vigil.pings()) == 3


def test_ping_gives_up_with_one_line(vigil: VigilRunner, closed_port: int) -> None:
    started = time.monotonic()

    result = vigil("ping", "--timeout", "1", "--url", f"http://127.0.0.1:{closed_port}/ping/{CHECK}")

    assert result.returncode == 1
    assert time.monotonic() - started < 4
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1
    assert "not delivered within 1 s" in lines[0]


def test_ping_4xx_is_final(vigil: VigilRunner, fake_vigil: FakeVigil) -> None:
    fake_vigil.fail("/ping/", status=400, times=5, body=b"malformed")

    result = vigil("ping", "--url", f"{fake_vigil.url}/ping/{CHECK}")

    assert result.returncode == 1
    assert len(fake_vigil.pings()) == 1
    assert len(result.stderr.decode().splitlines()) == 1


@pytest.mark.parametrize("args", [("256",), ("finish",), ("--meta", "novalue"), ()])
def test_ping_usage_errors(vigil: VigilRunner, fake_vigil: FakeVigil, args: tuple[str, ...]) -> None:
    url_args = ("--url", f"{fake_vigil.url}/ping/{CHECK}") if args else ("--slug", "x")
    env = {} if args else {"VIGIL_SERVER": ""}

    result = vigil("ping", *args, *url_args, env=env)

    assert result.returncode == 2
    assert fake_vigil.pings() == []
