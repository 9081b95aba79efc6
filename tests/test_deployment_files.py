"""docker-compose.yml and the Dockerfile: no Docker engine here, so parse and check them."""

from __future__ import annotations

import importlib

from gunicorn.config import Config

from monitors.management.commands.runall import process_commands
from tests.deployment import REPO, compose, compose_web_gunicorn, dockerfile_cmd, option

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


SERVER_CONFIG = "python:monitorsite.gunicorn_conf"


def test_compose_docker_and_make_run_serve_with_the_same_gunicorn_settings() -> None:
    runall_web = process_commands(host="127.0.0.1", port=8000, web_workers=2)["web"]
    for command in (compose_web_gunicorn(), dockerfile_cmd(), runall_web):
        assert command[0].endswith("gunicorn"), command
        assert "monitorsite.wsgi" in command
        assert option(command, "--config") == SERVER_CONFIG, command
        # Nothing on the command line overrides the worker class or the threads.
        for overriding in ("-k", "--worker-class", "--threads"):
            assert overriding not in command, command
    assert compose_web_gunicorn() == dockerfile_cmd()


def test_the_shared_gunicorn_config_runs_threaded_workers_with_room_for_slow_clients() -> None:
    config = Config()
    module = importlib.import_module(SERVER_CONFIG.removeprefix("python:"))
    for name in ("worker_class", "workers", "threads", "timeout"):
        config.set(name, getattr(module, name))
    worker = config.worker_class
    assert worker.__module__ == "monitorsite.gunicorn_worker"
    assert "gthread" in " ".join(base.__module__ for base in worker.__mro__)
    # Ten stalled clients may all land on one worker; it must still have threads for pings.
    assert config.threads > 10
    assert 0 < config.timeout <= 60
