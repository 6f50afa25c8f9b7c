"""Settings, read from the environment (django-environ); see README "Configuration"."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# A development key is only acceptable in debug mode: refuse to start a production
# process that would sign sessions with a key anyone can read in the repository.
_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off "
            "(set DJANGO_DEBUG=true for local development)."
        )
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)

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
    "asteragents",
    "conversations",
    "kb",
    "stats",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "asteragents.urls"
WSGI_APPLICATION = "asteragents.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database -----------------------------------------------------------------------------
# Default: a SQLite file in the project directory, so a fresh clone runs with nothing else.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
_db = DATABASES["default"]
_db["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
_db["CONN_HEALTH_CHECKS"] = True
if _db["ENGINE"] == "django.db.backends.postgresql":
    _db.setdefault("OPTIONS", {})
    # Fail fast when the server is unreachable instead of hanging a worker.
    _db["OPTIONS"].setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=2))
    # A runaway query is cancelled by the server rather than holding a worker forever.
    # manage.py sets 0 (none) for commands: an import or a migration is as long as its input.
    _statement_timeout_ms = env.int("DATABASE_STATEMENT_TIMEOUT_MS", default=5000)
    # jit off: getStats queries run for milliseconds, and compiling them cost more (6 ms
    # measured at 10M messages). work_mem: their group-bys sort in memory, not on disk.
    _work_mem = env.str("DATABASE_WORK_MEM", default="32MB")
    _db["OPTIONS"].setdefault(
        "options",
        f"-c statement_timeout={_statement_timeout_ms} -c jit=off -c work_mem={_work_mem}",
    )
    # A server that vanishes mid-query (network partition) is noticed within ~15 s instead
    # of when gunicorn's worker timeout kills the worker.
    _db["OPTIONS"].setdefault("keepalives", 1)
    _db["OPTIONS"].setdefault("keepalives_idle", 5)
    _db["OPTIONS"].setdefault("keepalives_interval", 2)
    _db["OPTIONS"].setdefault("keepalives_count", 3)
    _db["OPTIONS"].setdefault("tcp_user_timeout", 15000)

# --- Cache (throttle counters) -------------------------------------------------------------
# redis://host:port/db shares counters between workers and hosts; locmem:// is per process.
CACHE_URL = env.str("CACHE_URL", default="locmem://" if DEBUG else "redis://127.0.0.1:6379/0")
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            # A cache outage must not hang requests (the throttle fails open).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
elif CACHE_URL == "locmem://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(f"CACHE_URL must be redis://… or locmem://, got {CACHE_URL!r}")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Time: UTC inside, converted at the edges ---------------------------------------------
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True
LANGUAGE_CODE = "en-us"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# Covering indexes use INCLUDE, which only PostgreSQL implements; SQLite gets the key columns.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Clerk session tokens -----------------------------------------------------------------
# Either the instance's PEM public key (networkless) or its JWKS URL.
CLERK_JWT_KEY = env.str("CLERK_JWT_KEY", default="").replace("\\n", "\n")
CLERK_JWKS_URL = env.str("CLERK_JWKS_URL", default="")
CLERK_ISSUER = env.str("CLERK_ISSUER", default="")
CLERK_AUDIENCE = env.list("CLERK_AUDIENCE", default=[])
CLERK_AUTHORIZED_PARTIES = env.list("CLERK_AUTHORIZED_PARTIES", default=[])
CLERK_CLOCK_SKEW_SECONDS = env.int("CLERK_CLOCK_SKEW_SECONDS", default=5)
CLERK_JWKS_TIMEOUT_SECONDS = env.float("CLERK_JWKS_TIMEOUT_SECONDS", default=2.0)
CLERK_JWKS_CACHE_SECONDS = env.int("CLERK_JWKS_CACHE_SECONDS", default=3600)
CLERK_JWKS_REFETCH_COOLDOWN_SECONDS = env.int("CLERK_JWKS_REFETCH_COOLDOWN_SECONDS", default=30)
# The development signing key made by `manage.py mint_token`; trusted only when DEBUG is on.
CLERK_DEV_KEY_DIR = Path(env.str("CLERK_DEV_KEY_DIR", default=str(BASE_DIR / "var" / "dev-keys")))

# --- REST framework -----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["asteragents.authentication.ClerkSessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "asteragents.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["stats.throttling.CallerRateThrottle"],
    # Per user: generous, so a dashboard loading many panels at once never sees a 429.
    "DEFAULT_THROTTLE_RATES": {"caller": env.str("STATS_THROTTLE_RATE", default="600/min")},
    # The principal is a Clerk session, not a Django user: no auth.User row is ever needed.
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Aster Agents usage statistics",
    "DESCRIPTION": "Usage figures of an organization's AI agents, per ../shared/contract/STATS.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
