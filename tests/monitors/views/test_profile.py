"""The account page: the last sign-ins (time, address, browser) and signing out other sessions."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from monitors.models import Project, SignIn
from tests.factories import PASSWORD, member


def sign_in(email: str, *, agent: str, address: str) -> Client:
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    response = client.post("/accounts/login/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_sign_ins_are_listed_newest_first(project: Project) -> None:
    user = member(project, email="ada@example.com")
    sign_in(user.email, agent="Firefox/140 on a laptop", address="198.51.100.7")
    browser = sign_in(user.email, agent="Safari on a phone", address="198.51.100.8")
    page = browser.get("/accounts/profile/").content.decode()
    assert page.index("Safari on a phone") < page.index("Firefox/140 on a laptop")
    assert "198.51.100.7" in page
    assert "(this session)" in page
    assert SignIn.objects.filter(user=user).count() == 2


def test_sign_out_everywhere_else(project: Project) -> None:
    user = member(project, email="ada@example.com")
    laptop = sign_in(user.email, agent="laptop", address="198.51.100.7")
    phone = sign_in(user.email, agent="phone", address="198.51.100.8")
    other_user: User = member(project)
    elsewhere = sign_in(other_user.email, agent="theirs", address="198.51.100.9")
    response = phone.post("/accounts/profile/sign-out-others/", follow=True)
    assert "Signed out of 1 other session" in response.content.decode()
    assert phone.get(f"/projects/{project.id}/").status_code == 200
    assert laptop.get(f"/projects/{project.id}/").status_code == 302  # to the sign-in page
    assert elsewhere.get(f"/projects/{project.id}/").status_code == 200


def test_the_page_needs_a_sign_in(client: Client) -> None:
    assert client.get("/accounts/profile/").status_code == 302
    assert client.post("/accounts/profile/sign-out-others/").status_code == 302
