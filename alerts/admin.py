"""Channels, incidents and every delivery attempt in the admin (read-only: see monitorsite.admin_base)."""

from django.contrib import admin

from alerts.models import Channel, DeliveryAttempt, Incident, MaintenanceWindow, Notification
from monitorsite.admin_base import ReadOnlyAdmin, ReadOnlyInline


@admin.register(Channel)
class ChannelAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "project", "reminder_hours")
    list_filter = ("kind",)
    exclude = ("secret",)  # the signing secret is shown once, on creation and rotation


class NotificationInline(ReadOnlyInline):
    model = Notification
    fields = ("channel", "event", "status", "attempt_count", "next_attempt_at", "message_id")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ("monitor", "kind", "opened_at", "resolved_at", "acknowledged_at")
    list_filter = ("kind",)
    list_select_related = ("monitor",)
    search_fields = ("monitor__slug", "monitor__name", "detail")
    inlines = (NotificationInline,)


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = ("at", "status_code", "error", "latency_ms")
    show_change_link = False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("incident", "channel", "event", "status", "attempt_count", "next_attempt_at")
    list_filter = ("status", "event")
    list_select_related = ("incident__monitor", "channel")
    inlines = (DeliveryAttemptInline,)


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(ReadOnlyAdmin):
    list_display = ("project", "name", "starts_at", "ends_at", "cron_expression", "duration_seconds")
