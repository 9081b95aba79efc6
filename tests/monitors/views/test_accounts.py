"""Sign-in (throttled), sign-up, sign-out, password change and reset, in the site's pages."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from monitors.models import Membership, Project
from tests.factories import PASSWORD, UserFactory, member

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def no_signin_failures_from_earlier_runs() -> Iterator[None]:
    # The throttle lives in the cache, which outlives a test run (file cache, Redis).
    cache.clear()
    yield
    cache.clear()


def sign_in(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


# ---- sign-in page ----


def test_sign_in_page_offers_sign_up_and_password_reset(client: Client) -> None:
    UserFactory.create()
    page = client.get(LOGIN).content.decode()
    assert 'href="/accounts/signup/"' in page
    assert 'href="/accounts/password_reset/"' in page
    assert "createsuperuser" not in page


def test_fresh_install_sign_in_page_says_how_to_make_the_first_account(client: Client) -> None:
    page = client.get(LOGIN).content.decode()
    assert "No accounts yet" in page
    assert "manage.py createsuperuser" in page
    assert "manage.py vigil_bootstrap" in page


def test_sign_in_by_email_goes_to_the_dashboard(client: Client, project: Project) -> None:
    user = member(project, email="ada@example.com")
    response = sign_in(client, "ada@example.com", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.id)


def test_sign_in_keeps_next_but_never_leaves_the_site(client: Client, project: Project) -> None:
    member(project, email="ada@example.com")
    data = {"username": "ada@example.com", "password": PASSWORD}
    assert client.post(f"{LOGIN}?next=/projects/", data)["Location"] == "/projects/"
    client.logout()
    assert client.post(f"{LOGIN}?next=https://evil.example/", data)["Location"] == "/"


def test_wrong_password_is_a_form_error(client: Client, project: Project) -> None:
    member(project, email="ada@example.com")
    response = sign_in(client, "ada@example.com", "not it")
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()
    assert "_auth_user_id" not in client.session


# ---- throttling ----


def test_five_failures_lock_the_username_from_that_address(client: Client, project: Project) -> None:
    member(project, email="ada@example.com")
    for _ in range(5):
        sign_in(client, "ada@example.com", "guess")
    response = sign_in(client, "ADA@example.com ", PASSWORD)
    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The same account from another address, and another account from this one, still work.
    assert sign_in(Client(), "ada@example.com", PASSWORD, address="10.0.0.2").status_code == 302
    other = member(project, email="bob@example.com")
    assert sign_in(Client(), other.email, PASSWORD).status_code == 302


def test_four_failures_then_success_start_the_count_again(client: Client, project: Project) -> None:
    member(project, email="ada@example.com")
    for _ in range(4):
        sign_in(client, "ada@example.com", "guess")
    assert sign_in(client, "ada@example.com", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        sign_in(client, "ada@example.com", "guess")
    assert sign_in(client, "ada@example.com", PASSWORD).status_code == 302


def test_the_lock_ends_after_the_lockout(client: Client, project: Project, settings: Settings) -> None:
    settings.SIGNIN_LOCKOUT_SECONDS = 1
    member(project, email="ada@example.com")
    for _ in range(5):
        sign_in(client, "ada@example.com", "guess")
    assert "Too many failed" in sign_in(client, "ada@example.com", PASSWORD).content.decode()
    time.sleep(2.1)
    assert sign_in(client, "ada@example.com", PASSWORD).status_code == 302


# ---- sign-up ----


def signup_data(email: str = "grace@example.com", password: str = "a long passphrase") -> dict[str, str]:
    return {"email": email, "password1": password, "password2": password}


def test_sign_up_makes_a_user_with_a_project_of_their_own_and_signs_them_in(client: Client) -> None:
    response = client.post("/accounts/signup/", signup_data())
    user = User.objects.get(email="grace@example.com")
    assert user.username == "grace@example.com"
    membership = Membership.objects.select_related("project").get(user=user)
    assert membership.is_owner
    assert membership.project.name == "grace's project"
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{membership.project.id}/"
    assert client.session["_auth_user_id"] == str(user.id)
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (signup_data(email="not-an-email"), "email", "Enter a valid email address."),
        (signup_data(email="ADA@example.com"), "email", "already exists"),
        ({**signup_data(), "password2": "something else"}, "password2", "The two passwords differ."),
        (signup_data(password="short"), "password1", "too short"),
        ({**signup_data(), "password1": ""}, "password1", "This field is required."),
    ],
)
def test_sign_up_with_bad_input_shows_the_fields_error_and_creates_nothing(
    client: Client, project: Project, data: dict[str, str], field: str, message: str
) -> None:
    member(project, email="ada@example.com")
    users, projects = User.objects.count(), Project.objects.count()
    response = client.post("/accounts/signup/", data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert f'id="id_{field}_error"' in response.content.decode()
    assert (User.objects.count(), Project.objects.count()) == (users, projects)
    assert "_auth_user_id" not in client.session


def test_closed_registration_answers_404_and_is_not_offered(client: Client, settings: Settings) -> None:
    settings.REGISTRATION_OPEN = False
    assert client.get("/accounts/signup/").status_code == 404
    assert client.post("/accounts/signup/", signup_data()).status_code == 404
    assert not User.objects.exists()
    page = client.get(LOGIN).content.decode()
    assert "/accounts/signup/" not in page
    assert "createsuperuser" in page  # a fresh install still says how to begin


def test_signed_in_people_visiting_sign_up_go_to_their_dashboard(client: Client, project: Project) -> None:
    client.force_login(member(project))
    assert client.get("/accounts/signup/")["Location"] == "/"


# ---- sign-out ----


def test_sign_out_is_a_post(client: Client, project: Project) -> None:
    client.force_login(member(project))
    assert client.get("/accounts/logout/").status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session


# ---- password change ----


def test_password_change_needs_a_sign_in(client: Client) -> None:
    response = client.get("/accounts/password_change/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{LOGIN}?next=")


def test_password_change_with_the_wrong_old_password_changes_nothing(
    client: Client, project: Project
) -> None:
    user = member(project)
    client.force_login(user)
    response = client.post(
        "/accounts/password_change/",
        {"old_password": "wrong", "new_password1": "brand new secret", "new_password2": "brand new secret"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["old_password"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change(client: Client, project: Project) -> None:
    user = member(project)
    client.force_login(user)
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": "brand new secret", "new_password2": "brand new secret"},
    )
    assert response["Location"] == "/accounts/password_change/done/"
    assert "Password changed" in client.get(response["Location"]).content.decode()
    user.refresh_from_db()
    assert user.check_password("brand new secret")


# ---- password reset ----


def test_password_reset_mails_a_link_on_site_url_that_sets_a_new_password(
    client: Client, project: Project, settings: Settings
) -> None:
    settings.SITE_URL = "https://vigil.example.com"
    user = member(project, email="ada@example.com")
    response = client.post(
        "/accounts/password_reset/", {"email": "ADA@example.com"}, HTTP_HOST="evil.example"
    )
    assert response["Location"] == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"]
    assert message.subject == "Reset your Vigil password"
    link = re.search(r"https://vigil\.example\.com(/accounts/reset/\S+/)", str(message.body))
    assert link is not None, message.body
    assert "evil.example" not in message.body

    form_page = client.get(link.group(1), follow=True)
    assert form_page.context["validlink"]
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "reset secret", "new_password2": "reset secret"}
    )
    assert done["Location"] == "/accounts/reset/done/"
    user.refresh_from_db()
    assert user.check_password("reset secret")
    # The link works once.
    assert not client.get(link.group(1), follow=True).context["validlink"]


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client: Client) -> None:
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert response["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []


def test_password_reset_with_a_malformed_address_is_a_field_error(client: Client) -> None:
    response = client.post("/accounts/password_reset/", {"email": "nope"})
    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert mail.outbox == []


def test_every_auth_url_name_resolves() -> None:
    for name in (
        "login",
        "logout",
        "signup",
        "password_change",
        "password_change_done",
        "password_reset",
        "password_reset_done",
        "password_reset_complete",
    ):
        assert reverse(name).startswith("/accounts/")
