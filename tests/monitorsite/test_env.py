"""Settings from the environment: strict parsing, `<NAME>_FILE` secrets, and start-up that stops
with a message naming the variable (`manage.py check` started as a real process)."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from monitorsite import env

REPO = Path(__file__).resolve().parents[2]
# Variables of the test run's own environment that would leak into the process under test.
OWN_VARIABLES = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "SITE_URL", "ALLOWED_HOSTS")


def run_python(tmp_path: Path, code: str, **variables: str) -> subprocess.CompletedProcess[str]:
    base = {key: value for key, value in os.environ.items() if key not in OWN_VARIABLES}
    base.update(VIGIL_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="monitorsite.settings")
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**base, **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )


def manage(tmp_path: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    base = {key: value for key, value in os.environ.items() if key not in OWN_VARIABLES}
    base["VIGIL_VAR_DIR"] = str(tmp_path / "var")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**base, **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_of(tmp_path: Path, names: list[str], **variables: str) -> dict[str, object]:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {names!r}}}, default=str))"
    )
    result = run_python(tmp_path, code, **variables)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "ture", "DEBUG='ture' is not a boolean"),
        ("EMAIL_PORT", "abc", "EMAIL_PORT='abc' is not a whole number"),
        ("PING_BODY_LIMIT", "-1", "PING_BODY_LIMIT='-1' must be at least 0"),
        ("TRUSTED_PROXIES", "10.0.0.1, proxy.internal", "TRUSTED_PROXIES: 'proxy.internal' is not an IP"),
        ("DATABASE_URL", "postgres://vigil:s3cr3t@db:port/vigil", "DATABASE_URL is not a valid database URL"),
        ("PING_RATE_LIMIT_PER_MINUTE", "lots", "PING_RATE_LIMIT_PER_MINUTE='lots' is not a whole number"),
        ("REGISTRATION_OPEN", "maybe", "REGISTRATION_OPEN='maybe' is not a boolean"),
    ],
)
def test_a_value_that_cannot_be_parsed_stops_start_up_naming_the_variable(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    result = manage(tmp_path, "check", **{variable: value})
    assert result.returncode != 0
    assert f"Vigil cannot start: {message}" in result.stderr
    assert "Traceback" not in result.stderr
    assert "s3cr3t" not in result.stderr  # a database URL's password is never repeated


@pytest.mark.slow
def test_the_web_process_stops_on_a_bad_value_too(tmp_path: Path) -> None:
    """gunicorn imports the settings through wsgi.py: the worker fails to boot with the message."""
    result = run_python(tmp_path, "import monitorsite.wsgi", WEBHOOKS_ALLOW_PRIVATE_IPS="sometimes")
    assert result.returncode != 0
    assert "WEBHOOKS_ALLOW_PRIVATE_IPS='sometimes' is not a boolean" in result.stderr


@pytest.mark.slow
def test_every_secret_can_come_from_a_file(tmp_path: Path) -> None:
    files = {
        "SECRET_KEY": "k" * 20 + secrets.token_urlsafe(40),
        "EMAIL_HOST_PASSWORD": "smtp password",
        "EMAIL_HOST_USER": "mailer",
        "DATABASE_URL": f"sqlite:///{tmp_path}/from-file.sqlite3",
        "REDIS_URL": "redis://127.0.0.1:6390/3",
    }
    variables = {}
    for name, value in files.items():
        path = tmp_path / name.lower()
        path.write_text(value + "\n")  # a trailing newline, as editors and `echo` leave it
        variables[f"{name}_FILE"] = str(path)
    names = ["SECRET_KEY", "EMAIL_HOST_PASSWORD", "EMAIL_HOST_USER", "REDIS_URL", "DATABASES"]
    found = settings_of(tmp_path, names, **variables)
    assert found["SECRET_KEY"] == files["SECRET_KEY"]
    assert found["EMAIL_HOST_PASSWORD"] == files["EMAIL_HOST_PASSWORD"]
    assert found["EMAIL_HOST_USER"] == files["EMAIL_HOST_USER"]
    assert found["REDIS_URL"] == files["REDIS_URL"]
    assert found["DATABASES"]["default"]["NAME"] == f"{tmp_path}/from-file.sqlite3"  # type: ignore[index]


@pytest.mark.slow
def test_defaults_keep_make_run_on_plain_http_working(tmp_path: Path) -> None:
    names = [
        "DEBUG",
        "SITE_URL",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECURE_SSL_REDIRECT",
        "SECURE_PROXY_SSL_HEADER",
        "TRUSTED_PROXIES",
        "PING_RATE_LIMIT_PER_MINUTE",
        "REGISTRATION_OPEN",
    ]
    assert settings_of(tmp_path, names, PORT="8123") == {
        "DEBUG": False,
        "SITE_URL": "http://127.0.0.1:8123",
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_PROXY_SSL_HEADER": None,
        "TRUSTED_PROXIES": [],
        "PING_RATE_LIMIT_PER_MINUTE": 600,
        "REGISTRATION_OPEN": True,
    }


# --- the readers, in-process --------------------------------------------------------------


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("X", "X_FILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("raw", "value"), [("1", True), ("TRUE", True), (" yes ", True), ("off", False), ("0", False)]
)
def test_booleans(environ: pytest.MonkeyPatch, raw: str, value: bool) -> None:
    environ.setenv("X", raw)
    assert env.envbool("X", not value) is value


@pytest.mark.parametrize("raw", ["ture", "2", "enabled", "y"])
def test_a_word_that_is_no_boolean_is_an_error(environ: pytest.MonkeyPatch, raw: str) -> None:
    environ.setenv("X", raw)
    with pytest.raises(env.EnvError, match=f"X={raw!r} is not a boolean"):
        env.envbool("X", False)


def test_an_empty_value_is_the_default(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("X", "")
    assert (env.envbool("X", True), env.envint("X", 7), env.envstr("X", "d")) == (True, 7, "d")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", "is not a whole number"),
        ("1.5", "is not a whole number"),
        ("²", "is not a whole number"),
        ("-1", "must be at least 0"),
        ("70000", "must be at most 65535"),
    ],
)
def test_integers_are_whole_numbers_within_bounds(
    environ: pytest.MonkeyPatch, raw: str, message: str
) -> None:
    environ.setenv("X", raw)
    with pytest.raises(env.EnvError, match=f"^X={raw!r} {message}"):
        env.envint("X", 1, minimum=0, maximum=65535)


def test_integer_lists(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("X", "30, 120,600")
    assert env.envints("X", [1], minimum=1) == [30, 120, 600]
    environ.setenv("X", "30,,600")
    with pytest.raises(env.EnvError, match="is not a comma-separated list of integers"):
        env.envints("X", [1])


def test_networks_take_addresses_and_cidr_networks(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("X", "10.0.0.1, 172.16.0.0/12 fd00::/8")
    assert env.envnetworks("X") == (
        ipaddress.ip_network("10.0.0.1/32"),
        ipaddress.ip_network("172.16.0.0/12"),
        ipaddress.ip_network("fd00::/8"),
    )


@pytest.mark.parametrize("entry", ["10.0.0.1/8", "10.0.0.0/33", "proxy", "10.0.0.256"])
def test_a_bad_network_names_the_variable_and_the_entry(environ: pytest.MonkeyPatch, entry: str) -> None:
    environ.setenv("X", f"127.0.0.1, {entry}")
    with pytest.raises(env.EnvError, match=f"^X: {entry!r} is not an IP address or network"):
        env.envnetworks("X")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("X-Forwarded-Proto: https", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("X-Scheme:https", ("HTTP_X_SCHEME", "https")),
    ],
)
def test_the_proxy_ssl_header(environ: pytest.MonkeyPatch, raw: str, expected: tuple[str, str]) -> None:
    environ.setenv("X", raw)
    assert env.envheader("X") == expected


@pytest.mark.parametrize("raw", ["X-Forwarded-Proto", "X Forwarded: https", ": https", "X-Forwarded-Proto:"])
def test_a_bad_proxy_ssl_header_is_an_error(environ: pytest.MonkeyPatch, raw: str) -> None:
    environ.setenv("X", raw)
    with pytest.raises(env.EnvError, match="is not 'Header-Name: value'"):
        env.envheader("X")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("mysql://u:pw@h/db", "must start with postgres://"),
        ("postgres://u:pw@h:port/db", "is not a valid database URL"),
        ("postgres://u:pw@/db", "needs a host and a database name"),
        ("postgres://u:pw@h:5432", "needs a host and a database name"),
        ("nonsense", "must start with postgres://"),
    ],
)
def test_a_bad_database_url_is_described_without_its_password(
    environ: pytest.MonkeyPatch, raw: str, message: str
) -> None:
    environ.setenv("X", raw)
    with pytest.raises(env.EnvError, match=message) as raised:
        env.envdatabase("X")
    assert "pw" not in str(raised.value)


def test_a_good_database_url(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("X", "postgres://vigil:p%40ss@db.internal:6432/vigil")
    database = env.envdatabase("X")
    assert database is not None
    assert (database["HOST"], database["PORT"], database["NAME"], database["PASSWORD"]) == (
        "db.internal",
        6432,
        "vigil",
        "p@ss",
    )


@pytest.mark.parametrize("raw", ["http://x", "localhost:6379", "redis://h:port/0"])
def test_a_bad_redis_url_is_an_error(environ: pytest.MonkeyPatch, raw: str) -> None:
    environ.setenv("X", raw)
    with pytest.raises(env.EnvError, match="X is not a Redis URL"):
        env.envredis("X")


@pytest.mark.parametrize("raw", ["vigil.example.com", "ftp://x", "https://", "https://x/?a=1", "https://x y"])
def test_a_site_url_must_be_an_http_base_url(environ: pytest.MonkeyPatch, raw: str) -> None:
    environ.setenv("X", raw)
    with pytest.raises(env.EnvError, match=r"^X="):
        env.envurl("X", "http://127.0.0.1")


def test_file_variants(environ: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("  from a file \n")
    environ.setenv("X_FILE", str(secret))
    assert env.envstr("X") == "from a file"
    environ.setenv("X", "also set")
    with pytest.raises(env.EnvError, match="X and X_FILE are both set"):
        env.envstr("X")
    environ.delenv("X")
    environ.setenv("X_FILE", str(tmp_path / "missing"))
    with pytest.raises(env.EnvError, match=r"X_FILE=.*missing: cannot be read"):
        env.envstr("X")
    (tmp_path / "empty").write_text("\n")
    environ.setenv("X_FILE", str(tmp_path / "empty"))
    with pytest.raises(env.EnvError, match="the file is empty"):
        env.envstr("X")
