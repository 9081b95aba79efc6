"""`manage.py check --deploy --fail-level WARNING` passes with a production environment (as
.ci/run runs it), and the HTTPS settings it asks for do what they say."""

from __future__ import annotations

import ipaddress
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from monitors.models import Monitor

REPO = Path(__file__).resolve().parents[2]


def production_env(tmp_path: Path) -> dict[str, str]:
    """What a production deployment behind a TLS-terminating proxy sets (README, .ci/run)."""
    unrelated = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    return {
        **unrelated,
        "VIGIL_VAR_DIR": str(tmp_path),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "vigil.example.com",
        "SITE_URL": "https://vigil.example.com",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
        "SECURE_HSTS_PRELOAD": "true",
        "SECURE_SSL_REDIRECT": "true",
        "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https",
        "TRUSTED_PROXIES": "10.0.0.0/8",
    }


def deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_the_deploy_check_passes_with_the_production_environment(tmp_path: Path) -> None:
    result = deploy_check(production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.slow
def test_the_deploy_check_fails_without_https_settings(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    for name in ("SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "SITE_URL"):
        del env[name]
    result = deploy_check(env)
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


@pytest.fixture
def https_site(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("127.0.0.1/32"),)


@pytest.mark.django_db
@pytest.mark.usefixtures("https_site")
def test_pages_redirect_to_https_and_https_answers_carry_hsts() -> None:
    client = Client()
    plain = client.get("/api/v1/project/")
    assert (plain.status_code, plain["Location"]) == (301, "https://testserver/api/v1/project/")
    secure = client.get("/api/v1/project/", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 401
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@pytest.mark.django_db
@pytest.mark.usefixtures("https_site")
@pytest.mark.parametrize("path", ["/ping/{uuid}", "/status/{status_key}/", "/healthz"])
def test_machines_are_never_redirected(monitor: Monitor, path: str) -> None:
    """A cron job's curl does not follow a redirect: a redirected ping would be a lost ping."""
    url = path.format(uuid=monitor.ping_uuid, status_key=monitor.project.status_key)
    assert Client().get(url).status_code in (200, 503)
