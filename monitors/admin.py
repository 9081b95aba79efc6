"""Projects, their keys and monitors in the admin (read-only: see monitorsite.admin_base)."""

from django.contrib import admin

from monitors.models import ApiKey, Membership, Monitor, Project, SweeperHeartbeat, SweeperOutage
from monitorsite.admin_base import ReadOnlyAdmin, ReadOnlyInline


class MembershipInline(ReadOnlyInline):
    model = Membership


class ApiKeyInline(ReadOnlyInline):
    model = ApiKey
    fields = ("name", "prefix", "read_only", "created_at")  # never the hash
    readonly_fields = fields


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ("name", "id")
    search_fields = ("name",)
    exclude = ("ping_key",)  # a secret: anyone holding it can ping every monitor by slug
    inlines = (MembershipInline, ApiKeyInline)


@admin.register(Monitor)
class MonitorAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "slug",
        "project",
        "status",
        "last_ping_at",
        "next_due_at",
        "deadline",
        "paused",
        "sweep_failures",
    )
    list_filter = ("status", "paused", "schedule_kind")
    search_fields = ("name", "slug", "description")
    exclude = ("ping_uuid",)  # a secret: the ping URL is shown to read-write API keys only


@admin.register(SweeperHeartbeat)
class SweeperHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "beat_at")


@admin.register(SweeperOutage)
class SweeperOutageAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "ended_at")
