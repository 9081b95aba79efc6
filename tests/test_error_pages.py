"""403, 404 and 500 pages in the site's style; the 500 page needs no request at all."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.test import Client, override_settings
from django.urls import include, path


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


urlpatterns = [path("broken/", broken), path("", include("monitorsite.urls"))]


def test_the_500_page_renders_without_a_request_or_context() -> None:
    page = loader.get_template("500.html").render()
    assert "Something went wrong on our side" in page
    assert "/static/vigil/vigil.css" in page


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_an_unhandled_error_answers_the_styled_500_page() -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/broken/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_page_answers_the_styled_404(client: Client) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Nothing here" in page
    assert "/static/vigil/vigil.css" in page


@pytest.mark.django_db
def test_a_form_without_its_csrf_token_answers_the_styled_403() -> None:
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403
    assert "This form expired" in response.content.decode()
