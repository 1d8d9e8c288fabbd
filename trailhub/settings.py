"""Trailhub settings, read from the environment.

With nothing set, the site runs embedded: SQLite (WAL) and objects under
``var/``, the in-memory channel layer, eager Celery and a local-memory cache.
``DATABASE_URL``, ``REDIS_URL`` and the ``S3_*`` variables switch each concern
to its production engine. docs/configuration.md lists every variable.
"""

import ipaddress
import os
import secrets
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.core import RESERVED_ATTRS

from portal import scopes as _scopes
from trailhub.env import env, envbool, envchoice, envint, envlist, envrate, required

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env("TRAILHUB_VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = envbool("DEBUG", False)
DATABASE_URL = env("DATABASE_URL")
REDIS_URL = env("REDIS_URL")
EMBEDDED = not DATABASE_URL


def _secret_key() -> str:
    """The signing key: from SECRET_KEY, or made once per machine when embedded."""
    key = env("SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
        return key
    if not EMBEDDED:
        required("SECRET_KEY", "when DATABASE_URL is set (a production deployment)")
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
# Set when TLS ends at a proxy in front of the ASGI workers.
if envbool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    # Sent on https responses only (SecurityMiddleware); browsers then refuse http.
    SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", 365 * 24 * 3600, minimum=0)
# Scripts, styles, images and sockets from this origin only; no inline script
# anywhere (the pages, static/js, the sidecar's Swagger UI at /api/docs/).
# Inline style attributes stay allowed: a progress bar's width is one.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

INSTALLED_APPS = [
    # Django's admin, on the site of portal/admin_site.py (ADMIN_REQUIRE_2FA).
    "portal.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    # Two-factor login for the web (portal/two_factor.py): TOTP devices, recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Third-party apps acting for people: OAuth 2.0 (portal/oauth.py).
    "oauth2_provider",
    "trailhub",
    "portal",
    "devices",
    "revisions",
    "packs",
    "community",
    "webhooks",
    "live",
]

MIDDLEWARE = [
    # First, so that every response counts, the other middleware's refusals too.
    "trailhub.metrics.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
    "portal.middleware.NulInURLMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, which reads a form's body: sizes it, and reads a chunked one.
    "portal.bodies.BodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed a second factor.
    "django_otp.middleware.OTPMiddleware",
    # The audit log's actor (portal/audit.py): who, how logged in, from which address.
    "portal.audit.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "trailhub.urls"
WSGI_APPLICATION = "trailhub.wsgi.application"
ASGI_APPLICATION = "trailhub.asgi.application"
# API paths answer with and without a trailing slash themselves; a redirect
# would lose a POST body.
APPEND_SLASH = False

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
if DATABASE_URL:
    # Persistent connections suit WSGI workers (one thread each). Under ASGI every
    # concurrent HTTP request has a thread of its own and a connection kept per
    # thread piles up: serve HTTP with ASGI only with DATABASE_CONN_MAX_AGE=0.
    conn_max_age = envint("DATABASE_CONN_MAX_AGE", 60, minimum=0)
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=conn_max_age)}
    except Exception as exc:  # dj_database_url raises several types
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
    if DATABASES["default"]["ENGINE"] not in (
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    ):
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// or sqlite:// URL")
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "trailhub.sqlite3"),
            "OPTIONS": {
                # WAL lets readers run while a writer commits; IMMEDIATE takes the
                # write lock at BEGIN so concurrent posters queue instead of failing.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # Tests use a file as well (one per process, in the temporary folder), not
            # the shared-cache memory database: its table locks fail concurrent writers
            # at once instead of queueing them as a file database does.
            "TEST": {"NAME": str(Path(tempfile.gettempdir()) / f"trailhub-test-{os.getpid()}.db")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis-backed services: channel layer, Celery, cache ------------------
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "trailhub.layers.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # At most this many connections per worker; a burst of sockets
                        # joining their groups waits for one (trailhub/layers.py).
                        "max_connections": envint("CHANNEL_LAYER_CONNECTIONS", 50, minimum=2),
                        "timeout": 20,
                        # A consumer waits for its next message with a 5 s BZPOPMIN; redis-py 8's
                        # own 5 s read timeout raced it and killed idle sockets every 5 s
                        # (channels_redis#422). No read timeout, as redis-py 7 had: the
                        # server ends the wait itself.
                        "socket_timeout": None,
                    }
                ],
                "prefix": env("REDIS_PREFIX", "trailhub"),
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "trailhub.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("REDIS_PREFIX", "trailhub"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "trailhub.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
# Without a broker, tasks run inline (still after the transaction commits).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "trailhub"
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
# With a Redis broker, a message a killed worker held goes back to the queue
# after this many seconds: longer than any task runs, short enough that the
# work is redone soon (kombu's default is an hour).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 600, minimum=30)
}
PACK_ROLLOUT_SWEEP_INTERVAL = envint("PACK_ROLLOUT_SWEEP_INTERVAL", 30, minimum=5)
# Each Celery worker writes a heartbeat to the cache this often; with a broker
# and no heartbeat younger than WORKER_HEARTBEAT_TIMEOUT, the dashboard, the
# pack pages, the admin, /readyz and `check --deploy` say so (trailhub/workers.py).
WORKER_HEARTBEAT_INTERVAL = envint("WORKER_HEARTBEAT_INTERVAL", 10, minimum=1)
WORKER_HEARTBEAT_TIMEOUT = envint("WORKER_HEARTBEAT_TIMEOUT", 60, minimum=2)
if WORKER_HEARTBEAT_TIMEOUT <= WORKER_HEARTBEAT_INTERVAL:
    raise ImproperlyConfigured(
        "WORKER_HEARTBEAT_TIMEOUT must be longer than WORKER_HEARTBEAT_INTERVAL"
    )
# Longest each /readyz check may take (trailhub/health.py).
READYZ_CHECK_TIMEOUT = envint("READYZ_CHECK_TIMEOUT", 2, minimum=1)

# --- Objects storage ------------------------------------------------------
OBJECTS_BACKEND = envchoice(
    "OBJECTS_BACKEND", "s3" if env("S3_BUCKET") else "filesystem", ("filesystem", "s3")
)
OBJECTS_DIR = Path(env("OBJECTS_DIR", str(VAR_DIR / "objects"))).resolve()
OBJECTS_URL_TTL = envint("OBJECTS_URL_TTL", 3600, minimum=10)
OBJECTS_MAX_BYTES = envint("OBJECTS_MAX_BYTES", 16 * 1024**3, minimum=1)
# Unreferenced objects (and unfinished uploads) older than this are deleted;
# it must outlast a signed URL, so no upload can still be running on a grant.
OBJECTS_GC_GRACE = envint("OBJECTS_GC_GRACE", 24 * 3600, minimum=60)
if OBJECTS_GC_GRACE <= OBJECTS_URL_TTL:
    raise ImproperlyConfigured("OBJECTS_GC_GRACE must be longer than OBJECTS_URL_TTL")
OBJECTS_GC_INTERVAL = envint("OBJECTS_GC_INTERVAL", 3600, minimum=60)
if OBJECTS_BACKEND == "s3":
    _objects_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": required("S3_BUCKET", "when OBJECTS_BACKEND=s3"),
            "endpoint_url": env("S3_ENDPOINT_URL") or None,
            "access_key": env("S3_ACCESS_KEY_ID") or None,
            "secret_key": env("S3_SECRET_ACCESS_KEY") or None,
            "region_name": env("S3_REGION", "us-east-1"),
            "addressing_style": envchoice("S3_ADDRESSING_STYLE", "path", ("path", "virtual")),
            "signature_version": "s3v4",
            "querystring_expire": OBJECTS_URL_TTL,
            "file_overwrite": True,
            "default_acl": None,
        },
    }
else:
    _objects_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": OBJECTS_DIR},
    }
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "media"},
    },
    "objects": _objects_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Static files ---------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve static files straight from STATICFILES_DIRS, so `make run` needs no
# collectstatic; a deployment runs collectstatic and sets WHITENOISE_USE_FINDERS=0.
WHITENOISE_USE_FINDERS = envbool("WHITENOISE_USE_FINDERS", True)
if WHITENOISE_USE_FINDERS:
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# --- Accounts -------------------------------------------------------------
AUTH_USER_MODEL = "portal.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Two-factor login (docs/security.md): the admin lets in only sessions that passed a
# second factor; staff without an authenticator are sent to set one up.
ADMIN_REQUIRE_2FA = envbool("ADMIN_REQUIRE_2FA", False)
# The name authenticator apps show next to the account (otpauth:// issuer).
OTP_TOTP_ISSUER = "Trailhub"
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "trailhub@localhost")

# --- API ------------------------------------------------------------------
JWT_TTL = envint("JWT_TTL", 3600, minimum=60)
JWT_REFRESH_WINDOW = envint("JWT_REFRESH_WINDOW", 7 * 24 * 3600, minimum=60)
# Third-party apps (portal/oauth.py, docs/api.md): the authorization-code grant with PKCE
# (S256) only, the scopes of scoped tokens, short-lived access tokens and refresh tokens
# that turn over on use, kept hashed.
OAUTH2_PROVIDER = {
    "SCOPES": dict(_scopes.DESCRIPTIONS),
    "DEFAULT_SCOPES": list(_scopes.DEFAULT),
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": envint("OAUTH_ACCESS_TOKEN_TTL", 3600, minimum=60),
    "REFRESH_TOKEN_EXPIRE_SECONDS": envint("OAUTH_REFRESH_TOKEN_TTL", 30 * 24 * 3600, minimum=3600),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ACCESS_TOKEN_GENERATOR": "portal.oauth.new_access_token",
    "REFRESH_TOKEN_GENERATOR": "portal.oauth.new_refresh_token",
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
}
# Proxies in front of the workers that append the address they saw to
# X-Forwarded-For. 0: the connection's address (REMOTE_ADDR) is the client's,
# and the header, which anyone can send, is ignored (portal/limits.py).
TRUSTED_PROXIES = envint("TRUSTED_PROXIES", 0, minimum=0)
DEVICE_ONLINE_WINDOW = envint("DEVICE_ONLINE_WINDOW", 120, minimum=5)
PRESENCE_WRITE_INTERVAL = envint("PRESENCE_WRITE_INTERVAL", 30, minimum=1)
PRESENCE_FLUSH_INTERVAL = envint("PRESENCE_FLUSH_INTERVAL", 2, minimum=0)
POLL_MEMO_SECONDS = envint("POLL_MEMO_SECONDS", 300, minimum=0)
API_MAX_BODY_BYTES = envint("API_MAX_BODY_BYTES", 20 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# Bodies of the endpoints that need little (portal.parsers.BODY_LIMITS): a
# login or sign-up is a few fields.
AUTH_MAX_BODY_BYTES = 16 * 1024

# Devices: metadata and log limits, claim brute-force guard (docs/devices.md).
DEVICE_META_MAX_BYTES = envint("DEVICE_META_MAX_BYTES", 64 * 1024, minimum=2)
# A meta body (user-, device-, step meta, a registration) may be indented.
META_MAX_BODY_BYTES = 2 * DEVICE_META_MAX_BYTES + 16 * 1024
DEVICE_LOG_RETENTION = envint("DEVICE_LOG_RETENTION", 10_000, minimum=1)
DEVICE_LOG_BATCH_MAX_ENTRIES = envint("DEVICE_LOG_BATCH_MAX_ENTRIES", 1000, minimum=1)
DEVICE_LOG_BATCH_MAX_BYTES = envint("DEVICE_LOG_BATCH_MAX_BYTES", 1024 * 1024, minimum=1024)
DEVICE_LOG_SWEEP_INTERVAL = envint("DEVICE_LOG_SWEEP_INTERVAL", 3600, minimum=60)
CLAIM_MAX_FAILURES = envint("CLAIM_MAX_FAILURES", 10, minimum=1)
# Webhooks (docs/api.md, "Webhooks"): private, loopback, link-local, multicast and
# reserved targets are refused unless this is set (a hub on a LAN; the tests).
WEBHOOK_ALLOW_PRIVATE_TARGETS = envbool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
WEBHOOK_SWEEP_INTERVAL = envint("WEBHOOK_SWEEP_INTERVAL", 60, minimum=5)
# The audit log (docs/operations.md): entries older than this are deleted daily.
AUDIT_RETENTION_DAYS = envint("AUDIT_RETENTION_DAYS", 365, minimum=1)
# Every periodic task, in one place. Each also sweeps up the work that a lost task
# message left undone (docs/architecture.md, "Tasks and their sweeps").
CELERY_BEAT_SCHEDULE = {
    "devices.trim-all-logs": {
        "task": "devices.tasks.trim_all_logs",
        "schedule": DEVICE_LOG_SWEEP_INTERVAL,
    },
    "revisions.collect-garbage": {
        "task": "revisions.tasks.collect_garbage",
        "schedule": OBJECTS_GC_INTERVAL,
    },
    "packs.sweep-rollouts": {
        "task": "packs.tasks.sweep_rollouts",
        "schedule": PACK_ROLLOUT_SWEEP_INTERVAL,
    },
    "webhooks.sweep": {
        "task": "webhooks.tasks.sweep_webhooks",
        "schedule": WEBHOOK_SWEEP_INTERVAL,
    },
    "portal.prune-audit-log": {
        "task": "portal.tasks.prune_audit_log",
        "schedule": 24 * 3600,
    },
    "portal.clear-expired-oauth": {
        "task": "portal.tasks.clear_expired_oauth",
        "schedule": 3600,
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.auth.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSONParser, refusing NUL characters (PostgreSQL stores none).
    "DEFAULT_PARSER_CLASSES": ["portal.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # DRF's throttles (and portal/limits.py) read the client address through it.
    "NUM_PROXIES": TRUSTED_PROXIES,
    # Failed logins are counted per client address and account, per address
    # (people only) and per account (docs/security.md); the rest per address.
    "DEFAULT_THROTTLE_RATES": {
        "login": envrate("LOGIN_THROTTLE_RATE", "10/min"),
        "login-address": envrate("LOGIN_ADDRESS_THROTTLE_RATE", "50/hour"),
        "login-account": envrate("LOGIN_ACCOUNT_THROTTLE_RATE", "100/hour"),
        "signup": envrate("SIGNUP_THROTTLE_RATE", "20/hour"),
        "password-reset": envrate("PASSWORD_RESET_THROTTLE_RATE", "5/hour"),
        "device-register": envrate("DEVICE_REGISTER_THROTTLE_RATE", "1000/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Trailhub API",
    "DESCRIPTION": "The Pantahub-compatible device, trail and object API of Trailhub.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets that share a field name get a name of their own, not a hash.
    "ENUM_NAME_OVERRIDES": {"ProposalStatusEnum": "community.models.Proposal.Status"},
    "PREPROCESSING_HOOKS": ["portal.schema.slashless_paths_only"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",  # drf-spectacular's default
        "portal.schema.document_refusals",
    ],
    # Swagger UI's assets come from drf-spectacular-sidecar, served locally (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Metrics --------------------------------------------------------------
# GET /metrics is off (a 404) unless one of these is set; with both, a scrape
# needs both (trailhub/metrics/views.py, docs/operations.md).
METRICS_TOKEN = env("METRICS_TOKEN")
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 16 characters long")
try:
    METRICS_ALLOW = [ipaddress.ip_network(item, strict=False) for item in envlist("METRICS_ALLOW")]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOW must list addresses or networks: {exc}") from None

# --- Misc -----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# One handler for Django's, uvicorn's and Celery's loggers (trailhub/celery.py hands
# Celery this dict): quiet at INFO, each routine request at DEBUG (trailhub/logs.py);
# LOG_FORMAT=json writes one JSON object per line for a log collector.
LOG_LEVEL = envchoice(
    "LOG_LEVEL", "INFO", ("debug", "info", "warning", "error", "critical")
).upper()
LOG_FORMAT = envchoice("LOG_FORMAT", "text", ("text", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "timestamp": True,
            # Django passes the request object along; its path is in the message.
            "reserved_attrs": [*RESERVED_ATTRS, "request"],
        },
    },
    "filters": {
        "access": {"()": "trailhub.logs.AccessLog"},
        "client-errors": {"()": "trailhub.logs.ClientErrors"},
        "websocket-chatter": {"()": "trailhub.logs.WebSocketChatter"},
        "one-line": {"()": "trailhub.logs.OneLine"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "level": LOG_LEVEL},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # uvicorn's own handlers go: its records reach the console above, in its format.
        "uvicorn": {"handlers": [], "propagate": True},
        "uvicorn.access": {"handlers": [], "propagate": True, "filters": ["access"]},
        "uvicorn.error": {"filters": ["websocket-chatter"]},
        "django.request": {"filters": ["client-errors"]},
        "django.security.DisallowedHost": {"filters": ["one-line"]},
    },
}
