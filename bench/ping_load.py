"""Steady ping load from threads over keep-alive connections, for bench/retention.py and
bench/memory.py: random monitors, every answer counted, latencies kept."""

from __future__ import annotations

import http.client
import random
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Load:
    seconds: float
    ok: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ping_load(
    base_url: str, uuids: list[str], *, seconds: float, threads: int = 8, fail_every: int = 0
) -> Load:
    """Pings for `seconds`; with `fail_every` N, every Nth ping of a thread is a /fail followed
    by a success (an incident opened and resolved: two notifications)."""
    parts = urlsplit(base_url)
    load = Load(seconds=seconds)
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def run(seed: int) -> None:
        chooser = random.Random(seed)
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        sent = 0
        ok = failed = 0
        latencies: list[float] = []
        while time.monotonic() < stop_at:
            uuid = chooser.choice(uuids)
            sent += 1
            paths = (
                [f"/ping/{uuid}/fail", f"/ping/{uuid}"]
                if fail_every and sent % fail_every == 0
                else [f"/ping/{uuid}"]
            )
            for path in paths:
                started = time.monotonic()
                try:
                    connection.request("GET", path)
                    response = connection.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    connection.close()
                    connection = http.client.HTTPConnection(
                        parts.hostname or "127.0.0.1", parts.port, timeout=30
                    )
                    status = 0
                latencies.append(time.monotonic() - started)
                if status == 200:
                    ok += 1
                else:
                    failed += 1
        connection.close()
        with lock:
            load.ok += ok
            load.failed += failed
            load.latencies.extend(latencies)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return load
