"""Vigil settings: everything comes from the environment (CONTRACT §1)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from celery.schedules import crontab

from monitorsite.env import (
    envbool,
    envchoice,
    envdatabase,
    envheader,
    envint,
    envints,
    envlist,
    envnetworks,
    envredis,
    envstr,
    envurl,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VIGIL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _persistent_secret_key() -> str:
    """Generate a random key into var/ on first start so restarts keep sessions valid."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = envstr("SECRET_KEY") or _persistent_secret_key()
DEBUG = envbool("DEBUG", False)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["*"])
PORT = envint("PORT", 8000, minimum=1, maximum=65535)
SITE_URL = envurl("SITE_URL", f"http://127.0.0.1:{PORT}")
CSRF_TRUSTED_ORIGINS = [SITE_URL]

# HTTPS. Defaults keep `make run` on http://127.0.0.1 working: cookies are secure-only when
# SITE_URL is https; HSTS, the https redirect and the proxy header are opt-in, because each
# breaks a site that is not (yet) served over https end to end.
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", SITE_URL.startswith("https://"))
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", SITE_URL.startswith("https://"))
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
# Cron jobs, uptime checkers and load-balancer probes do not follow redirects: a redirected
# ping would be a lost ping.
SECURE_REDIRECT_EXEMPT = [r"^ping/", r"^status/", r"^badge/", r"^metrics/", r"^healthz$"]
# e.g. "X-Forwarded-Proto: https", set only behind a proxy that always sets or strips it.
SECURE_PROXY_SSL_HEADER = envheader("SECURE_PROXY_SSL_HEADER")
# Proxies whose X-Forwarded-For is believed (monitorsite.client_address); default none.
TRUSTED_PROXIES = envnetworks("TRUSTED_PROXIES")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "monitors",
    "pings",
    "alerts",
    "triggers",
]

MIDDLEWARE = [
    "monitorsite.proxy_scheme.ProxySchemeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "monitors.actors.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "monitorsite.database_outage.DatabaseUnavailableMiddleware",
    "monitorsite.unreadable_body.UnreadableBodyMiddleware",
]

ROOT_URLCONF = "monitorsite.urls"
WSGI_APPLICATION = "monitorsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "monitors.context_processors.project_access",
            ],
        },
    },
]

parsed_database = envdatabase("DATABASE_URL")
if parsed_database is not None:
    database: dict[str, Any] = parsed_database
    # No health check: it is a `SELECT 1` round trip before every request's first query, as
    # much as a whole ping. A connection the server dropped fails one request (503 with
    # Retry-After, monitorsite.database_outage) and is then closed by Django and replaced.
    database["CONN_HEALTH_CHECKS"] = False
    # The ping path's statements (pings.fastpath) are prepared on first use, once per
    # connection; every other query binds on the client and is never prepared. Behind a
    # pooler in transaction mode this needs PgBouncer 1.21+ with max_prepared_statements.
    database.setdefault("OPTIONS", {}).setdefault("prepare_threshold", 0)
else:
    database = {
        "ENGINE": "monitorsite.sqlite_backend",
        "NAME": envstr("VIGIL_SQLITE_PATH", str(VAR_DIR / "vigil.sqlite3")),
        "OPTIONS": {
            # IMMEDIATE takes the write lock at BEGIN, so web, worker and beat queue on
            # the busy timeout instead of failing a lock upgrade with "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                # FULL: a ping answered OK survives a power loss, not just a crash.
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=20000;"
            ),
        },
        # Kept open between requests: opening a file connection, its PRAGMAs and the WAL
        # checkpoint on close cost several times more than a ping's own work.
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
    }
DATABASES = {"default": database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = envredis("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {"visibility_timeout": 3600}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    # Its own SQLite file, apart from the application's (monitorsite/sqlite_broker.py).
    CELERY_BROKER_URL = f"sqlite-broker://{(VAR_DIR / 'broker.sqlite3').resolve()}"
    CELERY_BROKER_TRANSPORT = "monitorsite.sqlite_broker:Transport"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Detection and the outbox dispatcher have their own queue and worker, so a slow webhook
# receiver holding the delivery workers never delays the next sweep.
HOUSEKEEPING_QUEUE = "housekeeping"
CELERY_TASK_ROUTES = {
    "alerts.tasks.sweep": {"queue": HOUSEKEEPING_QUEUE},
    "alerts.tasks.watch_deadlines": {"queue": HOUSEKEEPING_QUEUE},
    "alerts.tasks.sweep_backlog": {"queue": HOUSEKEEPING_QUEUE},
    "alerts.delivery.tasks.dispatch_notifications": {"queue": HOUSEKEEPING_QUEUE},
    "alerts.delivery.tasks.schedule_reminders": {"queue": HOUSEKEEPING_QUEUE},
    "triggers.tasks.dispatch_run_requests": {"queue": HOUSEKEEPING_QUEUE},
    "triggers.tasks.expire_run_requests": {"queue": HOUSEKEEPING_QUEUE},
}
# Retention (pings.retention, alerts.retention) runs on the delivery queue, not housekeeping:
# a pass of deletes must never hold up the next sweep.
RETENTION_EVERY_SECONDS = 180.0
# Expiry below the period: a backlog of sweeps is dropped, not run late one after another.
CELERY_BEAT_SCHEDULE = {
    # Each run watches the deadlines for one second (alerts.deadline_watch).
    "watch-deadlines": {"task": "alerts.tasks.watch_deadlines", "schedule": 1.0, "options": {"expires": 5}},
    "dispatch-notifications": {
        "task": "alerts.delivery.tasks.dispatch_notifications",
        "schedule": 1.0,
        "options": {"expires": 5},
    },
    # Not routed to housekeeping: it proves a delivery worker is alive (see /healthz).
    "delivery-heartbeat": {
        "task": "alerts.delivery.tasks.delivery_heartbeat",
        "schedule": 5.0,
        "options": {"expires": 30},
    },
    "audit-prune": {"task": "monitors.tasks.audit_prune", "schedule": 3600.0, "options": {"expires": 3000}},
    "schedule-reminders": {
        "task": "alerts.delivery.tasks.schedule_reminders",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Run now: URL triggers are posted through the same kind of outbox as notifications.
    "dispatch-run-requests": {
        "task": "triggers.tasks.dispatch_run_requests",
        "schedule": 1.0,
        "options": {"expires": 5},
    },
    "expire-run-requests": {
        "task": "triggers.tasks.expire_run_requests",
        "schedule": 10.0,
        "options": {"expires": 9},
    },
    "prune-recent-pings": {
        "task": "pings.tasks.prune_recent_pings",
        "schedule": RETENTION_EVERY_SECONDS,
        "options": {"expires": RETENTION_EVERY_SECONDS - 10},
    },
    "prune-deliveries": {
        "task": "alerts.tasks.prune_deliveries",
        "schedule": RETENTION_EVERY_SECONDS,
        "options": {"expires": RETENTION_EVERY_SECONDS - 10},
    },
    # A crontab, not an interval: it runs daily even when beat restarts more often than that.
    "prune-pings-and-runs": {
        "task": "pings.tasks.prune_pings_and_runs",
        "schedule": crontab(hour=3, minute=17),
        "options": {"expires": 3600},
    },
}

EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "vigil@localhost")

PING_BODY_LIMIT = envint("PING_BODY_LIMIT", 100_000, minimum=0)
# Pings per monitor per minute; 0 turns the limit off.
PING_RATE_LIMIT_PER_MINUTE = envint("PING_RATE_LIMIT_PER_MINUTE", 600, minimum=0)
# Retention: the newest pings kept per monitor; runs and deliveries kept this many days (a
# monitor's newest runs are kept whatever their age: pings.retention.RUNS_ALWAYS_KEPT).
PING_RETENTION_COUNT = envint("PING_RETENTION_COUNT", 1000, minimum=1)
RUN_RETENTION_DAYS = envint("RUN_RETENTION_DAYS", 90, minimum=1)
DELIVERY_RETENTION_DAYS = envint("DELIVERY_RETENTION_DAYS", 90, minimum=1)
WEBHOOKS_ALLOW_PRIVATE_IPS = envbool("WEBHOOKS_ALLOW_PRIVATE_IPS", False)
APPRISE_ENABLED = envbool("APPRISE_ENABLED", False)
# The sweeper is considered dead (and /healthz answers 503) past this age.
SWEEPER_MAX_AGE_SECONDS = envint("SWEEPER_MAX_AGE_SECONDS", 60, minimum=1)
# /healthz answers 503 when no delivery worker reported for this long, or a due notification
# has waited this long.
HEALTH_DELIVERY_MAX_AGE = envint("HEALTH_DELIVERY_MAX_AGE", 60, minimum=1)
HEALTH_OUTBOX_MAX_AGE = envint("HEALTH_OUTBOX_MAX_AGE", 300, minimum=1)
# A heartbeat gap longer than this is our own outage: deadlines inside it get it back as grace.
SWEEPER_OUTAGE_SECONDS = envint("SWEEPER_OUTAGE_SECONDS", 15, minimum=1)
# Three incidents opening within this many seconds make a monitor flapping: its problem and
# recovery notifications are held until it has been stable as long, then summarised once.
FLAP_WINDOW_SECONDS = envint("FLAP_WINDOW_SECONDS", 900, minimum=1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# Web UI
# Off: /accounts/signup/ answers 404 and the sign-in page does not offer it.
REGISTRATION_OPEN = envbool("REGISTRATION_OPEN", True)
# Audit log entries older than this are deleted (hourly, by beat).
AUDIT_RETENTION_DAYS = envint("AUDIT_RETENTION_DAYS", 365, minimum=1)
LOGOUT_REDIRECT_URL = "/accounts/login/"
# Sign-in throttling (monitors.signin_throttle): failures per username and address.
SIGNIN_MAX_FAILURES = envint("SIGNIN_MAX_FAILURES", 5, minimum=1)
SIGNIN_LOCKOUT_SECONDS = envint("SIGNIN_LOCKOUT_SECONDS", 15 * 60, minimum=0)
# Seconds between the dashboard's refreshes while its tab is visible.
DASHBOARD_REFRESH_SECONDS = envint("DASHBOARD_REFRESH_SECONDS", 5, minimum=1)
# Run now: a request that no run has started from within this many seconds ends as expired.
RUN_NOW_EXPIRY_SECONDS = envint("RUN_NOW_EXPIRY_SECONDS", 600, minimum=1)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["monitors.api_auth.BearerKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["monitors.api_auth.HasProjectKey"],
    "DEFAULT_PARSER_CLASSES": [
        "monitorsite.api_formats.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["monitorsite.api_formats.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Vigil API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `kind`; name each choice set after what it is.
    "ENUM_NAME_OVERRIDES": {
        "ProblemKindEnum": "alerts.models.ProblemKind",
        "ChannelKindEnum": "alerts.models.ChannelKind",
        "PingKindEnum": "pings.models.PingKind",
        "RunStatusEnum": "pings.models.RunStatus",
        "MaintenanceKindEnum": ["one_off", "recurring"],
        "RunRequestStatusEnum": "triggers.models.RunRequestStatus",
        "TriggerKindEnum": "triggers.models.TriggerKind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "monitors.api_scheme.add_error_responses",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {
        "handlers": ["console"],
        "level": envchoice("LOG_LEVEL", "WARNING", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]),
    },
}

# Notifications
# A worker's claim on an outbox row; it outlives the 10 s HTTP timeout, and a row whose
# worker died mid-send is tried again once it expires.
NOTIFICATION_CLAIM_SECONDS = envint("NOTIFICATION_CLAIM_SECONDS", 30, minimum=1)
# Seconds before the 1st, 2nd, … retry; the last repeats until the window closes.
NOTIFICATION_RETRY_DELAYS = envints("NOTIFICATION_RETRY_DELAYS", [30, 120, 600, 3600], minimum=1)
NOTIFICATION_RETRY_WINDOW_SECONDS = envint("NOTIFICATION_RETRY_WINDOW_SECONDS", 24 * 3600, minimum=0)
# Rows handed to workers per dispatcher tick (every second).
NOTIFICATION_DISPATCH_BATCH = envint("NOTIFICATION_DISPATCH_BATCH", 200, minimum=1)
# Rows a delivery worker process sends at once (threads, each waiting on its receiver).
DELIVERY_THREADS = envint("DELIVERY_THREADS", 12, minimum=1)
# Housekeeping workers the deadline watcher asks to join in when more are due than a batch.
SWEEP_HELPERS = envint("SWEEP_HELPERS", 2, minimum=0)
