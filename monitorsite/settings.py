"""Vigil settings: everything comes from the environment (CONTRACT §1)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VIGIL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def envstr(name: str, default: str) -> str:
    """A setting, or the contents of the file named by NAME_FILE (docker secrets)."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name, default)


def _persistent_secret_key() -> str:
    """Generate a random key into var/ on first start so restarts keep sessions valid."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = envstr("SECRET_KEY", "") or _persistent_secret_key()
DEBUG = envbool("DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "*").split(",") if h.strip()]
SITE_URL = os.environ.get("SITE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}").rstrip("/")
CSRF_TRUSTED_ORIGINS = [SITE_URL]

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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    database: dict[str, Any] = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=600))
    database["CONN_HEALTH_CHECKS"] = True
else:
    database = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("VIGIL_SQLITE_PATH", str(VAR_DIR / "vigil.sqlite3")),
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

REDIS_URL = os.environ.get("REDIS_URL", "")
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
    broker_dir = VAR_DIR / "broker"
    for sub in ("in", "processed", "control"):
        (broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(broker_dir / "in"),
        "data_folder_out": str(broker_dir / "in"),
        "processed_folder": str(broker_dir / "processed"),
        "store_processed": False,
        # Without it kombu writes its broadcast exchange files into the working directory.
        "control_folder": str(broker_dir / "control"),
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Detection and the outbox dispatcher have their own queue and worker, so a slow webhook
# receiver holding the delivery workers never delays the next sweep.
HOUSEKEEPING_QUEUE = "housekeeping"
CELERY_TASK_ROUTES = {
    "alerts.tasks.sweep": {"queue": HOUSEKEEPING_QUEUE},
    "alerts.delivery.tasks.dispatch_notifications": {"queue": HOUSEKEEPING_QUEUE},
    "alerts.delivery.tasks.schedule_reminders": {"queue": HOUSEKEEPING_QUEUE},
}
# Expiry below the period: a backlog of sweeps is dropped, not run late one after another.
CELERY_BEAT_SCHEDULE = {
    "sweep": {"task": "alerts.tasks.sweep", "schedule": 1.0, "options": {"expires": 5}},
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
    "schedule-reminders": {
        "task": "alerts.delivery.tasks.schedule_reminders",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}

EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "vigil@localhost")

PING_BODY_LIMIT = envint("PING_BODY_LIMIT", 100_000)
WEBHOOKS_ALLOW_PRIVATE_IPS = envbool("WEBHOOKS_ALLOW_PRIVATE_IPS", False)
APPRISE_ENABLED = envbool("APPRISE_ENABLED", False)
# The sweeper is considered dead (and /healthz answers 503) past this age.
SWEEPER_MAX_AGE_SECONDS = envint("SWEEPER_MAX_AGE_SECONDS", 60)
# /healthz answers 503 when no delivery worker reported for this long, or a due notification
# has waited this long.
HEALTH_DELIVERY_MAX_AGE = envint("HEALTH_DELIVERY_MAX_AGE", 60)
HEALTH_OUTBOX_MAX_AGE = envint("HEALTH_OUTBOX_MAX_AGE", 300)
# A heartbeat gap longer than this is our own outage: deadlines inside it get it back as grace.
SWEEPER_OUTAGE_SECONDS = envint("SWEEPER_OUTAGE_SECONDS", 15)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# Web UI
# Off: /accounts/signup/ answers 404 and the sign-in page does not offer it.
REGISTRATION_OPEN = envbool("REGISTRATION_OPEN", True)
LOGOUT_REDIRECT_URL = "/accounts/login/"
# Sign-in throttling (monitors.signin_throttle): failures per username and address.
SIGNIN_MAX_FAILURES = envint("SIGNIN_MAX_FAILURES", 5)
SIGNIN_LOCKOUT_SECONDS = envint("SIGNIN_LOCKOUT_SECONDS", 15 * 60)
# Seconds between the dashboard's refreshes while its tab is visible.
DASHBOARD_REFRESH_SECONDS = envint("DASHBOARD_REFRESH_SECONDS", 5)

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
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Notifications
# A worker's claim on an outbox row; it outlives the 10 s HTTP timeout, and a row whose
# worker died mid-send is tried again once it expires.
NOTIFICATION_CLAIM_SECONDS = envint("NOTIFICATION_CLAIM_SECONDS", 30)
# Seconds before the 1st, 2nd, … retry; the last repeats until the window closes.
NOTIFICATION_RETRY_DELAYS = [
    int(seconds) for seconds in os.environ.get("NOTIFICATION_RETRY_DELAYS", "30,120,600,3600").split(",")
]
NOTIFICATION_RETRY_WINDOW_SECONDS = envint("NOTIFICATION_RETRY_WINDOW_SECONDS", 24 * 3600)
# Rows handed to workers per dispatcher tick (every second).
NOTIFICATION_DISPATCH_BATCH = envint("NOTIFICATION_DISPATCH_BATCH", 200)
