"""docker-compose.yml and the Dockerfile: no Docker engine here, so parse and check them."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
CONTRACT_ENV = {
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "DEFAULT_FROM_EMAIL",
    "PING_BODY_LIMIT",
    "WEBHOOKS_ALLOW_PRIVATE_IPS",
}


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_runs_web_worker_beat_postgres_and_redis() -> None:
    services = compose()["services"]
    assert set(services) == {"web", "worker", "housekeeping", "beat", "postgres", "redis"}
    assert "gunicorn monitorsite.wsgi" in services["web"]["command"]
    assert "worker" in services["worker"]["command"]
    assert "-Q housekeeping" in services["housekeeping"]["command"]
    assert "beat" in services["beat"]["command"]


def test_app_services_share_the_contract_env_names() -> None:
    services = compose()["services"]
    for name in ("web", "worker", "housekeeping", "beat"):
        env = services[name]["environment"]
        assert set(env) == CONTRACT_ENV, name
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")


def test_dockerfile_installs_the_project_and_the_client() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM python:3.11")
    assert "pip install --no-cache-dir . ./client" in dockerfile
