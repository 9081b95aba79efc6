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
    headers = ["STARTED", "FINISHED", "STATUS", "DURATION", "EXIT"]
    if any(run.get("manual") for run in runs):
        # Run now: who asked for each manual run.
        headers.append("REQUESTED BY")
        for row, run in zip(rows, runs, strict=True):
            row.append(str(run.get("requested_by") or "manual") if run.get("manual") else EMPTY)
    return render_table(headers, rows, right=[3, 4])


def feed_table(runs: Sequence[JsonDict]) -> str:
    """Runs of several monitors: `history --all`."""
    rows = []
    for run in runs:
        monitor = run.get("monitor")
        if not isinstance(monitor, dict):
            monitor = {}
        exit_code = run.get("exit_code")
        rows.append(
            [
                str(monitor.get("slug", "")),
                format_local(parse_time(run.get("started_at"))),
                format_local(parse_time(run.get("finished_at"))),
                str(run.get("status", "")),
                format_duration(run.get("duration_ms")),
                EMPTY if exit_code is None else str(exit_code),
            ]
        )
    if not rows:
        return "No runs.\n"
    headers = ["MONITOR", "STARTED", "FINISHED", "STATUS", "DURATION", "EXIT"]
    if any(run.get("manual") for run in runs):
        headers.append("REQUESTED BY")
        for row, run in zip(rows, runs, strict=True):
            row.append(str(run.get("requested_by") or "manual") if run.get("manual") else EMPTY)
    return render_table(headers, rows, right=[4, 5])


def format_rate(rate: Any) -> str:
    """0.9523 -> "95.2 %"; None (nothing finished in the window) -> "-"."""
    if not isinstance(rate, int | float) or isinstance(rate, bool):
        return EMPTY
    return f"{rate * 100:.1f} %"


def stats_text(monitor: JsonDict, stats: JsonDict) -> str:
    """`vigil stats`: the figures of monitors/<id>/stats/, one line each."""
    rates = stats.get("success_rate") or {}
    durations = stats.get("duration_ms") or {}
    failure = stats.get("last_failure")
    if isinstance(failure, dict):
        at = format_local(parse_time(failure.get("finished_at") or failure.get("started_at")))
        code = failure.get("exit_code")
        last = at + (f", exit code {code}" if code is not None else "") + f" (run {failure.get('id')})"
    else:
        last = "never"
    name = str(monitor.get("name") or "")
    slug = str(monitor.get("slug") or "")
    lines = [
        ("monitor", slug + (f" ({name})" if name and name != slug else "")),
        ("success rate", "   ".join(f"{w}: {format_rate(rates.get(w))}" for w in ("24h", "7d", "30d"))),
        (
            "duration",
            f"p50 {format_duration(durations.get('p50'))}   p95 {format_duration(durations.get('p95'))}"
            "   (successful runs, last 30 days)",
        ),
        ("failures", f"{stats.get('failures_24h', 0)} in the last 24 hours"),
        ("last failure", last),
    ]
    width = max(len(label) for label, _ in lines)
    return "".join(f"{label.ljust(width)}  {value}\n" for label, value in lines)
