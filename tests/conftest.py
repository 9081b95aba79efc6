"""Shared fixtures: projects, keys, API clients; and the rule that the PostgreSQL pass skips nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import override_settings
from rest_framework.test import APIClient

from monitors.api_keys import api_key_create
from monitors.models import Monitor, Project
from pings import monitor_cache
from tests.alerts.loopback import HttpReceiver, SmtpSink
from tests.clock import clock
from tests.factories import MonitorFactory, ProjectFactory

__all__ = ["clock"]  # a fixture every test package uses

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
ON_REDIS = bool(os.environ.get("REDIS_URL"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL=postgres://… (SQLite pass)"))
        if "redis" in item.keywords and not ON_REDIS:
            item.add_marker(pytest.mark.skip(reason="needs REDIS_URL (SQLite pass)"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On PostgreSQL every test must run: a skip there hides a broken promise."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if ON_POSTGRES and reporter is not None and reporter.stats.get("skipped") and exitstatus == 0:
        reporter.write_line("FAILED: tests were skipped in the PostgreSQL pass", red=True)
        session.exitstatus = 1


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> Iterator[None]:
    """Signing in hashes passwords; the production hasher is slow on purpose, tests need not be."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def no_monitors_known_from_earlier_tests() -> Iterator[None]:
    """The ping path's per-process copies of monitors (pings.monitor_cache) outlive a test's
    rolled-back rows; every test starts without them."""
    monitor_cache.forget_all()
    yield
    monitor_cache.forget_all()


@pytest.fixture
def smtp_sink(settings: Any) -> Iterator[SmtpSink]:
    """A real SMTP server on loopback, with Django's e-mail settings pointed at it."""
    with SmtpSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = sink.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        yield sink


@pytest.fixture
def project(db: None) -> Project:
    return ProjectFactory.create()


@pytest.fixture
def monitor(project: Project) -> Monitor:
    return MonitorFactory.create(project=project)


def make_client(project: Project, *, read_only: bool = False) -> APIClient:
    _, raw_key = api_key_create(project=project, name="test", read_only=read_only)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def api(project: Project) -> APIClient:
    return make_client(project)


@pytest.fixture
def read_only_api(project: Project) -> APIClient:
    return make_client(project, read_only=True)


@pytest.fixture
def allow_private_addresses(settings: Any) -> None:
    """Receivers in tests listen on 127.0.0.1, which the guarded HTTP client refuses by default."""
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = True


@pytest.fixture
def loopback_receiver() -> Iterator[HttpReceiver]:
    """A real HTTP receiver on 127.0.0.1 (tests.alerts.loopback), stopped after the test."""
    with HttpReceiver() as running:
        yield running


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def results(response: Any) -> list[dict[str, Any]]:
    body = response.json()
    assert set(body) >= {"count", "next", "previous", "results"}, body
    return list(body["results"])
