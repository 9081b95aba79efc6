"""Runs and pings in the admin (read-only: see monitorsite.admin_base)."""

from django.contrib import admin

from monitorsite.admin_base import ReadOnlyAdmin
from pings.models import Ping, Run


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ("monitor", "status", "started_at", "finished_at", "duration_ms", "exit_code")
    list_filter = ("status",)
    list_select_related = ("monitor",)
    search_fields = ("monitor__slug", "monitor__name")
    date_hierarchy = "finished_at"


@admin.register(Ping)
class PingAdmin(ReadOnlyAdmin):
    list_display = ("monitor", "kind", "received_at", "method", "remote_addr", "body_size", "exit_code")
    list_filter = ("kind", "method")
    list_select_related = ("monitor",)
    search_fields = ("monitor__slug", "monitor__name")
