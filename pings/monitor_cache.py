"""What the ping path knows of a monitor, kept per process (PostgreSQL's one-statement path).

A ping to a monitor this process has seen is judged against the copy kept here and written in
one statement guarded by the copy's `revision`: one round trip. Every write to a monitor's
configuration or state bumps its revision (monitors.services, alerts.detection, the ping
path), so a stale copy can only make the guarded write miss; the ping path then reads the row
again and replaces the copy. A copy is only ever replaced whole, never changed in place, so a
reader never sees half an update.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from monitors.models import Monitor
from monitors.state_rows import LOADED_COLUMNS
from pings.fastpath import OpenRunRow

# What the one-statement path reads and keeps: the state owner's columns, and what the ping's
# classification (keywords, allowed methods, resume on ping) needs before the write.
CACHED_COLUMNS = (*LOADED_COLUMNS, "keywords", "methods", "resume_on_ping")
# Entries kept per process; past it the cache starts over (a miss costs one read).
MAX_ENTRIES = 20_000


@dataclass(frozen=True)
class KnownMonitor:
    monitor: Monitor
    # The oldest open runs, as the read or this process's own writes left them (oldest first).
    open_rows: tuple[OpenRunRow, ...]


_known: dict[Hashable, KnownMonitor] = {}


def known(key: Hashable) -> KnownMonitor | None:
    return _known.get(key)


def remember(key: Hashable, entry: KnownMonitor) -> None:
    if len(_known) >= MAX_ENTRIES:
        _known.clear()
    _known[key] = entry


def forget(key: Hashable) -> None:
    _known.pop(key, None)


def forget_all() -> None:
    _known.clear()


def after_write(
    entry: KnownMonitor,
    *,
    changes: dict[str, Any],
    opened: OpenRunRow | None,
    closed_run_id: int | None,
) -> KnownMonitor:
    """The copy as this process's own guarded write left the row: its changes, revision + 1."""
    monitor = _copy(entry.monitor)
    for column, value in changes.items():
        setattr(monitor, column, value)
    monitor.revision = entry.monitor.revision + 1
    rows = tuple(row for row in entry.open_rows if row.id != closed_run_id)
    if opened is not None:
        rows = (*rows, opened)
    return KnownMonitor(monitor=monitor, open_rows=rows)


def _copy(monitor: Monitor) -> Monitor:
    copied = Monitor.__new__(Monitor)
    copied.__dict__.update(monitor.__dict__)
    return copied
