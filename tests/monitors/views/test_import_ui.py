"""Import from Healthchecks in the project settings: preview, then import into the current
project through the same code as `manage.py import_healthchecks`, fetched through the guarded
client; then the old ping URLs work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from monitors.models import Monitor, Project
from pings.models import Run
from tests.factories import ProjectFactory
from tests.monitors.fake_healthchecks import PING_KEY, RO_KEY, RW_KEY, UUIDS, FakeHealthchecks

pytestmark = pytest.mark.django_db

IMPORTED = 7  # every recorded check but the OnCalendar one


@pytest.fixture
def fake() -> Iterator[FakeHealthchecks]:
    with FakeHealthchecks() as running:
        yield running


def import_url(project: Project) -> str:
    return f"/projects/{project.id}/settings/import/"


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, project: Project) -> None:
    response = client.get(import_url(project))
    assert response["Location"] == f"/accounts/login/?next={import_url(project)}"


def test_another_projects_import_is_not_found(
    signed_in: Client, fake: FakeHealthchecks, strangers_monitor: Monitor
) -> None:
    theirs = strangers_monitor.project
    assert signed_in.get(import_url(theirs)).status_code == 404
    data = {"url": fake.url, "api_key": RW_KEY, "step": "import"}
    assert signed_in.post(import_url(theirs), data).status_code == 404
    assert fake.requests == []


@pytest.mark.usefixtures("allow_private_addresses")
def test_preview_then_import_into_this_project_then_old_ping_urls_work(
    signed_in: Client, project: Project, fake: FakeHealthchecks, client: Client
) -> None:
    preview = signed_in.post(
        import_url(project), {"url": fake.url, "api_key": RW_KEY, "ping_key": PING_KEY, "step": "preview"}
    )
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "Preview: nothing is written yet" in page
    assert "Nightly backup" in page
    assert "OnCalendar" in page
    assert RW_KEY not in page, "the Healthchecks key is asked again, never echoed"
    assert not Monitor.objects.filter(project=project).exists()

    done = signed_in.post(
        import_url(project), {"url": fake.url, "api_key": RW_KEY, "ping_key": PING_KEY, "step": "import"}
    )
    assert done["Location"] == f"/projects/{project.id}/"
    assert Monitor.objects.filter(project=project).count() == IMPORTED
    assert Project.objects.count() == 1, "into the current project, no new one"
    project.refresh_from_db()
    assert project.ping_key == PING_KEY
    assert "7 created, 0 updated, 1 skipped" in signed_in.get(done["Location"]).content.decode()

    client.logout()
    assert client.get(f"/ping/{UUIDS['interval']}").status_code == 200
    assert client.get(f"/ping/{PING_KEY}/report-mailer").status_code == 200
    assert Run.objects.filter(monitor__project=project).count() == 2

    # Again: updates, never duplicates.
    signed_in.post(import_url(project), {"url": fake.url, "api_key": RW_KEY, "step": "import"})
    assert Monitor.objects.filter(project=project).count() == IMPORTED


def test_a_loopback_url_is_refused_unless_private_addresses_are_allowed(
    signed_in: Client, project: Project, fake: FakeHealthchecks, settings: Any
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = False
    response = signed_in.post(import_url(project), {"url": fake.url, "api_key": RW_KEY, "step": "import"})
    assert response.status_code == 400
    errors = " ".join(response.context["form"].non_field_errors())
    assert "loopback" in errors
    assert fake.requests == [], "the server never reached the address"
    assert not Monitor.objects.exists()


@pytest.mark.usefixtures("allow_private_addresses")
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"url": "not a url", "api_key": RW_KEY}, "url", "valid URL"),
        ({"api_key": RW_KEY}, "url", "required"),
        ({"url": "FAKE", "api_key": ""}, "api_key", "required"),
        ({"url": "FAKE", "api_key": RW_KEY, "ping_key": "short"}, "ping_key", "Between 16 and 40"),
        ({"url": "ftp://hc.example.com/", "api_key": RW_KEY}, "url", "valid URL"),
        (
            {"url": "FAKE", "api_key": RW_KEY, "ping_key": "taken-by-someone-else"},
            "ping_key",
            "Another project",
        ),
        ({"url": "FAKE", "api_key": "wrong"}, None, "refused the API key"),
        ({"url": "FAKE", "api_key": RO_KEY}, None, "read-only"),
    ],
)
def test_bad_input_is_an_error_and_imports_nothing(
    signed_in: Client,
    project: Project,
    fake: FakeHealthchecks,
    data: dict[str, str],
    field: str | None,
    message: str,
) -> None:
    ProjectFactory.create(name="Secret project name", ping_key="taken-by-someone-else")
    if data.get("url") == "FAKE":
        data = {**data, "url": fake.url}
    response = signed_in.post(import_url(project), {**data, "step": "import"})
    assert response.status_code == 400
    form = response.context["form"]
    errors = form.errors[field] if field else form.non_field_errors()
    assert message.lower() in " ".join(errors).lower()
    assert "Secret project name" not in response.content.decode()
    assert not Monitor.objects.exists()
