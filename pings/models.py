"""Pings as received, and the runs they open and close."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from monitors.models import Monitor


class PingKind(models.TextChoices):
    SUCCESS = "success"
    START = "start"
    FAIL = "fail"
    LOG = "log"
    EXIT = "exit"
    # Stored, shown, never counted: a GET to a POST-only monitor, a body without a success keyword.
    IGNORED = "ignored"


class RunStatus(models.TextChoices):
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class Run(models.Model):
    # No index of its own: run_monitor_newest (monitor_id, id) serves every lookup by monitor,
    # and each index is one more write on the ping path.
    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="runs", db_index=False)
    rid = models.UUIDField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.BigIntegerField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    log = models.TextField(blank=True, default="")
    log_truncated = models.BooleanField(default=False)
    # Started while another run was open (and the monitor does not allow overlap).
    overlap = models.BooleanField(default=False)
    # True when a person recorded or closed the run, not the job's own pings.
    manual = models.BooleanField(default=False)
    # Who asked for it (Run now): a user's e-mail or an API key's name; null for scheduled runs.
    # Nullable with no default, so the ping path's hand-written INSERT needs no change.
    requested_by = models.CharField(max_length=254, null=True, blank=True)
    # The problem kind Vigil closed it with ("too_long"), when Vigil closed it.
    closed_reason = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["monitor", "started_at"], name="run_open", condition=Q(status="running")),
            models.Index(fields=["monitor", "-id"], name="run_monitor_newest"),
            # The runs feed and a monitor's stats: per monitor and status, finished runs in time
            # order (running ones are in run_open); counts over a window read the index alone.
            models.Index(
                fields=["monitor", "status", "finished_at", "id"], name="run_monitor_status_finished"
            ),
        ]


class Ping(models.Model):
    # Served by ping_monitor_newest (monitor_id, id), as for runs.
    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="pings", db_index=False)
    run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="pings")
    kind = models.CharField(max_length=10, choices=PingKind.choices)
    received_at = models.DateTimeField()
    remote_addr = models.CharField(max_length=64, blank=True, default="")
    user_agent = models.CharField(max_length=200, blank=True, default="")
    method = models.CharField(max_length=8)
    body_size = models.BigIntegerField(default=0)
    rid = models.UUIDField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    # Kept for start and log pings; a finish's body is its run's log.
    body = models.TextField(blank=True, default="")
    body_truncated = models.BooleanField(default=False)
    # Why an ignored ping was ignored, or which keyword changed what the ping counted as.
    note = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["monitor", "-id"], name="ping_monitor_newest"),
            # The monitor page lists the latest ignored pings: a hot monitor has millions of others.
            models.Index(fields=["monitor", "-id"], name="ping_ignored", condition=Q(kind="ignored")),
        ]
