"""Writes of Run now: set a monitor's trigger, ask for a run, hand a request to an agent, expire.

Every entry point (the monitor page, the REST API, `vigil trigger`) calls `run_request_create`;
the API's `trigger` field calls `trigger_set` and `trigger_validate`. Both are changes a person
makes: they ask `monitors.permissions` (members and up) and leave an audit entry (the trigger's
URL and signing secret masked).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts.delivery.senders.base import ConfigError, clean_url_config
from alerts.models import new_message_id, new_webhook_secret
from monitors.audit import audit_record, masked
from monitors.models import Monitor, Project
from monitors.permissions import Permission, require
from triggers.models import UNSTARTED_STATUSES, RunRequest, RunRequestStatus, Trigger, TriggerKind

NO_TRIGGER = (
    "This monitor has no trigger: give it a trigger URL or the agent "
    '(`"trigger": {"kind": "url", "url": "…"}` or `{"kind": "agent"}`) to run it from Vigil.'
)
# How often a waiting agent's claim looks for a new request.
CLAIM_POLL_SECONDS = 0.5
# The longest an agent's claim (`GET /api/v1/agent/claim/?wait=N`) is held open: under proxies'
# and gunicorn's 30 s request timeouts.
CLAIM_MAX_WAIT_SECONDS = 25


class TriggerError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoTrigger(Exception):
    """Run now needs a trigger; the message says how to give one."""


@dataclass(frozen=True)
class TriggerSpec:
    """A validated trigger: kind and, for URL triggers, the URL."""

    kind: TriggerKind
    url: str = ""


def trigger_validate(data: object) -> TriggerSpec | None:
    """`null`, `{"kind": "url", "url": "http(s)://…"}` (SSRF-checked like webhooks) or `{"kind": "agent"}`."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise TriggerError('null, {"kind": "url", "url": "…"} or {"kind": "agent"}.')
    kind = data.get("kind")
    allowed = {"url": {"kind", "url"}, "agent": {"kind"}}
    if not isinstance(kind, str) or kind not in allowed:
        raise TriggerError('kind: "url" or "agent".')
    unknown = sorted(set(data) - allowed[kind])
    if unknown:
        raise TriggerError(f"unknown key(s) for a {kind} trigger: {', '.join(unknown)}.")
    if kind == TriggerKind.AGENT:
        return TriggerSpec(kind=TriggerKind.AGENT)
    try:
        url = clean_url_config({"url": data.get("url")})["url"]
    except ConfigError as error:
        raise TriggerError(f"url: {error.message}") from None
    if len(url) > 2000:
        raise TriggerError("url: at most 2000 characters.")
    return TriggerSpec(kind=TriggerKind.URL, url=url)


def trigger_of(monitor: Monitor) -> Trigger | None:
    try:
        return monitor.trigger
    except Trigger.DoesNotExist:
        return None


def trigger_set(*, monitor: Monitor, spec: TriggerSpec | None) -> str | None:
    """Give `monitor` this trigger (None removes it); returns the signing secret when a URL
    trigger was set (a new one when it was not a URL trigger before), else None."""
    require(Permission.CHANGE_MONITORS, monitor.project)
    current = trigger_of(monitor)
    before = _trigger_snapshot(current)
    if spec is None:
        if current is not None:
            with transaction.atomic():
                current.delete()
                _trigger_audit(monitor, before, None)
        # The reverse one-to-one is cached on the instance: forget the deleted row.
        monitor._state.fields_cache.pop("trigger", None)
        return None
    if current is None:
        current = Trigger(monitor=monitor)
    if spec.kind == TriggerKind.URL and (current.kind != TriggerKind.URL or not current.secret):
        current.secret = new_webhook_secret()
    if spec.kind == TriggerKind.AGENT:
        current.secret = ""
    current.kind = spec.kind
    current.url = spec.url
    with transaction.atomic():
        current.save()
        _trigger_audit(monitor, before, _trigger_snapshot(current))
    monitor.trigger = current
    return current.secret if spec.kind == TriggerKind.URL else None


def _trigger_snapshot(trigger: Trigger | None) -> dict[str, Any] | None:
    """A trigger as the audit log shows it: the URL and the secret masked (either lets its holder
    start jobs or pass for Vigil)."""
    if trigger is None:
        return None
    return {"kind": trigger.kind, "url": masked(trigger.url), "secret": masked(trigger.secret)}


def _trigger_audit(monitor: Monitor, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    if before != after:
        audit_record(
            project=monitor.project,
            action="monitor.trigger",
            obj=monitor,
            changes={"trigger": [before, after]},
        )


def run_request_create(*, monitor: Monitor, requested_by: str, now: datetime | None = None) -> RunRequest:
    """Ask for a run now: `pending` until a URL delivery or an agent takes it. NoTrigger without a trigger."""
    require(Permission.CHANGE_MONITORS, monitor.project)
    now = now or timezone.now()
    trigger = Trigger.objects.filter(monitor=monitor).first()
    if trigger is None:
        raise NoTrigger(NO_TRIGGER)
    with transaction.atomic():
        request = RunRequest.objects.create(
            monitor=monitor,
            kind=trigger.kind,
            requested_by=requested_by[:254],
            requested_at=now,
            message_id=new_message_id() if trigger.kind == TriggerKind.URL else "",
            next_attempt_at=now if trigger.kind == TriggerKind.URL else None,
        )
        audit_record(
            project=monitor.project,
            action="monitor.run",
            obj=monitor,
            changes={
                "run_request": [None, {"id": request.id, "rid": str(request.rid), "trigger": trigger.kind}]
            },
        )
    return request


def run_requests_expire(*, now: datetime | None = None) -> int:
    """Requests with no start within RUN_NOW_EXPIRY_SECONDS end as `expired`; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.RUN_NOW_EXPIRY_SECONDS)
    return RunRequest.objects.filter(status__in=UNSTARTED_STATUSES, requested_at__lte=cutoff).update(
        status=RunRequestStatus.EXPIRED,
        ended_at=now,
        claimed_until=None,
        next_attempt_at=None,
        reason=f"no start within {settings.RUN_NOW_EXPIRY_SECONDS} s",
    )


def run_request_claim(
    *,
    project: Project,
    slugs: Collection[str] | None,
    wait_seconds: float,
    sleep: Callable[[float], Any] = time.sleep,
) -> RunRequest | None:
    """For `vigil agent`: the oldest pending request of the project's agent-triggered monitors
    (only `slugs` when given), taken atomically (→ `sent`); waits up to `wait_seconds` for one."""
    deadline = time.monotonic() + wait_seconds
    while True:
        claimed = _claim_once(project, slugs)
        if claimed is not None or time.monotonic() >= deadline:
            return claimed
        sleep(min(CLAIM_POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def _claim_once(project: Project, slugs: Collection[str] | None) -> RunRequest | None:
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.RUN_NOW_EXPIRY_SECONDS)
    candidates = RunRequest.objects.filter(
        monitor__project=project,
        kind=TriggerKind.AGENT,
        status=RunRequestStatus.PENDING,
        requested_at__gt=cutoff,
    )
    if slugs is not None:
        candidates = candidates.filter(monitor__slug__in=list(slugs))
    for candidate_id in candidates.order_by("requested_at", "id").values_list("id", flat=True)[:10]:
        # The conditional update is the claim: of two agents asking at once, one wins.
        won = RunRequest.objects.filter(id=candidate_id, status=RunRequestStatus.PENDING).update(
            status=RunRequestStatus.SENT, sent_at=now
        )
        if won:
            return RunRequest.objects.select_related("monitor").get(id=candidate_id)
    return None
