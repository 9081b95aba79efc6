"""Flapping held back (issue 15): real pings, the real sweeper, time moved by time_machine,
deliveries to a loopback HTTP receiver and an SMTP sink.

Three incidents opening within FLAP_WINDOW_SECONDS make a monitor flapping: the third
opening is notified (saying so), what follows is held, and once no incident has opened or
resolved for the window the sweeper sends one summary, once; the incidents are all recorded.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from alerts.models import Channel, Incident, Notification
from alerts.sweeper import sweep
from monitors.models import Monitor, Project
from tests.alerts.delivery.outbox_rows import deliver_due, email_channel, slack_channel, webhook_channel
from tests.alerts.loopback import HttpReceiver, SmtpSink, text_and_html
from tests.clock import T0, Clock
from tests.conftest import make_client
from tests.factories import MonitorFactory, member

pytestmark = pytest.mark.usefixtures("allow_private")

WINDOW = 900


@pytest.fixture
def flappy(project: Project, settings: Any) -> Monitor:
    settings.FLAP_WINDOW_SECONDS = WINDOW
    return MonitorFactory.create(project=project, name="Queue consumer", interval_seconds=86400)


def ping(client: Client, monitor: Monitor, clock: Clock, at: float, suffix: str = "") -> None:
    clock.at(at)
    assert client.post(f"/ping/{monitor.ping_uuid}{suffix}").status_code == 200


def flap(client: Client, monitor: Monitor, clock: Clock) -> None:
    """Four failures, each followed by a success a minute later, two minutes apart."""
    for n in range(4):
        ping(client, monitor, clock, 120 * n, "/fail")
        ping(client, monitor, clock, 120 * n + 60)


def sweep_at(clock: Clock, seconds: float) -> None:
    clock.at(seconds)
    sweep()


def events(monitor: Monitor) -> list[str]:
    rows = Notification.objects.filter(incident__monitor=monitor).order_by("created_at", "id")
    return list(rows.values_list("event", flat=True))


def drain() -> None:
    while deliver_due():
        pass


@pytest.mark.django_db
def test_a_flapping_monitor_is_held_then_summarised_once_to_every_channel(
    client: Client,
    project: Project,
    flappy: Monitor,
    clock: Clock,
    receiver: HttpReceiver,
    smtp_sink: SmtpSink,
) -> None:
    hook = webhook_channel(project, receiver.url)
    chat = slack_channel(project, receiver.url)
    mail = email_channel(project)
    flappy.channels.add(hook, chat, mail)
    flap(client, flappy, clock)  # opens at 0, 120, 240 (flapping from here) and 360

    # Every incident is recorded; only the first two and the third's opening are notified.
    incidents = Incident.objects.filter(monitor=flappy).order_by("opened_at")
    assert [(i.opened_at - T0, i.resolved_at is not None) for i in incidents] == [
        (timedelta(seconds=s), True) for s in (0, 120, 240, 360)
    ]
    assert events(flappy) == (["problem"] * 3 + ["recovered"] * 3) * 2 + ["problem"] * 3
    api = make_client(project)
    assert api.get(f"/api/v1/monitors/{flappy.id}/").json()["flapping"] is True
    client.force_login(member(project))
    assert ">flapping</span>" in client.get(f"/monitors/{flappy.id}/").content.decode()

    # Stable since the last recovery (420 s): nothing until the window has passed.
    sweep_at(clock, 420 + WINDOW - 1)
    assert events(flappy).count("flapping_summary") == 0
    sweep_at(clock, 420 + WINDOW)
    sweep_at(clock, 420 + WINDOW + 1)
    sweep_at(clock, 420 + 3 * WINDOW)
    assert events(flappy).count("flapping_summary") == 3  # one per channel, once
    assert api.get(f"/api/v1/monitors/{flappy.id}/").json()["flapping"] is False

    drain()
    hooks = [request.json() for request in receiver.requests if "blocks" not in request.json()]
    assert [event["event"] for event in hooks] == [
        "problem",
        "recovered",
        "problem",
        "recovered",
        "problem",
        "flapping_summary",
    ]
    assert hooks[4]["flapping"]["stable_for_seconds"] == WINDOW
    summary = hooks[5]
    assert summary["monitor"]["status"] == "up"
    held = summary["flapping"]
    assert (held["problems_held"], held["recoveries_held"]) == (1, 2)
    assert (held["first"]["event"], held["first"]["at"]) == ("recovered", "2026-03-02T12:05:00Z")
    assert (held["last"]["event"], held["last"]["at"]) == ("recovered", "2026-03-02T12:07:00Z")
    assert summary["incident"]["opened_at"] == "2026-03-02T12:06:00Z"  # the latest incident

    slack = [str(request.json()["blocks"]) for request in receiver.requests if "blocks" in request.json()]
    assert len(slack) == 6
    assert "flapping: 1 problem and 2 recoveries held" in slack[-1]
    subjects = [message["Subject"] for message in smtp_sink.messages]
    assert subjects[-1] == "[FLAPPING] Queue consumer: 1 problem and 2 recoveries held, now up"
    text, _ = text_and_html(smtp_sink.messages[-1])
    assert "Problems held: 1" in text
    assert "Recoveries held: 2" in text


@pytest.mark.django_db
def test_after_the_summary_problems_are_notified_again(
    client: Client, project: Project, flappy: Monitor, clock: Clock
) -> None:
    flappy.channels.add(
        Channel.objects.create(project=project, kind="webhook", name="h", config={"url": "x"})
    )
    flap(client, flappy, clock)
    sweep_at(clock, 420 + WINDOW)
    ping(client, flappy, clock, 420 + WINDOW + 10, "/fail")
    assert events(flappy)[-2:] == ["flapping_summary", "problem"]
    flappy.refresh_from_db()
    assert not flappy.flapping


@pytest.mark.django_db
def test_a_monitor_left_down_while_flapping_is_summarised_as_down(
    client: Client, project: Project, flappy: Monitor, clock: Clock
) -> None:
    flappy.channels.add(
        Channel.objects.create(project=project, kind="webhook", name="h", config={"url": "x"})
    )
    flap(client, flappy, clock)
    ping(client, flappy, clock, 500, "/fail")  # held; it stays down
    sweep_at(clock, 500 + WINDOW)
    summary = Notification.objects.get(event="flapping_summary")
    assert summary.payload["monitor"]["status"] == "down"
    assert summary.payload["flapping"]["problems_held"] == 2
    assert Incident.objects.filter(monitor=flappy, resolved_at__isnull=True).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweepers_send_the_summary_once(
    client: Client, project: Project, flappy: Monitor, clock: Clock
) -> None:
    channels = [
        Channel.objects.create(project=project, kind="webhook", name=f"h{n}", config={"url": "x"})
        for n in range(2)
    ]
    flappy.channels.add(*channels)
    flap(client, flappy, clock)
    clock.at(420 + WINDOW)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def sweeper() -> None:
        try:
            start.wait()
            for _ in range(3):
                sweep()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert events(flappy).count("flapping_summary") == 2  # one per channel
