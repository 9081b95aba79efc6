"""Delivery health in the Prometheus exposition of a project (registered by AlertsConfig.ready)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric

from alerts.delivery.health import delivery_age_seconds, outbox_backlog, outbox_oldest_seconds
from monitors.models import Project


class DeliveryCollector:
    def __init__(self, project: Project, now: datetime) -> None:
        self.project = project
        self.now = now

    def collect(self) -> Iterable[Metric]:
        age = delivery_age_seconds(self.now)
        # Left out, not faked as 0, until a delivery worker has ever reported.
        if age is not None:
            yield GaugeMetricFamily(
                "vigil_delivery_age_seconds",
                "Seconds since a delivery worker last reported (the whole instance).",
                value=age,
            )
        yield GaugeMetricFamily(
            "vigil_outbox_oldest_seconds",
            "How long this project's longest-waiting due notification has waited; 0 when none.",
            value=outbox_oldest_seconds(self.now, project=self.project),
        )
        backlog = GaugeMetricFamily(
            "vigil_outbox_backlog", "This project's undelivered notifications by state.", labels=["state"]
        )
        for state, count in outbox_backlog(project=self.project).items():
            backlog.add_metric([state], count)
        yield backlog
