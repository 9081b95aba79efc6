"""Importing a Healthchecks project: its checks become monitors that keep their ping URLs.

Reads Healthchecks' Management API v3 (`GET /api/v3/checks/`, `GET /api/v3/channels/`, with
`X-Api-Key`), plans one monitor per check (matched on the ping uuid, so a second run
updates rather than duplicates), and applies the plan in one transaction. Channels cannot
be imported (that API carries no secrets): they are listed with what to create instead.

`manage.py import_healthchecks` is a thin front to this module; the web UI's project
settings call it too (`into=` the current project, `guarded=True`). The command fetches a
URL the operator typed, so plain urllib with a timeout is enough there; the web UI fetches
through the guarded client (alerts.delivery.http), or a signed-in user could make the
server reach internal addresses.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from django.db import transaction
from django.utils.text import slugify

from alerts.delivery import http
from monitors.audit import audit_record
from monitors.keywords import KeywordsError, normalize_keywords
from monitors.models import Monitor, PingMethods, Project
from monitors.projects import PING_KEY_IN_USE, ProjectError, project_update, validate_ping_key
from monitors.schedule import ScheduleError, parse_schedule
from monitors.services import monitor_create, monitor_pause, monitor_resume, monitor_update, schedule_fields
from monitorsite.storable import storable_text

FETCH_TIMEOUT_SECONDS = 15
# Healthchecks answers a few hundred bytes per check; this bounds a wrong URL's answer.
MAX_ANSWER_BYTES = 20 * 1024 * 1024
SLUG = re.compile(r"[a-z0-9_-]{1,100}")
MAX_TAGS, MAX_TAG_LENGTH = 50, 50
# What to create in Vigil for a Healthchecks integration it cannot import.
CHANNEL_ADVICE = {
    "email": "an email channel with the same address",
    "slack": "a slack channel with a Slack incoming-webhook URL",
    "mattermost": "a slack channel with the Mattermost incoming-webhook URL",
    "webhook": "a webhook channel (Vigil sends its own signed JSON, not Healthchecks' templates)",
}
APPRISE_KINDS = {
    "discord",
    "telegram",
    "ntfy",
    "pd",
    "pagertree",
    "opsgenie",
    "msteams",
    "teams",
    "pushover",
    "gotify",
    "matrix",
    "rocketchat",
    "zulip",
    "signal",
    "spike",
    "victorops",
    "pushbullet",
    "apprise",
}


class HealthchecksImportError(Exception):
    """Why the import cannot go on, in words for the operator. `field` names the option at
    fault when one is (`ping_key`), and `reason` then says why without the option's name."""

    def __init__(self, message: str, *, field: str | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason or message


@dataclass(frozen=True)
class HealthchecksExport:
    """What the Management API answered."""

    checks: list[dict[str, Any]]
    # None when they could not be listed (a read-only key may not); `channels_note` says why.
    channels: list[dict[str, Any]] | None
    channels_note: str = ""

    @property
    def read_only(self) -> bool:
        """A read-only key sees `unique_key` but no uuid or ping URL."""
        return any(_ping_uuid_of(check) is None for check in self.checks)


@dataclass
class PlannedMonitor:
    action: Literal["create", "update", "skip"]
    name: str
    slug: str
    ping_uuid: uuid.UUID | None
    schedule_words: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    paused: bool = False
    notes: list[str] = field(default_factory=list)
    existing: Monitor | None = None
    channel_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ChannelAdvice:
    name: str
    kind: str
    used_by: int
    create: str


@dataclass
class ImportPlan:
    project_name: str
    project: Project | None  # None: it will be created
    ping_key: str | None  # None: left as it is
    monitors: list[PlannedMonitor]
    channels: list[ChannelAdvice]
    notes: list[str] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for planned in self.monitors if planned.action == action)


@dataclass(frozen=True)
class ImportResult:
    project: Project
    created: int
    updated: int
    skipped: int


# --- fetching ---------------------------------------------------------------------------------


def healthchecks_fetch(
    *, url: str, api_key: str, timeout: float = FETCH_TIMEOUT_SECONDS, guarded: bool = False
) -> HealthchecksExport:
    """The checks (and, when the key may list them, the channels) of the key's project.

    `guarded`: the URL comes from a web user, so it is fetched through the SSRF-guarded
    client (no private addresses unless WEBHOOKS_ALLOW_PRIVATE_IPS, its own time bound).
    """
    base = _api_base(url)
    get_json = _get_json_guarded if guarded else _get_json
    body = get_json(f"{base}/checks/", api_key=api_key, timeout=timeout)
    checks = body.get("checks") if isinstance(body, dict) else None
    if not isinstance(checks, list) or not all(isinstance(check, dict) for check in checks):
        raise HealthchecksImportError(f"{base}/checks/ did not answer with a list of checks")
    try:
        listed = get_json(f"{base}/channels/", api_key=api_key, timeout=timeout)
    except HealthchecksImportError as error:
        # Healthchecks lists channels for read-write keys only; the checks are still worth importing.
        return HealthchecksExport(checks=checks, channels=None, channels_note=str(error))
    channels = listed.get("channels") if isinstance(listed, dict) else None
    if not isinstance(channels, list):
        return HealthchecksExport(checks=checks, channels=None, channels_note="no channel list in the answer")
    return HealthchecksExport(checks=checks, channels=[c for c in channels if isinstance(c, dict)])


def _api_base(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HealthchecksImportError(
            "--url must be the Healthchecks site's http(s) address, "
            f"e.g. https://hc.example.com (got {url!r})"
        )
    path = parts.path.rstrip("/")
    path = re.sub(r"/api/v\d+$", "", path)
    return f"{parts.scheme}://{parts.netloc}{path}/api/v3"


def _headers(api_key: str) -> dict[str, str]:
    return {"X-Api-Key": api_key, "Accept": "application/json", "User-Agent": "vigil-import"}


def _get_json(url: str, *, api_key: str, timeout: float) -> Any:
    request = urllib.request.Request(url, headers=_headers(api_key))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as error:
        detail = _error_detail(error)
        if error.code == 401:
            raise HealthchecksImportError(
                f"Healthchecks refused the API key for {url} (401{detail}); "
                "use a key from the project's Settings page"
            ) from None
        raise HealthchecksImportError(f"{url} answered HTTP {error.code}{detail}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise HealthchecksImportError(f"cannot reach {url}: {reason}") from None
    return _parse_answer(url, raw)


def _get_json_guarded(url: str, *, api_key: str, timeout: float) -> Any:
    """As `_get_json`, through the guarded client (whose own time bound applies)."""
    try:
        response = http.get(url, headers=_headers(api_key), max_bytes=MAX_ANSWER_BYTES + 1)
    except http.RequestRefused as error:
        raise HealthchecksImportError(f"cannot fetch {url}: {error}") from None
    except http.TransportError as error:
        raise HealthchecksImportError(f"cannot reach {url}: {error}") from None
    if response.status != 200:
        detail = _detail_of(response.body)
        if response.status == 401:
            raise HealthchecksImportError(
                f"Healthchecks refused the API key for {url} (401{detail}); "
                "use a key from the project's Settings page"
            )
        raise HealthchecksImportError(f"{url} answered HTTP {response.status}{detail}")
    return _parse_answer(url, response.body)


def _parse_answer(url: str, raw: bytes) -> Any:
    if len(raw) > MAX_ANSWER_BYTES:
        raise HealthchecksImportError(f"{url} answered more than {MAX_ANSWER_BYTES} bytes")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise HealthchecksImportError(
            f"{url} did not answer JSON: is --url the Healthchecks site's base address?"
        ) from None


def _error_detail(error: urllib.error.HTTPError) -> str:
    try:
        return _detail_of(error.read(4096))
    except OSError:
        return ""


def _detail_of(raw: bytes) -> str:
    try:
        body = json.loads(raw[:4096])
    except (ValueError, UnicodeDecodeError):
        return ""
    message = body.get("error") if isinstance(body, dict) else None
    return f": {message}" if isinstance(message, str) and message else ""


# --- planning ---------------------------------------------------------------------------------


def import_plan(
    *,
    export: HealthchecksExport,
    project_name: str = "",
    ping_key: str | None = None,
    new_uuids: bool = False,
    into: Project | None = None,
) -> ImportPlan:
    """What an import would do; reads the database, writes nothing.

    The target is `into` when given (the web UI's current project), else the project named
    `project_name` (made by `import_apply` when there is none).
    """
    if export.read_only and not new_uuids:
        raise HealthchecksImportError(
            "this API key is read-only: Healthchecks shows it no ping URLs, so the checks' ping uuids "
            "cannot be kept. Use a read-write key, or --new-uuids to import with new ping URLs "
            "(slug URLs keep working when --ping-key gives the project's ping key)."
        )
    project = into if into is not None else _target_project(project_name)
    if ping_key is not None:
        try:
            validate_ping_key(ping_key)
        except ProjectError as error:
            raise HealthchecksImportError(
                f"--ping-key: {error.message}", field="ping_key", reason=error.message
            ) from None
        holder = Project.objects.filter(ping_key=ping_key).first()
        if holder is not None and holder != project:
            # The operator may see the other project's name; a web user (into=) may not.
            raise HealthchecksImportError(
                f"--ping-key: project {holder.name!r} already uses this ping key",
                field="ping_key",
                reason=PING_KEY_IN_USE,
            )
        if project is not None and project.ping_key == ping_key:
            ping_key = None
    existing = list(Monitor.objects.filter(project=project)) if project is not None else []
    planned = [
        _plan_check(check, project=project, existing=existing, new_uuids=new_uuids) for check in export.checks
    ]
    _assign_slugs(planned, existing=existing)
    plan = ImportPlan(
        project_name=into.name if into is not None else project_name,
        project=project,
        ping_key=ping_key,
        monitors=planned,
        channels=_channel_advice(export, planned),
    )
    if export.channels is None:
        plan.notes.append(f"Channels could not be listed ({export.channels_note}).")
    return plan


def _target_project(name: str) -> Project | None:
    matches = list(Project.objects.filter(name=name)[:2])
    if len(matches) > 1:
        raise HealthchecksImportError(
            f"several projects are named {name!r}: rename one, or pick another --project"
        )
    return matches[0] if matches else None


def _plan_check(
    check: dict[str, Any], *, project: Project | None, existing: list[Monitor], new_uuids: bool
) -> PlannedMonitor:
    name = _text(check.get("name"))[:200]
    hc_slug = _text(check.get("slug"))
    ping_uuid = None if new_uuids else _ping_uuid_of(check)
    planned = PlannedMonitor(
        action="create",
        name=name or hc_slug or "Unnamed check",
        slug=hc_slug if SLUG.fullmatch(hc_slug) else "",
        ping_uuid=ping_uuid,
        channel_ids=[code for code in _text(check.get("channels")).split(",") if code],
    )
    if hc_slug and not planned.slug:
        planned.notes.append(f"slug {hc_slug!r} is not a Vigil slug: a new one is made")
    schedule = _schedule_of(check)
    if isinstance(schedule, str):
        return _skip(planned, schedule)
    planned.schedule_words = _schedule_words(schedule)
    planned.fields = {
        "name": planned.name,
        "description": _text(check.get("desc")),
        "tags": _tags_of(check, planned),
        "grace_seconds": _int(check.get("grace"), default=3600),
        "methods": PingMethods.POST if check.get("methods") == "POST" else PingMethods.ANY,
        "keywords": _keywords_of(check, planned),
        # Healthchecks resumes a paused check on its next ping unless manual_resume is set.
        "resume_on_ping": not bool(check.get("manual_resume")),
        **schedule,
    }
    planned.paused = check.get("status") == "paused"
    if ping_uuid is not None:
        holder = Monitor.objects.filter(ping_uuid=ping_uuid).select_related("project").first()
        if holder is not None and holder.project != project:
            return _skip(planned, f"its ping uuid is already used in Vigil project {holder.project.name!r}")
        planned.existing = holder
    else:
        # Without uuids, a monitor with the same slug is this check from an earlier run.
        match = planned.slug or _derived_slug(planned.name)
        planned.existing = next((monitor for monitor in existing if monitor.slug == match), None)
    if planned.existing is not None:
        planned.action = "update"
    return planned


def _skip(planned: PlannedMonitor, reason: str) -> PlannedMonitor:
    planned.action = "skip"
    planned.notes.append(reason)
    return planned


def _assign_slugs(planned: list[PlannedMonitor], *, existing: list[Monitor]) -> None:
    """Healthchecks' slugs are kept (slug ping URLs use them); checks without one get a free slug."""
    updated_ids = {item.existing.id for item in planned if item.existing is not None}
    taken = {monitor.slug: monitor for monitor in existing if monitor.id not in updated_ids}
    used: set[str] = set()
    for item in planned:
        if item.action == "skip" or not item.slug:
            continue
        if item.slug in used or item.slug in taken:
            _skip(item, f"slug {item.slug!r} is already used by another monitor in this project")
            continue
        used.add(item.slug)
    for item in planned:
        if item.action == "skip" or item.slug:
            continue
        if item.existing is not None and item.existing.slug not in used:
            item.slug = item.existing.slug
        else:
            base = _derived_slug(item.name)
            candidate, number = base, 1
            while candidate in used or candidate in taken:
                number += 1
                candidate = f"{base}-{number}"
            item.slug = candidate
        used.add(item.slug)


def _derived_slug(name: str) -> str:
    return slugify(name)[:90] or "check"


def _schedule_of(check: dict[str, Any]) -> dict[str, Any] | str:
    """Vigil's schedule fields, or why the check cannot be imported."""
    if "timeout" in check:
        raw: dict[str, Any] = {"kind": "interval", "seconds": _int(check.get("timeout"), default=86400)}
    elif isinstance(check.get("schedule"), str):
        expression = check["schedule"].strip()
        if "\n" in expression or len(expression.split()) != 5:
            return "its OnCalendar schedule has no Vigil equivalent (use a cron expression)"
        raw = {"kind": "cron", "expression": expression, "timezone": _text(check.get("tz")) or "UTC"}
    else:
        return "it has neither a timeout nor a schedule"
    try:
        return schedule_fields(parse_schedule(raw))
    except ScheduleError as error:
        return f"its schedule cannot be used: {error}"


def _schedule_words(fields: dict[str, Any]) -> str:
    if fields.get("cron_expression"):
        return f"cron {fields['cron_expression']} {fields['timezone']}"
    return f"every {fields['interval_seconds']} s"


def _tags_of(check: dict[str, Any], planned: PlannedMonitor) -> list[str]:
    tags: list[str] = []
    for tag in _text(check.get("tags")).split():
        if len(tag) > MAX_TAG_LENGTH:
            planned.notes.append(f"tag {tag[:20]!r}… is longer than {MAX_TAG_LENGTH} characters: left out")
        elif tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        planned.notes.append(f"only the first {MAX_TAGS} tags are kept")
    return tags[:MAX_TAGS]


def _keywords_of(check: dict[str, Any], planned: PlannedMonitor) -> dict[str, list[str]]:
    """Healthchecks filters HTTP bodies only with filter_http_body; subject/body filters are for e-mail."""
    lists = {
        kind: [word for word in _text(check.get(f"{kind}_kw")).split(",") if word.strip()]
        for kind in ("success", "failure", "start")
    }
    if not check.get("filter_http_body"):
        if any(lists.values()) and (check.get("filter_subject") or check.get("filter_body")):
            planned.notes.append("e-mail keyword filters not carried over (Vigil takes no e-mail pings)")
        return normalize_keywords({})
    if check.get("filter_default_fail"):
        planned.notes.append("'fail when no keyword matches' has no Vigil equivalent")
    try:
        return normalize_keywords(lists)
    except KeywordsError as error:
        planned.notes.append(f"keywords left out: {error}")
        return normalize_keywords({})


def _channel_advice(export: HealthchecksExport, planned: list[PlannedMonitor]) -> list[ChannelAdvice]:
    advice = []
    for channel in export.channels or []:
        code, kind = _text(channel.get("id")), _text(channel.get("kind"))
        used_by = sum(1 for item in planned if code and code in item.channel_ids)
        if kind in CHANNEL_ADVICE:
            create = CHANNEL_ADVICE[kind]
        elif kind in APPRISE_KINDS:
            create = f"an apprise channel with an Apprise URL for {kind} (needs APPRISE_ENABLED=true)"
        else:
            create = "no direct equivalent: a webhook channel, or Apprise if it supports the service"
        advice.append(
            ChannelAdvice(name=_text(channel.get("name")) or kind, kind=kind, used_by=used_by, create=create)
        )
    return advice


def _ping_uuid_of(check: dict[str, Any]) -> uuid.UUID | None:
    for candidate in (check.get("uuid"), _text(check.get("ping_url")).rstrip("/").rsplit("/", 1)[-1]):
        if isinstance(candidate, str) and candidate:
            try:
                return uuid.UUID(candidate)
            except ValueError:
                continue
    return None


def _text(value: object) -> str:
    """A text field of the remote's JSON, as our columns can hold it (JSON may carry NUL and lone
    surrogates; PostgreSQL takes neither)."""
    return storable_text(value).strip() if isinstance(value, str) else ""


def _int(value: object, *, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


# --- applying ---------------------------------------------------------------------------------


def import_apply(plan: ImportPlan) -> ImportResult:
    """Write the plan in one transaction: all of it, or nothing if any part fails."""
    try:
        with transaction.atomic():
            project = plan.project or _project_create(plan.project_name)
            if plan.ping_key is not None:
                project_update(project=project, ping_key=plan.ping_key)
            for item in plan.monitors:
                _apply_one(item, project=project)
    except ProjectError as error:
        raise HealthchecksImportError(
            f"--ping-key: {error.message}", field="ping_key", reason=error.message
        ) from None
    return ImportResult(
        project=project,
        created=plan.count("create"),
        updated=plan.count("update"),
        skipped=plan.count("skip"),
    )


def _project_create(name: str) -> Project:
    """A project for the imported checks; it has no member until someone is added (admin, invite)."""
    project = Project.objects.create(name=name)
    audit_record(project=project, action="project.create", obj=project, changes={"name": [None, name]})
    return project


def _apply_one(item: PlannedMonitor, *, project: Project) -> None:
    if item.action == "create":
        monitor_create(
            project=project, slug=item.slug, ping_uuid=item.ping_uuid, paused=item.paused, **item.fields
        )
        return
    if item.action != "update" or item.existing is None:
        return
    monitor = monitor_update(monitor=item.existing, slug=item.slug, **item.fields)
    if item.paused and not monitor.paused:
        monitor_pause(monitor=monitor)
    elif monitor.paused and not item.paused:
        monitor_resume(monitor=monitor)
