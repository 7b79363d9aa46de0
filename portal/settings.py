"""Settings for the district practice-sharing portal.

Every deploy-specific value comes from the environment (see the README's
configuration table); a bad value stops start-up with a message naming it.
"""

import zoneinfo
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from portal.lib.env import env_bool, env_choice, env_int, env_list, env_str, env_url
from portal.sso import config as sso_config

# Lets Django's generic classes be subscripted at run time (QuerySet[Practice], ModelAdmin[School]...),
# as the type checker reads them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off.")
    # Debug only: production refuses to start without DJANGO_SECRET_KEY (above).
    SECRET_KEY = "development-only-key-never-used-in-production-0123456789abcdefghij"  # noqa: S105  # nosec B105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Absolute address of the portal, for links in e-mails sent outside a request
# (roster invitations, reminders).
PORTAL_BASE_URL = env_url("PORTAL_BASE_URL", default="http://127.0.0.1:8000", schemes=("http", "https")).rstrip("/")
PORTAL_NAME = env_str("PORTAL_NAME", default="District Practice Exchange")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "django_filters",
    "csp",
    "taggit",
    "axes",
    "reversion",
    # Jobs: Django's Tasks API (backport) and its database-backed queue (see TASKS below).
    "django_tasks",
    "django_tasks_db",
    # Single sign-on (portal/sso): allauth's accounts and the provider presets.
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.microsoft",
    "allauth.socialaccount.providers.clever",
    "allauth.socialaccount.providers.openid_connect",
    "portal",
    "practices",
    "showcases",
    "surveys",
    "insights",
]

MIDDLEWARE = [
    # Outermost, so that every answer carries the security headers: static files (WhiteNoise
    # answers without calling the middleware below it) and the error pages of the middleware
    # below (a bad host, a malformed body, the database gone while saving the session).
    "portal.middleware.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.SlidingSessionMiddleware",
    "portal.backends.KnownBrowserMiddleware",
    # Single sign-on: allauth's request context (portal/sso).
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Before anything reads a parameter, a form field or the session cookie into a query.
    "portal.middleware.RejectNullCharactersMiddleware",
    "portal.middleware.AdminParametersMiddleware",
    # Axes must come last so it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

# Form widgets render through the project's templates (templates/django/forms/ overrides some).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.context_processors.portal",
                "portal.notifications.context.unread_notifications",
                "insights.navigation.navigation",
                "insights.context_processors.hosting",
            ],
        },
    },
]

_database_url = env_str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    DATABASES = {
        "default": dj_database_url.parse(_database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))
    }
except ValueError as error:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database address Django understands: {error}") from None
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Fail fast when the database is unreachable, so pages answer 503 quickly.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DB_CONNECT_TIMEOUT", 3, minimum=1, maximum=3600
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "portal.backends.UsernameOrEmailBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_SECONDS", 3 * 24 * 3600, minimum=600)

# Sessions end after a period of inactivity: requests push the expiry on
# (portal.middleware.SlidingSessionMiddleware).
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 2 * 3600, minimum=60, maximum=366 * 24 * 3600)
# Sessions are kept in the database; SESSION_ENGINE below may add the shared cache in front.

# The address of the browser: behind load balancers or reverse proxies of our own, the
# number of them, each of which appends to X-Forwarded-For (0: the connection's address).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# Failed sign-ins are counted per account, however it was named and wherever from. Past
# the limit each next attempt waits, doubling from two seconds up to the longest pause;
# the right password after the wait works. Browsers that signed in to the account before
# keep a count of their own, so a stranger's guesses cannot keep the owner out. See
# portal.backends for the details; django-axes provides the wiring and the admin listing.
AXES_HANDLER = "portal.backends.SignInThrottle"
AXES_USERNAME_CALLABLE = "portal.backends.sign_in_key"
AXES_CLIENT_IP_CALLABLE = "portal.backends.client_ip"
AXES_LOCKOUT_CALLABLE = "portal.backends.sign_in_paused"
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes warns that counting without the address lets an attacker dodge the count by changing
# cookies or user agent: here the count is the account's whatever the cookies and agent (a
# browser's own count needs a cookie signed for that very account), and adding the address
# would hand each new address a fresh count.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_LONGEST_PAUSE = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1, maximum=366 * 24 * 60))
# How long failures are remembered after the last one.
AXES_COOLOFF_TIME = max(timedelta(days=1), 2 * LOGIN_LONGEST_PAUSE)
AXES_RESET_ON_SUCCESS = True
# An attempt refused for coming too early is not counted, so it does not lengthen the wait.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_FORM_FIELD = "username"
# Log who and from where (never the password), so failed sign-ins can be investigated.
AXES_SENSITIVE_PARAMETERS: list[str] = []

# Requests for a password-reset e-mail, per hour: for one address typed into the form
# (over the limit nothing more is sent, silently) and from one network address.
PASSWORD_RESET_LIMIT_PER_EMAIL = env_int("PASSWORD_RESET_LIMIT_PER_EMAIL", 3, minimum=1)
PASSWORD_RESET_LIMIT_PER_ADDRESS = env_int("PASSWORD_RESET_LIMIT_PER_ADDRESS", 30, minimum=1)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", default="America/Chicago")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"TIME_ZONE must be an IANA time zone such as America/Chicago; got {TIME_ZONE!r}."
    ) from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Uploads are never served from a public URL: every download goes through a view
# that checks the reader may see the practice.
PRACTICE_ATTACHMENT_MAX_BYTES = env_int("PRACTICE_ATTACHMENT_MAX_MB", 10, minimum=1, maximum=2047) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 5_242_880
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
# --- File storage (the README's "File storage") ---------------------------------------------
# Uploads go through Django's STORAGES: local disk under MEDIA_ROOT, or an S3-compatible bucket
# (AWS S3, MinIO, Ceph...) through django-storages when STORAGE_S3_BUCKET is set, so that every
# app server reads and writes the same files. Objects stay private (no ACL of their own, so the
# bucket's, which must not be public): a download is streamed by the view after its access
# check, never handed out as the bucket's address.
_s3_bucket = env_str("STORAGE_S3_BUCKET")
if _s3_bucket is None:
    _uploads_storage: dict[str, Any] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    # Empty: AWS S3 itself, found from the region.
    _s3_endpoint = env_url("STORAGE_S3_ENDPOINT_URL", default="", schemes=("http", "https")) or None
    _s3_key_id = env_str("STORAGE_S3_ACCESS_KEY_ID")
    _s3_secret = env_str("STORAGE_S3_SECRET_ACCESS_KEY")
    if (_s3_key_id is None) != (_s3_secret is None):
        raise ImproperlyConfigured(
            "STORAGE_S3_ACCESS_KEY_ID and STORAGE_S3_SECRET_ACCESS_KEY go together: set both, or neither "
            "(then the machine's own credentials are used, such as an instance role)."
        )
    _s3_options = {
        "bucket_name": _s3_bucket,
        "endpoint_url": _s3_endpoint,
        "region_name": env_str("STORAGE_S3_REGION"),
        "access_key": _s3_key_id,
        "secret_key": _s3_secret,
        # A server at an address of its own (MinIO, Ceph, a test server) names the bucket in the path.
        "addressing_style": "path" if _s3_endpoint else None,
        "default_acl": None,
        "querystring_auth": True,
        # Generated names never repeat; an existing object is never replaced.
        "file_overwrite": False,
        # A file read back (a download, metadata cleaning) spills to disk past this size.
        "max_memory_size": FILE_UPLOAD_MAX_MEMORY_SIZE,
    }
    _uploads_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {name: value for name, value in _s3_options.items() if value is not None},
    }
STORAGES = {
    "default": _uploads_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

_redis_url = env_str("REDIS_URL")
CACHES: dict[str, dict[str, Any]]
if _redis_url is not None:
    if not _redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"REDIS_URL must start with redis://, rediss:// or unix://; got {_redis_url!r}.")
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url}}
else:
    # Room for the drawn practice cards of many pages (Django's default keeps 300 entries).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 5000}}}

# With Redis, every page reads its session from the cache instead of the database (one query
# fewer on each signed-in page); every write, expiry and sign-out also goes to the database, so
# emptying Redis signs nobody out (but sessions deleted in the database by hand live on in Redis
# until it is emptied too). SESSION_CACHE=false keeps them in the database only. Never with a
# cache per process: a session ended in one process would live on in the others.
if env_bool("SESSION_CACHE", default=_redis_url is not None):
    if _redis_url is None:
        raise ImproperlyConfigured(
            "SESSION_CACHE needs REDIS_URL: sessions are kept in a cache only when it is shared."
        )
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Jobs (the README's "Jobs") -------------------------------------------------------------
# E-mail, invitations and periodic work run as jobs through Django's Tasks API (the django-tasks
# backport of Django 6's django.tasks; portal/jobs.py adds enqueueing with the change that causes
# a job, retries and the schedule). JOBS_BACKEND picks where they run:
# - immediate (the default; development, tests, `make run`): in the process that enqueued the
#   job, once the transaction that enqueued it commits. No worker needed.
# - database: stored in the database with the change that caused them and run by
#   `manage.py db_worker` processes (django-tasks-db); failed sends are retried with backoff.
JOBS_BACKEND = env_choice("JOBS_BACKEND", default="immediate", choices=["immediate", "database"])
TASKS = {
    "default": {
        "BACKEND": {
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            "database": "django_tasks_db.DatabaseBackend",
        }[JOBS_BACKEND],
    }
}

EMAIL_BACKEND = env_choice(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
    choices=[
        "django.core.mail.backends.smtp.EmailBackend",
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
    ],
)
EMAIL_HOST = env_str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", default="portal@district.example.org")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Transport security: on by default whenever debug is off.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=SECURE_HSTS_SECONDS > 0)
if env_bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Only our own scripts, styles and images: no inline code, no third parties. Markdown
# from users is sanitised as well, so a script that slipped through would still not run.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Whole pages kept for the reader who asked for them until anything in the district changes
# (portal/lib/kept_pages.py), and a search's ranked results until a table they were read from is
# written (portal/lib/kept_results.py): only with a cache every process that writes shares (Redis), or in
# development with one process (jobs run in it). KEPT_PAGES=false turns it off; never turn it on
# for several processes that each keep their own cache (a write in one, a worker's too, would
# not retire the pages and results another keeps).
KEPT_PAGES = env_bool("KEPT_PAGES", default=_redis_url is not None or (DEBUG and JOBS_BACKEND == "immediate"))

# --- Single sign-on (portal/sso; the README's "Single sign-on") ---------------------------
# Providers come from the SSO_* variables only (a half-configured one stops start-up); nobody
# signs up: a provider's account signs in only as a rostered, active person it is matched to.
_sso = sso_config.from_environment()
# Off: no password form, and no password backend, so no form anywhere (the admin's too) checks
# a password; sessions signed in with one end.
PASSWORD_SIGN_IN = _sso.password_sign_in
AUTHENTICATION_BACKENDS = sso_config.authentication_backends(AUTHENTICATION_BACKENDS, password_sign_in=PASSWORD_SIGN_IN)
SOCIALACCOUNT_PROVIDERS = _sso.providers
ACCOUNT_ADAPTER = "portal.sso.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "portal.sso.adapters.SocialAccountAdapter"
# The portal matches accounts by its own rules (portal.sso.adapters), not allauth's.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_EMAIL_VERIFICATION = "none"
# A sign-in button is a POST form with the CSRF token; a GET only shows a button to press.
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False
# Return addresses given to providers use the portal's own scheme.
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PORTAL_BASE_URL.startswith("https://") else "http"
# A sign-in button's form is redirected on to the provider's sign-in page: browsers check that
# step against form-action too.
CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] += _sso.form_action_origins

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "{asctime} {levelname} {name} {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_choice("LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR"])},
    "loggers": {
        # Failed sign-ins and lockouts are logged by axes at WARNING.
        "axes": {"level": "WARNING"},
        "axes.apps": {"level": "WARNING"},
        "django.security": {"level": "WARNING"},
    },
}
