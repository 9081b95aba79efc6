"""E-mail over real SMTP: refused recipients fail for good, an unreachable server is retried."""

from __future__ import annotations

from typing import Any

import pytest

from tests.alerts.delivery.outbox_rows import deliver_due, email_channel, problem
from tests.alerts.loopback import SmtpSink, free_port

pytestmark = pytest.mark.django_db


def test_mail_is_delivered_through_smtp(project: Any, smtp_sink: SmtpSink) -> None:
    notification = problem(email_channel(project, "ops@example.com"))
    deliver_due()
    notification.refresh_from_db()
    assert notification.status == "delivered"
    (message,) = smtp_sink.messages
    assert message["X-Vigil-Message-Id"] == notification.message_id
    assert message.get_content_type() == "multipart/alternative"


def test_a_refused_recipient_fails_permanently(project: Any, smtp_sink: SmtpSink) -> None:
    smtp_sink.refuse.add("nobody@example.com")
    notification = problem(email_channel(project, "nobody@example.com"))
    deliver_due()
    notification.refresh_from_db()
    assert notification.status == "failed"
    assert "550" in notification.attempts.get().error
    assert smtp_sink.messages == []


def test_an_unreachable_smtp_server_is_retried(project: Any, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    notification = problem(email_channel(project))
    deliver_due()
    notification.refresh_from_db()
    assert notification.status == "retrying"
    assert "ConnectionRefusedError" in notification.attempts.get().error
