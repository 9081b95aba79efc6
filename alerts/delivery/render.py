"""Event payloads (CONTRACT §6) in words: what every human-facing sender shows.

Senders escape for their own medium; everything here is plain text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitors.wording import duration_words

# Chat and e-mail show a short tail; the payload itself carries more.
LOG_TAIL_LINES = 15
LOG_TAIL_CHARS = 1500

KIND_WORDS = {
    "missed": "missed",
    "failed": "failed",
    "too_long": "running too long",
    "overlap": "overlapping runs",
    "rule": "alert rule matched",
    "slow": "slow run",
}


@dataclass(frozen=True)
class Summary:
    event: str
    subject: str
    # One sentence saying what happened, e.g. "Nightly backup (Acme): missed its 03:00 run".
    headline: str
    # The problem in words ("failed with exit code 3"), or how it ended for a recovery.
    detail: str
    monitor: str | None
    project: str | None
    url: str | None
    facts: list[tuple[str, str]]
    meta: list[tuple[str, str]]
    log_tail: str
    # The monitor's own words on what it is and what to do; empty when it has none.
    description: str = ""
    runbook_url: str = ""


@dataclass(frozen=True)
class Digest:
    subject: str
    headline: str
    items: list[Summary]


def summarize(event: dict[str, Any]) -> Summary:
    if event["event"] == "test":
        return _test_summary(event)
    monitor, run = event["monitor"], event["run"]
    name, project = monitor["name"], monitor["project"]["name"]
    if event["event"] == "recovered":
        subject, headline, detail, facts = _recovery_words(event, name, project)
    elif event["event"] == "flapping_summary":
        subject, headline, detail, facts = _flapping_words(event, name, project)
    else:
        subject, headline, detail, facts = _problem_words(event, name, project)
    return Summary(
        event=event["event"],
        subject=subject,
        headline=headline,
        detail=detail,
        monitor=name,
        project=project,
        url=monitor["url"],
        facts=[("Project", project), *facts, *_run_facts(run)],
        meta=[(str(key), _value_words(value)) for key, value in sorted((run or {}).get("meta", {}).items())],
        log_tail=log_tail((run or {}).get("log") or ""),
        # Events stored before runbooks existed lack both keys.
        description=(monitor.get("description") or "").strip(),
        runbook_url=monitor.get("runbook_url") or "",
    )


Words = tuple[str, str, str, list[tuple[str, str]]]


def _recovery_words(event: dict[str, Any], name: str, project: str) -> Words:
    incident = event["incident"]
    down_for = incident["down_for_seconds"]
    ended = f" after {duration_words(down_for)} down" if down_for is not None else ""
    facts = [("Recovered at", time_words(_parse(event["occurred_at"])))]
    if down_for is not None:
        facts.append(("Down for", duration_words(down_for)))
    facts.append(("Problem was", ", ".join(KIND_WORDS.get(kind, kind) for kind in incident["kinds"])))
    return f"[UP] {name}: recovered", f"{name} ({project}) is back up{ended}", f"recovered{ended}", facts


def _problem_words(event: dict[str, Any], name: str, project: str) -> Words:
    problem, incident = event["problem"], event["incident"]
    kind_word = KIND_WORDS.get(problem["kind"], problem["kind"])
    detail = problem["detail"] or kind_word
    occurred_at = _parse(event["occurred_at"])
    if event["event"] == "reminder":
        opened_at = _parse(incident["opened_at"])
        down_for = duration_words((occurred_at - opened_at).total_seconds())
        headline = f"{name} ({project}) is still down after {down_for}: {detail}"
        facts = [("Problem", detail), ("Down since", time_words(opened_at))]
        return f"[STILL DOWN] {name}: {kind_word}", headline, detail, facts
    facts = [("Problem", detail), ("When", time_words(occurred_at))]
    if event.get("flapping"):
        stable = duration_words(event["flapping"]["stable_for_seconds"])
        facts.append(("Flapping", f"problems and recoveries are held until it is stable for {stable}"))
    repeat = event.get("repeat")
    if repeat:
        # notify_every_failures: the incident is still open and the job keeps failing.
        in_a_row = f"failure {repeat['failures_in_a_row']} in a row"
        facts.append(("Failures in a row", str(repeat["failures_in_a_row"])))
        headline = f"{name} ({project}) is still failing, {in_a_row}: {detail}"
        return f"[STILL DOWN] {name}: {kind_word} ({in_a_row})", headline, detail, facts
    return f"[DOWN] {name}: {kind_word}", f"{name} ({project}): {detail}", detail, facts


def _flapping_words(event: dict[str, Any], name: str, project: str) -> Words:
    """The one notification for what a flapping monitor held back once it became stable."""
    flap, status = event["flapping"], event["monitor"]["status"]
    problems, recoveries = flap["problems_held"], flap["recoveries_held"]
    held = f"{_count(problems, 'problem')} and {_count(recoveries, 'recovery', 'recoveries')} held"
    stable = duration_words(flap["stable_for_seconds"])
    detail = f"flapping: {held}; stable for {stable}, now {status}"
    facts = [
        ("Flapping since", time_words(_parse(flap["since"]))),
        ("Problems held", str(problems)),
        ("Recoveries held", str(recoveries)),
        ("First held", _held_words(flap["first"])),
        ("Last held", _held_words(flap["last"])),
        ("Now", status),
    ]
    return f"[FLAPPING] {name}: {held}, now {status}", f"{name} ({project}) was {detail}", detail, facts


def _held_words(notice: dict[str, Any] | None) -> str:
    if not notice:
        return "none"
    when = time_words(_parse(notice["at"]))
    problem = notice.get("problem")
    if problem:
        return f"{when}: {problem['detail'] or KIND_WORDS.get(problem['kind'], problem['kind'])}"
    return f"{when}: recovered"


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number} {one if number == 1 else many or one + 's'}"


def digest(events: list[dict[str, Any]]) -> Digest:
    items = [summarize(event) for event in events]
    projects = sorted({item.project for item in items if item.project})
    where = f" in {', '.join(projects)}" if projects else ""
    headline = f"{len(items)} monitors reported problems{where}"
    return Digest(subject=f"[DOWN] {headline}", headline=headline, items=items)


def milliseconds_words(duration_ms: int) -> str:
    return f"{duration_ms} ms" if duration_ms < 1000 else duration_words(duration_ms / 1000)


def time_words(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def log_tail(log: str) -> str:
    lines = log.rstrip("\n").splitlines()[-LOG_TAIL_LINES:]
    return "\n".join(lines)[-LOG_TAIL_CHARS:]


def _run_facts(run: dict[str, Any] | None) -> list[tuple[str, str]]:
    if run is None:
        return []
    facts = [("Last run", run["status"])]
    if run.get("duration_ms") is not None:
        facts.append(("Duration", milliseconds_words(run["duration_ms"])))
    if run.get("exit_code") is not None:
        facts.append(("Exit code", str(run["exit_code"])))
    return facts


def _test_summary(event: dict[str, Any]) -> Summary:
    return Summary(
        event="test",
        subject="[TEST] Vigil test notification",
        headline="This is a test notification from Vigil: this channel works.",
        detail="test",
        monitor=None,
        project=None,
        url=None,
        facts=[("Sent at", time_words(_parse(event["occurred_at"])))],
        meta=[],
        log_tail="",
    )


def _value_words(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)
