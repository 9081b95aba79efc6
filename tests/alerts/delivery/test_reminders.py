"""Reminders: "still down" every N hours while an incident is open and unacknowledged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from alerts.delivery.reminders import reminders_schedule
from alerts.models import Notification
from tests.alerts.delivery.outbox_rows import deliver_due, problem, slack_channel
from tests.alerts.loopback import HttpReceiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]


def reminders() -> list[tuple[int, str]]:
    return list(
        Notification.objects.filter(event="reminder").order_by("sequence").values_list("sequence", "status")
    )


def test_a_reminder_every_n_hours_while_down(project: Any, receiver: HttpReceiver) -> None:
    channel = slack_channel(project, receiver.url, reminder_hours=2)
    opened = timezone.now()
    with time_machine.travel(opened, tick=False) as clock:
        problem(channel, kind="missed", detail="missed its 03:00 run")
        deliver_due()
        clock.shift(timedelta(hours=1, minutes=59))
        reminders_schedule()
        assert reminders() == []

        clock.shift(timedelta(minutes=2))
        reminders_schedule()
        reminders_schedule()
        assert reminders() == [(1, "pending")]
        deliver_due()
        assert reminders() == [(1, "delivered")]

        clock.shift(timedelta(hours=2))
        reminders_schedule()
        deliver_due()
    assert reminders() == [(1, "delivered"), (2, "delivered")]
    texts = [request.json()["text"] for request in receiver.requests]
    assert texts[1].endswith("is still down after 2 h 1 min: missed its 03:00 run")
    assert texts[2].endswith("is still down after 4 h 1 min: missed its 03:00 run")
    reminder = Notification.objects.get(event="reminder", sequence=2)
    assert reminder.payload["event"] == "reminder"
    assert reminder.payload["problem"] == {"kind": "missed", "detail": "missed its 03:00 run"}


@pytest.mark.parametrize("ending", ["acknowledged_at", "resolved_at"])
def test_no_reminders_once_acknowledged_or_resolved(
    project: Any, receiver: HttpReceiver, ending: str
) -> None:
    channel = slack_channel(project, receiver.url, reminder_hours=1)
    incident = problem(channel).incident
    setattr(incident, ending, timezone.now())
    incident.save()
    with time_machine.travel(timezone.now() + timedelta(hours=3)):
        reminders_schedule()
    assert reminders() == []


def test_channels_without_reminder_hours_get_none(project: Any, receiver: HttpReceiver) -> None:
    problem(slack_channel(project, receiver.url))
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        reminders_schedule()
    assert reminders() == []
