"""Plain-text tables and human-friendly times for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from vigil_client.api import JsonDict

EMPTY = "-"


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp from the API (DRF writes "...Z" or "+00:00"), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def relative_time(moment: datetime | None, now: datetime) -> str:
    """ "3 min ago", "in 2 h", "just now"."""
    if moment is None:
        return EMPTY
    delta = (now - moment).total_seconds()
    future = delta < 0
    seconds = abs(delta)
    if seconds < 10:
        return "just now"
    if seconds < 60:
        amount = f"{int(seconds)} s"
    elif seconds < 3600:
        amount = f"{int(seconds // 60)} min"
    elif seconds < 86400 * 2:
        amount = f"{int(seconds // 3600)} h"
    else:
        amount = f"{int(seconds // 86400)} days"
    return f"in {amount}" if future else f"{amount} ago"


def format_duration(ms: Any) -> str:
    """850 -> "850 ms", 12345 -> "12.3 s", 245000 -> "4 min 05 s", 3720000 -> "1 h 02 min"."""
    if not isinstance(ms, int | float) or isinstance(ms, bool):
        return EMPTY
    if ms < 1000:
        return f"{int(ms)} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    total = int(seconds)
    if total < 3600:
        return f"{total // 60} min {total % 60:02d} s"
    return f"{total // 3600} h {total % 3600 // 60:02d} min"


def format_local(moment: datetime | None) -> str:
    """Local wall-clock time, the way a person at this terminal reads it."""
    if moment is None:
        return EMPTY
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """Columns padded to their widest cell; `right` holds indexes of right-aligned columns."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            out.append(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)]) + "\n"


def status_table(monitors: Sequence[JsonDict], now: datetime) -> str:
    rows = []
    for m in sorted(monitors, key=lambda m: str(m.get("slug", ""))):
        rows.append(
            [
                str(m.get("slug", "")),
                str(m.get("status", "")),
                relative_time(parse_time(m.get("last_ping_at")), now),
                format_duration(m.get("last_duration_ms")),
                relative_time(parse_time(m.get("next_due_at")), now),
            ]
        )
    if not rows:
        return "No monitors.\n"
    return render_table(["SLUG", "STATUS", "LAST PING", "LAST DURATION", "NEXT DUE"], rows, right=[3])


def history_table(runs: Sequence[JsonDict]) -> str:
    rows = []
    for run in runs:
        exit_code = run.get("exit_code")
        rows.append(
            [
                format_local(parse_time(run.get("started_at"))),
                format_local(parse_time(run.get("finished_at"))),
                str(run.get("status", "")),
                format_duration(run.get("duration_ms")),
                EMPTY if exit_code is None else str(exit_code),
            ]
        )
    if not rows:
        return "No runs yet.\n"
    return render_table(["STARTED", "FINISHED", "STATUS", "DURATION", "EXIT"], rows, right=[3, 4])
