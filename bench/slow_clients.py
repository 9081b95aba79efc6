"""Pings while slow clients hold half-sent requests: can a few stalled connections starve the server?

    .venv/bin/python bench/slow_clients.py                # make run's server settings, then sync workers

For each server setting: the embedded mode (`manage.py runall`, as `make run` starts it) in a
temp dir, one monitor; PINGS sequential pings (a new connection each, like `curl` from
cron) with no slow client, then again while SLOW connections each announce
`Content-Length: 1000`, send 3 bytes and then a byte every 5 s. Prints p50/p99/max and the pings that got no
answer within PING_TIMEOUT. The settings compared: monitorsite/gunicorn_conf.py as it is
(threaded workers), and `GUNICORN_CMD_ARGS="--worker-class sync --threads 1"` (what Vigil
used before; a ping there waits for a slow client to finish or for gunicorn to kill the
worker, which the time budget cuts short).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import math
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.embedded import EmbeddedVigil

SLOW = 10
PINGS = 300
PING_TIMEOUT = 5.0
BUDGET_SECONDS = 60.0
# Below gunicorn's 30 s timeout: the slow clients are never dropped for silence.
DRIBBLE_SECONDS = 5.0
SETTINGS = {
    "threads (monitorsite/gunicorn_conf.py)": "",
    "sync workers": "--worker-class sync --threads 1",
}


@dataclass
class Latencies:
    seconds: list[float]
    failed: int
    # Pings not sent because the time budget ran out.
    unsent: int

    def percentile(self, fraction: float) -> float:
        """Nearest rank; failed pings count as slower than any answered one."""
        ranked = sorted(self.seconds) + [math.inf] * self.failed
        if not ranked:
            return math.nan
        return ranked[min(len(ranked) - 1, max(0, math.ceil(fraction * len(ranked)) - 1))]

    def summary(self) -> str:
        def ms(value: float) -> str:
            return "no answer" if math.isinf(value) else f"{value * 1000:.1f} ms"

        answered = len(self.seconds)
        return (
            f"{answered} answered, {self.failed} without answer, {self.unsent} not sent; "
            f"p50 {ms(self.percentile(0.5))}, p99 {ms(self.percentile(0.99))}, "
            f"max {ms(self.percentile(1.0))}"
        )


@contextlib.contextmanager
def half_sent_requests(port: int, path: str, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections that announce 1000 bytes of body and send 3, then one more byte
    every DRIBBLE_SECONDS (a slowloris: never silent long enough for a server timeout)."""
    sockets: list[socket.socket] = []
    stop = threading.Event()

    def dribble() -> None:
        while not stop.wait(DRIBBLE_SECONDS):
            for connection in sockets:
                with contextlib.suppress(OSError):
                    connection.sendall(b"x")

    try:
        for _ in range(count):
            connection = socket.create_connection(("127.0.0.1", port), timeout=5)
            connection.sendall(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                "Content-Length: 1000\r\n\r\nabc".encode()
            )
            sockets.append(connection)
        dribbler = threading.Thread(target=dribble, daemon=True)
        dribbler.start()
        # Let the server accept them and hand each to a worker before measuring.
        time.sleep(0.5)
        yield sockets
    finally:
        stop.set()
        for connection in sockets:
            connection.close()


def still_open(connection: socket.socket) -> bool:
    """True while the server has neither answered nor closed the connection."""
    connection.setblocking(False)
    try:
        connection.recv(1)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        connection.setblocking(True)
    return False  # an answer, or the end of the stream


def ping_latencies(
    port: int,
    path: str,
    *,
    count: int,
    timeout: float = PING_TIMEOUT,
    budget: float = BUDGET_SECONDS,
    expect: int = 200,
) -> Latencies:
    """`count` sequential GETs of `path`, each on a new connection; stops early when `budget` runs out.

    An answer other than `expect` counts as failed.
    """
    seconds: list[float] = []
    failed = 0
    ends = time.monotonic() + budget
    for sent in range(count):
        if time.monotonic() > ends:
            return Latencies(seconds, failed, unsent=count - sent)
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status == expect:
                seconds.append(time.perf_counter() - started)
            else:
                failed += 1
        except OSError:
            failed += 1
        finally:
            connection.close()
    return Latencies(seconds, failed, unsent=0)


def measure(gunicorn_args: str, *, slow: int, pings: int) -> tuple[Latencies, Latencies, list[str]]:
    """(no slow client, `slow` slow clients, log lines that say something went wrong)."""
    with tempfile.TemporaryDirectory(prefix="vigil-slow-clients-") as tmp:
        vigil = EmbeddedVigil(Path(tmp) / "var", env={"GUNICORN_CMD_ARGS": gunicorn_args})
        with vigil:
            vigil.bootstrap()
            monitor = vigil.create("monitors/", {"slug": "slow-clients", "schedule": _hourly()})
            path = f"/ping/{str(monitor['ping_url']).rsplit('/ping/', 1)[1]}"
            quiet = ping_latencies(vigil.port, path, count=pings)
            with half_sent_requests(vigil.port, path, slow):
                held = ping_latencies(vigil.port, path, count=pings)
        return quiet, held, vigil.problem_lines()


def _hourly() -> dict[str, object]:
    return {"kind": "interval", "seconds": 3600}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--slow", type=int, default=SLOW, help="slow connections held open")
    parser.add_argument("--pings", type=int, default=PINGS, help="pings per measurement")
    args = parser.parse_args()
    with open("/proc/loadavg") as loadavg:
        load = " ".join(loadavg.read().split()[:3])
    print(f"slow clients benchmark: {args.slow} half-sent requests, {args.pings} pings; load average {load}")
    for label, gunicorn_args in SETTINGS.items():
        quiet, held, problems = measure(gunicorn_args, slow=args.slow, pings=args.pings)
        print(f"\n== {label}")
        print(f"no slow client:       {quiet.summary()}")
        print(f"{args.slow} slow clients:      {held.summary()}")
        for line in problems[:5]:
            print(f"  log: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
