"""Fixtures for delivery tests: loopback receivers and the settings that reach them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.alerts.delivery.celery_workers import Workers
from tests.alerts.loopback import HttpReceiver


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running


@pytest.fixture
def allow_private(settings: Any) -> None:
    """The receivers live on loopback, which the guard refuses by default."""
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = True


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    """Real delivery workers; every one started is killed at the end."""
    running = Workers(tmp_path)
    yield running
    for worker in running.started:
        running.kill(worker)
