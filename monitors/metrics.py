"""Prometheus metrics of a project's monitors, in the standard text exposition format.

Each scrape builds its own registry around one collector over a snapshot of the stored
monitor rows, so nothing is kept between requests and every worker answers the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from monitors.models import Monitor, MonitorStatus, Project
from monitors.selectors import monitors_in_scope, project_by_status_key

LABELS = ["monitor", "name", "tags"]


class Collector(Protocol):
    def collect(self) -> Iterable[Metric]: ...


# Other apps add their own families (alerts: deliveries) from AppConfig.ready, so this module
# needs no import of them: a factory gets the scraped project and the scrape's time.
EXTRA_COLLECTORS: list[Callable[[Project, datetime], Collector]] = []


class MonitorCollector:
    def __init__(self, monitors: Sequence[Monitor], now: datetime) -> None:
        self.monitors = monitors
        self.now = now

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("vigil_monitor_up", "1 unless the monitor is down.", labels=LABELS)
        running = GaugeMetricFamily("vigil_monitor_running", "1 while a run is open.", labels=LABELS)
        state = GaugeMetricFamily(
            "vigil_monitor_status", "1 for the monitor's current status.", labels=[*LABELS, "status"]
        )
        duration = GaugeMetricFamily(
            "vigil_monitor_last_duration_seconds", "Duration of the last finished run.", labels=LABELS
        )
        since_ping = GaugeMetricFamily(
            "vigil_monitor_seconds_since_last_ping",
            "Seconds since the last start or finish ping (log pings change no state).",
            labels=LABELS,
        )
        sweep_failures = GaugeMetricFamily(
            "vigil_monitor_sweep_failures",
            "Sweeps of this monitor that raised in a row (retried with backoff; 0 when healthy).",
            labels=LABELS,
        )
        refused = GaugeMetricFamily(
            "vigil_monitor_pings_refused",
            "Pings refused for the monitor's rate limit (PING_RATE_LIMIT_PER_MINUTE), not stored.",
            labels=LABELS,
        )
        for monitor in self.monitors:
            labels = [monitor.slug, monitor.name, ",".join(monitor.tags)]
            sweep_failures.add_metric(labels, monitor.sweep_failures)
            refused.add_metric(labels, monitor.pings_refused)
            up.add_metric(labels, 0 if monitor.status == MonitorStatus.DOWN else 1)
            is_running = monitor.status == MonitorStatus.RUNNING or monitor.open_runs > 0
            running.add_metric(labels, 1 if is_running else 0)
            for status in MonitorStatus.values:
                state.add_metric([*labels, status], 1 if monitor.status == status else 0)
            # Prometheus has no null: a value never measured is left out rather than faked as 0.
            if monitor.last_duration_ms is not None:
                duration.add_metric(labels, monitor.last_duration_ms / 1000)
            if monitor.last_ping_at is not None:
                since_ping.add_metric(labels, max(0.0, (self.now - monitor.last_ping_at).total_seconds()))
        yield from (up, running, state, duration, since_ping, sweep_failures, refused)

        yield GaugeMetricFamily("vigil_monitors_total", "Monitors in scope.", value=len(self.monitors))
        for status in MonitorStatus.values:
            count = sum(1 for monitor in self.monitors if monitor.status == status)
            yield GaugeMetricFamily(f"vigil_monitors_{status}_total", f"Monitors {status}.", value=count)
        failing = sum(1 for monitor in self.monitors if monitor.sweep_failures)
        yield GaugeMetricFamily(
            "vigil_monitors_sweeper_failing_total", "Monitors whose last sweep raised.", value=failing
        )


def exposition(*, project: Project, tag: str | None = None) -> bytes:
    now = timezone.now()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitorCollector(list(monitors_in_scope(project=project, tag=tag)), now))
    for make_collector in EXTRA_COLLECTORS:
        registry.register(make_collector(project, now))
    return generate_latest(registry)


def metrics_response(body: bytes) -> HttpResponse:
    response = HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def metrics_by_status_key(request: HttpRequest, status_key: str) -> HttpResponse:
    """`/metrics/<status_key>`: for scrapers that cannot send an API key."""
    project = project_by_status_key(status_key)
    if project is None:
        raise Http404("Unknown status key.")
    return metrics_response(exposition(project=project, tag=request.GET.get("tag") or None))
