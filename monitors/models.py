"""Projects, their members and API keys, and the monitors they own."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from monitors.roles import Role

# The largest id a BigAutoField can hold: anything above it names no row on any database.
MAX_ID = 2**63 - 1


def new_token() -> str:
    """A 22-character url-safe token: never shaped like a uuid (it has no dashes)."""
    return secrets.token_urlsafe(16).replace("-", "x")


class Project(models.Model):
    name = models.CharField(max_length=200)
    ping_key = models.CharField(max_length=40, unique=True, default=new_token)
    status_key = models.CharField(max_length=40, unique=True, default=new_token)
    badge_key = models.CharField(max_length=40, unique=True, default=new_token)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="projects")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True, null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_unique")]

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER


class ApiKey(models.Model):
    """A project API key. Only its SHA-256 is stored; the whole key is shown once."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ScheduleKind(models.TextChoices):
    INTERVAL = "interval"
    CRON = "cron"


class MonitorStatus(models.TextChoices):
    NEW = "new"
    UP = "up"
    RUNNING = "running"
    LATE = "late"
    DOWN = "down"
    PAUSED = "paused"


class PingMethods(models.TextChoices):
    ANY = "any"
    # GET and HEAD pings are stored as ignored: link previews and prefetchers cannot fake a success.
    POST = "POST"


def no_keywords() -> dict[str, list[str]]:
    return {"success": [], "failure": [], "start": []}


class Monitor(models.Model):
    # Served by monitor_slug_unique_per_project (project_id, slug).
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="monitors", db_index=False)
    # The secret in ping URLs. Never exposed as the API id.
    ping_uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    slug = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    tags = models.JSONField(default=list, blank=True)

    schedule_kind = models.CharField(
        max_length=10, choices=ScheduleKind.choices, default=ScheduleKind.INTERVAL
    )
    interval_seconds = models.PositiveIntegerField(default=86400)
    cron_expression = models.CharField(max_length=200, blank=True, default="")
    timezone = models.CharField(max_length=64, default="UTC")
    grace_seconds = models.PositiveIntegerField(default=3600)
    max_duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    failure_threshold = models.PositiveIntegerField(default=1)
    recovery_threshold = models.PositiveIntegerField(default=1)
    allow_overlap = models.BooleanField(default=False)
    # Alert rules: [{"field", "op", "value"}], validated and evaluated by monitors.rules.
    rules = models.JSONField(default=list, blank=True)
    # Healthchecks' options (CONTRACT §3); what they do to a ping is decided on the ping path.
    resume_on_ping = models.BooleanField(default=False)
    methods = models.CharField(max_length=4, choices=PingMethods.choices, default=PingMethods.ANY)
    # {"success": [...], "failure": [...], "start": [...]}, normalised by monitors.keywords.
    keywords = models.JSONField(default=no_keywords, blank=True)
    runbook_url = models.CharField(max_length=2000, blank=True, default="")
    # 0: only the failure that opens an incident notifies; N: also every Nth in a row while open.
    notify_every_failures = models.PositiveIntegerField(default=0)

    paused = models.BooleanField(default=False)
    paused_until = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=MonitorStatus.choices, default=MonitorStatus.NEW)

    created_at = models.DateTimeField(auto_now_add=True)
    # The state columns below belong to monitors.state (mapped by monitors.state_rows): every
    # write to them goes through its `apply` and bumps `revision`.
    # The start of the current due window: creation, the last finish, a missed window, a resume.
    window_start = models.DateTimeField()
    last_ping_at = models.DateTimeField(null=True, blank=True)
    last_start_at = models.DateTimeField(null=True, blank=True)
    last_finish_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.BigIntegerField(null=True, blank=True)
    open_runs = models.IntegerField(default=0)
    # The start of the oldest open run, which too_long counts from.
    running_since = models.DateTimeField(null=True, blank=True)
    # The due time (before grace), as the API reports it.
    next_due_at = models.DateTimeField(null=True, blank=True)
    # The instant the sweeper next needs to look at this monitor (null: never).
    deadline = models.DateTimeField(null=True, blank=True)
    incident_open = models.BooleanField(default=False)
    consecutive_bad = models.IntegerField(default=0)
    consecutive_good = models.IntegerField(default=0)
    # A problem seen during maintenance, alerted when the window closes if still unresolved.
    held_problem = models.JSONField(null=True, blank=True)
    # Repeat notifications (notify_every_failures) sent for the open incident.
    repeats_notified = models.IntegerField(default=0)
    # The latest successful durations, oldest first: what `slow` is judged against.
    recent_durations_ms = models.JSONField(default=list, blank=True)
    # When the latest incidents opened (ISO 8601, oldest first): what flapping is judged by.
    recent_opens = models.JSONField(default=list, blank=True)
    # While flapping: since when, and the notifications held back (monitors.state.Flap).
    flap = models.JSONField(null=True, blank=True)
    # Bumped by every write to the state columns; the ping path's one-statement write compares it.
    revision = models.BigIntegerField(default=0)
    # Sweeps of this monitor that raised in a row, and the last error: it is retried with backoff.
    sweep_failures = models.IntegerField(default=0)
    sweep_error = models.TextField(blank=True, default="")
    # The rate limit (pings.rate_limit): the minute being counted, the pings counted in it, and
    # every ping refused for the limit so far. Counted in the ping's own write, outside `revision`.
    rate_window = models.DateTimeField(null=True, blank=True)
    rate_count = models.IntegerField(default=0)
    pings_refused = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "slug"], name="monitor_slug_unique_per_project"),
        ]
        indexes = [
            models.Index(
                fields=["deadline"], name="monitor_deadline_due", condition=Q(deadline__isnull=False)
            ),
            # /healthz and the metrics count these on every request.
            models.Index(fields=["id"], name="monitor_sweep_failing", condition=Q(sweep_failures__gt=0)),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def flapping(self) -> bool:
        return self.flap is not None

    @property
    def ping_url(self) -> str:
        return f"{settings.SITE_URL}/ping/{self.ping_uuid}"

    @property
    def schedule(self) -> dict[str, Any]:
        if self.schedule_kind == ScheduleKind.CRON:
            return {"kind": "cron", "expression": self.cron_expression, "timezone": self.timezone}
        return {"kind": "interval", "seconds": self.interval_seconds}


class SweeperHeartbeat(models.Model):
    """One row per sweeper loop name; `beat_at` is written by every sweep."""

    name = models.CharField(max_length=50, primary_key=True)
    beat_at = models.DateTimeField()


class SweeperOutage(models.Model):
    """A gap in the sweeper's heartbeat: deadlines inside it get the gap back as grace."""

    started_at = models.DateTimeField(unique=True)
    ended_at = models.DateTimeField()

    @property
    def length_seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


class Invitation(models.Model):
    """An invitation to a project by e-mail, used once before `expires_at`; only its token hash is kept."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.email} → {self.project} ({self.role})"


class AuditVia(models.TextChoices):
    UI = "ui"
    API = "api"
    CLI = "cli"


class AuditEntry(models.Model):
    """One change to a project: who, by which way, from where, what, and each field before → after.

    Written by monitors.audit only; secrets are masked before they reach it.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="audit_entries")
    at = models.DateTimeField()
    # The actor as it was: the user may be deleted and the key revoked, the entry keeps their names.
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True, default="")
    actor_key_name = models.CharField(max_length=100, blank=True, default="")
    actor_key_prefix = models.CharField(max_length=16, blank=True, default="")
    # Who ran a management command (the operating-system user), for `cli` entries.
    actor_cli = models.CharField(max_length=100, blank=True, default="")
    via = models.CharField(max_length=3, choices=AuditVia.choices)
    address = models.CharField(max_length=45, blank=True, default="")
    action = models.CharField(max_length=50)
    object_type = models.CharField(max_length=30)
    object_id = models.CharField(max_length=40, blank=True, default="")
    object_name = models.CharField(max_length=254, blank=True, default="")
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "-at", "-id"], name="audit_project_newest"),
            models.Index(fields=["at"], name="audit_at"),
        ]

    @property
    def actor_label(self) -> str:
        if self.actor_key_prefix:
            return f"API key “{self.actor_key_name}” ({self.actor_key_prefix}…)"
        if self.actor_email:
            return self.actor_email
        return f"command line ({self.actor_cli})" if self.actor_cli else "command line"


class SignIn(models.Model):
    """A successful sign-in: when, from where, with what browser; the session it opened."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_ins")
    at = models.DateTimeField()
    address = models.CharField(max_length=45, blank=True, default="")
    user_agent = models.CharField(max_length=300, blank=True, default="")
    session_key = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["user", "-at"], name="signin_user_newest")]
