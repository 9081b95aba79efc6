"""Incidents and their outbox rows, written from monitors.state's effects in the transition's transaction.

One writer for the ping path (one monitor) and the sweeper (a batch): a few statements per
call whatever the batch holds. The unique (incident, channel, event, sequence) constraint makes
each notification exactly-once: `sequence` is 0 for the problem that opens an incident and for
its recovery, and the repeat's number for notify_every_failures repeats.

While a monitor is flapping its incidents are still written, but their problem and recovery
notifications are held (monitors.state counts them); the one `flapping_summary` that follows
is attached to the monitor's latest incident with sequence 0, so it too is written once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerts.models import Channel, Incident, Notification, NotificationEvent
from alerts.payloads import event_payload, flap_block
from monitors.models import Monitor, MonitorStatus
from monitors.state import (
    INCIDENT_EFFECTS,
    Effect,
    Flap,
    FlapSummary,
    IncidentJoined,
    IncidentOpened,
    IncidentResolved,
    Problem,
    ProblemRepeated,
    RunRef,
)
from pings.models import Run

# Log entries up to which every joining problem is logged (opening, repeats, a new kind and the
# resolution are logged whatever the length).
JOINS_LOGGED = 50


@dataclass
class IncidentWork:
    """One monitor's transition: its effects, the runs they refer to, and its status after it."""

    monitor: Monitor  # with its project loaded (payloads name it)
    effects: Sequence[Effect]
    status: str
    runs: Mapping[RunRef, Run] = field(default_factory=dict)

    @property
    def notifies(self) -> bool:
        return any(
            isinstance(effect, ProblemRepeated | FlapSummary)
            or (isinstance(effect, IncidentOpened | IncidentResolved) and effect.notify)
            for effect in self.effects
        )

    @property
    def needs_open_incident(self) -> bool:
        first = next((effect for effect in self.effects if isinstance(effect, INCIDENT_EFFECTS)), None)
        return first is not None and not isinstance(first, IncidentOpened)


@dataclass
class _Pending:
    """A notification to write once its incident has an id."""

    incident: Incident
    monitor_id: int
    event: str
    sequence: int
    at: datetime
    payload: dict[str, Any]


def incidents_write(
    batch: Sequence[IncidentWork], *, open_incidents: Mapping[int, Incident] | None = None
) -> None:
    """Write the incident effects of every transition in `batch`.

    `open_incidents` (monitor id -> its open incident), when the caller already read them.
    """
    batch = [work for work in batch if any(isinstance(e, INCIDENT_EFFECTS) for e in work.effects)]
    if not batch:
        return
    current = dict(open_incidents or {})
    missing = [w.monitor.id for w in batch if w.needs_open_incident and w.monitor.id not in current]
    if missing:
        current |= {
            i.monitor_id: i for i in Incident.objects.filter(monitor_id__in=missing, resolved_at__isnull=True)
        }
    latest = _latest_incidents(
        [w.monitor.id for w in batch if any(isinstance(e, FlapSummary) for e in w.effects)], current
    )
    channels = _channel_ids([w.monitor.id for w in batch if w.notifies])

    created: list[Incident] = []
    changed: dict[int, Incident] = {}
    pending: list[_Pending] = []
    for work in batch:
        incident = current.get(work.monitor.id)
        for effect in work.effects:
            if isinstance(effect, IncidentOpened):
                incident = _opened(work, effect)
                created.append(incident)
                if effect.notify:
                    notice = _notice(work, incident, effect.problem, effect.at, sequence=0)
                    if effect.starts_flapping:
                        notice.payload["flapping"] = flap_block(
                            Flap(since=effect.at, last_change_at=effect.at)
                        )
                    pending.append(notice)
                continue
            if isinstance(effect, FlapSummary):
                summarised = incident or latest.get(work.monitor.id)
                if summarised is not None:
                    pending.append(_flap_notice(work, summarised, effect))
                continue
            if incident is None or not isinstance(effect, INCIDENT_EFFECTS):
                # Nothing open to join or resolve (the row and the incidents disagreed): skip it.
                continue
            if isinstance(effect, IncidentJoined):
                if not _joined(incident, effect.problem, effect.at):
                    continue  # nothing new to store: the log is full and the kind is known
            elif isinstance(effect, ProblemRepeated):
                _log(
                    incident,
                    effect.at,
                    f"failure {effect.failures_in_a_row} in a row: {effect.problem.detail}",
                )
                repeat = {"number": effect.repeat, "failures_in_a_row": effect.failures_in_a_row}
                pending.append(_notice(work, incident, effect.problem, effect.at, effect.repeat, repeat))
            else:
                incident.resolved_at = effect.at
                incident.resolved_reason = effect.reason
                _log(incident, effect.at, f"resolved: {effect.reason}")
                if effect.notify:
                    pending.append(_notice(work, incident, None, effect.at, 0, run=work.runs.get(effect.run)))
                else:
                    _log(incident, effect.at, "recovery notification held: the monitor is flapping")
            if incident.pk is not None:
                changed[incident.pk] = incident
            if isinstance(effect, IncidentResolved):
                incident = None

    Incident.objects.bulk_create(created)
    if changed:
        Incident.objects.bulk_update(
            list(changed.values()), ["kinds", "log", "resolved_at", "resolved_reason"]
        )
    rows: list[Notification] = []
    for notice in pending:
        notice.payload["incident"]["id"] = notice.incident.pk
        rows.extend(
            Notification(
                incident_id=notice.incident.pk,
                channel_id=channel_id,
                event=notice.event,
                sequence=notice.sequence,
                payload=notice.payload,
                created_at=notice.at,
                next_attempt_at=notice.at,
            )
            for channel_id in channels.get(notice.monitor_id, ())
        )
    # The unique (incident, channel, event, sequence) constraint makes a repeat a no-op.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)


def _channel_ids(monitor_ids: list[int]) -> dict[int, list[int]]:
    if not monitor_ids:
        return {}
    links = Channel.monitors.through.objects.filter(monitor_id__in=monitor_ids).order_by("channel_id")
    channels: dict[int, list[int]] = defaultdict(list)
    for monitor_id, channel_id in links.values_list("monitor_id", "channel_id"):
        channels[monitor_id].append(channel_id)
    return channels


def _latest_incidents(monitor_ids: list[int], current: Mapping[int, Incident]) -> dict[int, Incident]:
    """The latest incident of each monitor with none open (flapping summaries are rare: a query each)."""
    latest: dict[int, Incident] = {}
    for monitor_id in monitor_ids:
        if monitor_id in current:
            continue
        found = Incident.objects.filter(monitor_id=monitor_id).order_by("-opened_at", "-id").first()
        if found is not None:
            latest[monitor_id] = found
    return latest


def _flap_notice(work: IncidentWork, incident: Incident, effect: FlapSummary) -> _Pending:
    payload = event_payload(
        event=NotificationEvent.FLAPPING_SUMMARY,
        monitor=work.monitor,
        incident=incident,
        run=None,
        occurred_at=effect.at,
        problem=None,
    )
    payload["monitor"]["status"] = work.status
    payload["flapping"] = flap_block(effect.flap)
    return _Pending(incident, work.monitor.id, NotificationEvent.FLAPPING_SUMMARY, 0, effect.at, payload)


def _opened(work: IncidentWork, effect: IncidentOpened) -> Incident:
    problem = effect.problem
    incident = Incident(
        monitor=work.monitor,
        kind=problem.kind,
        kinds=[problem.kind],
        detail=problem.detail,
        run=work.runs.get(problem.run),
        opened_at=effect.at,
        log=[],
    )
    _log(incident, effect.at, f"opened: {problem.detail}")
    if problem.note:
        _log(incident, effect.at, problem.note)
    if not effect.notify:
        _log(incident, effect.at, "problem notification held: the monitor is flapping")
    return incident


def _joined(incident: Incident, problem: Problem, at: datetime) -> bool:
    """A new problem while open joins the incident without another notification; False when
    that changes nothing stored."""
    new_kind = problem.kind not in incident.kinds
    if new_kind:
        incident.kinds = [*incident.kinds, problem.kind]
    # A long incident (a job failing every minute for days) must not grow an unbounded log that
    # every later join rewrites: joins are logged up to a limit, a new kind always.
    if not new_kind and len(incident.log) >= JOINS_LOGGED:
        return False
    _log(incident, at, f"also: {problem.detail}")
    if problem.note:
        _log(incident, at, problem.note)
    return True


def _notice(
    work: IncidentWork,
    incident: Incident,
    problem: Problem | None,
    at: datetime,
    sequence: int,
    repeat: dict[str, int] | None = None,
    run: Run | None = None,
) -> _Pending:
    event = NotificationEvent.PROBLEM if problem else NotificationEvent.RECOVERED
    if problem is not None:
        run = work.runs.get(problem.run)
    payload = event_payload(
        event=event,
        monitor=work.monitor,
        incident=incident,
        run=run,
        occurred_at=at,
        problem=(problem.kind, problem.detail) if problem else None,
        repeat=repeat,
    )
    # The payload tells the status the transition left: down for a problem.
    payload["monitor"]["status"] = MonitorStatus.DOWN if problem else work.status
    return _Pending(incident, work.monitor.id, event, sequence, at, payload)


def _log(incident: Incident, at: datetime, message: str) -> None:
    incident.log = [*incident.log, {"at": at.isoformat(), "message": message}]
