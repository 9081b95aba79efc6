"""Soak of the embedded mode: `make run` with 200 monitors pinging and alerting for N minutes.

    make soak                                       # 30 minutes
    .venv/bin/python bench/soak.py --minutes 2

Starts `manage.py runall` exactly as `make run` does (SQLite, the embedded broker) in a
temp dir, with a loopback webhook receiver, and creates 200 monitors on one webhook
channel (interval INTERVAL s, grace GRACE s), pinged from PINGERS threads:
- steady (140): a success every PING_EVERY s; they must never alert;
- failing (30): cycles of PHASE s of `/fail` pings, then PHASE s of successes: one
  `problem` per failing phase, one `recovered` at the first success after it;
- missing (30): cycles of PHASE s of silence, then PHASE s of successes: a `problem`
  once the silence passes interval + grace, a `recovered` at the next ping.
Phases are staggered over the cycle. At the end every monitor is pinged as a steady one
until the last recoveries are delivered (SETTLE s at most). Expected alerts follow from
the pings actually answered: a gap the pinger itself let grow past interval + grace is a
miss too, and a monitor with a gap that may or may not have been caught is left out of
the comparison (more than 10 % left out fails the run: the machine was too busy to tell).
Then it prints runall's restarts, log lines that say something went wrong, pings sent /
refused and their latency, how far the pinger fell behind, webhooks expected / received /
missing / unexpected (distinct webhook-ids per monitor and event), and the resident
memory of each process at the start and the end.
Exits 1 when a child restarted, a ping was refused, or a webhook is missing or unexpected.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.embedded import EmbeddedError, EmbeddedVigil, WebhookReceiver

MONITORS = {"steady": 140, "failing": 30, "missing": 30}
# Missed 20 s after a ping; steady monitors are pinged every 4 s, so a pinger that falls
# behind by up to 15 s on a busy machine is still on time.
INTERVAL = 15
GRACE = 5
PING_EVERY = 4.0
# Longer than interval + grace + DETECTED: a silent phase is surely found missing.
PHASE = 30.0
CYCLE = 2 * PHASE
PINGERS = 16
# Silence shorter than interval + grace - EARLY never alerts; longer than interval + grace +
# DETECTED always has; a monitor whose silence falls between stays silent a little longer.
EARLY = 1.0
DETECTED = 5.0
SETTLE = 60.0
# Nothing more arrived for this long after the last expected webhook: nothing more is coming.
QUIET = 10.0
# The alert comparison counts only if it covers at least 90 % of the monitors.
MAX_UNCERTAIN_SHARE = 0.1
# Guards every Monitor.expected: pinger threads write them while the main thread compares.
EXPECTED_LOCK = threading.Lock()


@dataclass
class Monitor:
    id: int
    kind: str
    path: str
    offset: float
    # When its last answered ping was sent and when the answer came: Vigil stored it in between.
    last_sent: float
    last_answered: float
    next_ping: float = 0.0
    # An incident is open (as far as the pings sent so far say).
    down: bool = False
    expected: Counter[str] = field(default_factory=Counter)
    # A gap between its pings (the pinger fell behind) that may or may not have been missed:
    # its alerts are left out of the comparison.
    uncertain: bool = False
    # The longest time between two of its pings being sent: how far the pinger fell behind.
    longest_gap: float = 0.0

    def note_answered(self, *, sent: float, answered: float, failed: bool) -> None:
        """The transitions a ping answered OK causes, given the gap since the previous one."""
        surely_missed = sent - self.last_answered >= INTERVAL + GRACE + DETECTED
        maybe_missed = answered - self.last_sent >= INTERVAL + GRACE - EARLY
        if not self.down and surely_missed:
            self.expected["problem"] += 1
            self.down = True
        elif not self.down and maybe_missed:
            self.uncertain = True
        if failed and not self.down:
            self.expected["problem"] += 1
            self.down = True
        elif not failed and self.down:
            self.expected["recovered"] += 1
            self.down = False
        self.longest_gap = max(self.longest_gap, sent - self.last_sent)
        self.last_sent, self.last_answered = sent, answered


@dataclass
class Pings:
    sent: int = 0
    refused: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def percentile(self, fraction: float) -> float:
        ranked = sorted(self.seconds)
        if not ranked:
            return math.nan
        return ranked[min(len(ranked) - 1, max(0, math.ceil(fraction * len(ranked)) - 1))]


@dataclass
class Report:
    minutes: float
    restarts: list[str]
    log_problems: list[str]
    pings: Pings
    expected: Counter[tuple[int, str]]
    received: Counter[tuple[int, str]]
    memory_start: dict[str, int]
    memory_end: dict[str, int]
    settled_seconds: float
    # Monitors left out of the alert comparison (see Monitor.uncertain).
    uncertain: list[int]
    # The longest gap between two pings of a steady monitor (PING_EVERY if the pinger kept up).
    steady_gap: float
    # What Vigil's API said, at the end, about the incidents of monitors with a missing webhook.
    diagnosis: list[str]
    # Gaps in the sweeper's heartbeat Vigil recorded as its own outages (seconds each):
    # deadlines inside one get its length back as grace, so their misses are not alerted.
    outages: list[float] = field(default_factory=list)

    @property
    def missing(self) -> Counter[tuple[int, str]]:
        return self.expected - self.received

    @property
    def unexpected(self) -> Counter[tuple[int, str]]:
        return self.received - self.expected

    @property
    def ok(self) -> bool:
        compared = self.uncertain_share <= MAX_UNCERTAIN_SHARE
        return compared and not (self.restarts or self.pings.refused or self.missing or self.unexpected)

    @property
    def uncertain_share(self) -> float:
        return len(self.uncertain) / sum(MONITORS.values())

    def lines(self) -> list[str]:
        mb = 1024 * 1024
        p50, p99, slowest = (self.pings.percentile(f) * 1000 for f in (0.5, 0.99, 1.0))
        out = [
            f"soak: {self.minutes:g} min of load, then {self.settled_seconds:.0f} s to settle",
            f"restarts (runall): {len(self.restarts)}",
            *(f"  {line}" for line in self.restarts[:20]),
            f"log lines that say something went wrong: {len(self.log_problems)}",
            *(f"  {line}" for line in self.log_problems[:20]),
            f"pings: {self.pings.sent} sent, {len(self.pings.refused)} refused; "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {slowest:.1f} ms",
            *(f"  refused: {reason}" for reason in self.pings.refused[:10]),
            f"pinger: longest gap between two pings of a steady monitor {self.steady_gap:.1f} s "
            f"(scheduled every {PING_EVERY:g} s; missed after {INTERVAL + GRACE} s)",
            f"monitors left out of the alert comparison (the pinger fell behind enough that a miss "
            f"was possible): {len(self.uncertain)} {self.uncertain[:10]}",
            f"webhooks: {sum(self.expected.values())} expected, {sum(self.received.values())} received, "
            f"{sum(self.missing.values())} missing, {sum(self.unexpected.values())} unexpected",
            *(f"  missing: monitor {m} {event} x{n}" for (m, event), n in sorted(self.missing.items())[:10]),
            *(
                f"  unexpected: monitor {m} {event} x{n}"
                for (m, event), n in sorted(self.unexpected.items())[:10]
            ),
            *(f"  {line}" for line in self.diagnosis),
            f"our own outages (sweeper heartbeat gaps over SWEEPER_OUTAGE_SECONDS): {len(self.outages)}"
            + (f", longest {max(self.outages):.1f} s" if self.outages else ""),
            "resident memory (MB, with pool processes): start -> end",
            *(
                f"  {name:13} {self.memory_start.get(name, 0) / mb:7.1f} -> {end / mb:7.1f}"
                for name, end in sorted(self.memory_end.items())
            ),
            "verdict: " + ("OK" if self.ok else "FAILED"),
        ]
        return out


class Pinger:
    """Pings its share of monitors on their schedules and notes the transitions it causes."""

    def __init__(
        self, vigil: EmbeddedVigil, monitors: list[Monitor], started: float, load_ends: float
    ) -> None:
        self.vigil = vigil
        self.monitors = monitors
        self.started = started
        self.load_ends = load_ends
        self.pings = Pings()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            monitor = min(self.monitors, key=lambda m: m.next_ping)
            wait = monitor.next_ping - time.monotonic()
            if wait > 0:
                self.stop.wait(wait)
                continue
            self._tick(monitor, time.monotonic())

    def _tick(self, monitor: Monitor, now: float) -> None:
        monitor.next_ping = now + PING_EVERY
        phase = self._phase(monitor, now)
        if phase == "silent":
            return
        silence = now - monitor.last_answered
        if monitor.kind == "missing" and INTERVAL + GRACE - EARLY <= silence < INTERVAL + GRACE + DETECTED:
            # It may or may not have been found missing yet: stay silent until it surely has.
            monitor.next_ping = monitor.last_answered + INTERVAL + GRACE + DETECTED
            return
        failed = phase == "fail"
        answered = self._ping(monitor.path + ("/fail" if failed else ""), now)
        if answered is not None:
            with EXPECTED_LOCK:
                monitor.note_answered(sent=now, answered=answered, failed=failed)

    def _phase(self, monitor: Monitor, now: float) -> str:
        """steady, fail or silent: what this monitor does at `now`."""
        elapsed = now - self.started - monitor.offset
        if monitor.kind == "steady" or elapsed < 0 or now >= self.load_ends:
            return "steady"
        in_first_half = (elapsed % CYCLE) < PHASE
        if monitor.kind == "failing":
            return "fail" if in_first_half else "steady"
        return "silent" if in_first_half else "steady"

    def _ping(self, path: str, started: float) -> float | None:
        """When the answer came; None if the ping was refused."""
        self.pings.sent += 1
        status, body = self.vigil.request("GET", path)
        answered = time.monotonic()
        if status != 200:
            self.pings.refused.append(f"{path}: {status} {body[:80]!r}")
            return None
        self.pings.seconds.append(answered - started)
        return answered


def soak(*, minutes: float, var_dir: Path, progress: bool = False) -> Report:
    receiver = WebhookReceiver()
    vigil = EmbeddedVigil(var_dir, env={"WEBHOOKS_ALLOW_PRIVATE_IPS": "true"})
    try:
        vigil.start()
        vigil.bootstrap()
        monitors = _create_monitors(vigil, receiver.url)
        memory_start = vigil.memory()
        started = time.monotonic()
        load_ends = started + minutes * 60
        pingers = [Pinger(vigil, monitors[index::PINGERS], started, load_ends) for index in range(PINGERS)]
        for monitor in monitors:
            monitor.next_ping = monitor.last_sent + PING_EVERY
        for pinger in pingers:
            pinger.thread.start()
        while time.monotonic() < load_ends:
            time.sleep(min(10.0, max(0.0, load_ends - time.monotonic())))
            if progress:
                sent = sum(p.pings.sent for p in pingers)
                print(
                    f"  {(time.monotonic() - started) / 60:5.1f} min: {sent} pings, "
                    f"{len(receiver.received)} webhooks",
                    flush=True,
                )
        settle_ends = time.monotonic() + SETTLE
        while time.monotonic() < settle_ends:
            if _received(receiver, monitors) == _expected(monitors) and _quiet_for(receiver, seconds=QUIET):
                break
            time.sleep(1)
        settled = time.monotonic() - load_ends
        for pinger in pingers:
            pinger.stop.set()
        for pinger in pingers:
            pinger.thread.join()
        memory_end = vigil.memory()
        missing = _expected(monitors) - _received(receiver, monitors)
        diagnosis = [_incidents(vigil, monitor_id) for monitor_id in sorted({m for m, _ in missing})[:10]]
        outages = _outages(var_dir / "vigil.sqlite3")
    finally:
        vigil.stop()
        receiver.close()
    pings = Pings()
    for pinger in pingers:
        pings.sent += pinger.pings.sent
        pings.refused += pinger.pings.refused
        pings.seconds += pinger.pings.seconds
    return Report(
        minutes=minutes,
        restarts=[line for line in vigil.supervisor_lines() if "exited" in line or "restarted" in line],
        log_problems=vigil.problem_lines(),
        pings=pings,
        expected=_expected(monitors),
        received=_received(receiver, monitors),
        memory_start=memory_start,
        memory_end=memory_end,
        settled_seconds=settled,
        uncertain=[m.id for m in monitors if m.uncertain],
        steady_gap=max(m.longest_gap for m in monitors if m.kind == "steady"),
        diagnosis=diagnosis,
        outages=outages,
    )


def _create_monitors(vigil: EmbeddedVigil, hook_url: str) -> list[Monitor]:
    channel = vigil.create("channels/", {"kind": "webhook", "name": "soak", "config": {"url": hook_url}})
    monitors = []
    for kind, count in MONITORS.items():
        for index in range(count):
            created = vigil.create(
                "monitors/",
                {
                    "name": f"soak {kind} {index}",
                    "slug": f"soak-{kind}-{index}",
                    "schedule": {"kind": "interval", "seconds": INTERVAL},
                    "grace_seconds": GRACE,
                    "channels": [channel["id"]],
                },
            )
            path = "/ping/" + str(created["ping_url"]).rsplit("/ping/", 1)[1]
            # Up from the start: creating all of them takes longer than a window.
            sent = time.monotonic()
            status, _ = vigil.request("GET", path)
            if status != 200:
                raise EmbeddedError(f"the first ping of {path} answered {status}")
            offset = CYCLE * index / count
            monitors.append(Monitor(int(created["id"]), kind, path, offset, sent, time.monotonic()))
    return monitors


def _expected(monitors: list[Monitor]) -> Counter[tuple[int, str]]:
    with EXPECTED_LOCK:
        return Counter(
            {(m.id, event): n for m in monitors if not m.uncertain for event, n in m.expected.items() if n}
        )


def _received(receiver: WebhookReceiver, monitors: list[Monitor]) -> Counter[tuple[int, str]]:
    with EXPECTED_LOCK:
        left_out = {m.id for m in monitors if m.uncertain}
    return Counter(
        (monitor_id, event)
        for monitor_id, event, _ in receiver.events()
        if monitor_id is not None and monitor_id not in left_out
    )


def _incidents(vigil: EmbeddedVigil, monitor_id: int) -> str:
    """Monitor N's incidents as Vigil has them: when each opened and resolved, and its notifications."""
    status, page = vigil.api("GET", f"incidents/?monitor={monitor_id}")
    if status != 200:
        return f"monitor {monitor_id}: incidents/ answered {status}"
    incidents = [
        f"{incident['kind']} opened {incident['opened_at']} resolved {incident['resolved_at']} "
        + ", ".join(f"{n['event']}:{n['status']}x{len(n['attempts'])}" for n in incident["notifications"])
        for incident in page["results"]
    ]
    return f"monitor {monitor_id}: " + ("; ".join(incidents) or "no incident")


def _outages(database: Path) -> list[float]:
    """The outages the sweeper recorded, read from the embedded database file (read-only)."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT started_at, ended_at FROM monitors_sweeperoutage").fetchall()
    gaps = [datetime.fromisoformat(ended) - datetime.fromisoformat(started) for started, ended in rows]
    return [gap.total_seconds() for gap in gaps]


def _quiet_for(receiver: WebhookReceiver, *, seconds: float) -> bool:
    """No webhook for `seconds`: nothing more is on its way."""
    last = max((hook.received_at for hook in receiver.received), default=0.0)
    return time.monotonic() - last >= seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0, help="minutes of load")
    args = parser.parse_args()
    with open("/proc/loadavg") as loadavg:
        load = " ".join(loadavg.read().split()[:3])
    print(
        f"soak of the embedded mode: {sum(MONITORS.values())} monitors {dict(MONITORS)}, "
        f"{args.minutes:g} min; load average {load}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="vigil-soak-") as tmp:
        report = soak(minutes=args.minutes, var_dir=Path(tmp) / "var", progress=True)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
