"""Settings for the 残疾人两项补贴 records system.

One module, driven by environment variables. Every variable has an embedded default that needs
no server (SQLite, database search, a filesystem Celery broker), so that `make run` works on a
bare machine; production sets `DJANGO_ENV=production`, which switches on the hardening below
and makes the secrets mandatory. Every variable is documented in README.md and docs/deploy.md.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from core import scans as scan_limits
from core.codes import RETENTION_YEARS
from search import analysis as search_analysis

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if not value:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


def env_list(name: str) -> list[str]:
    return [item.strip() for item in env(name).split(",") if item.strip()]


DJANGO_ENV = env("DJANGO_ENV", "development")
PRODUCTION = DJANGO_ENV == "production"

# All state of a running system lives under one directory: the SQLite database, the private
# archive of scans, public CMS media, the filesystem broker and the dev secret key.
DATA_DIR = Path(env("DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    key = env("SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_ENV=production.")
    # Development: generate once and keep it, so sessions survive a restart of `make run`.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", default=not PRODUCTION)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DJANGO_ENV=production.")
if PRODUCTION and any(host == "*" or host.startswith("*") for host in ALLOWED_HOSTS):
    # A wildcard lets any Host header through: password-reset links and absolute URLs
    # would point wherever a forged header says.
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the hosts; '*' is refused in production.")
if not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "archive",
    "ocr",
    "search",
    "review",
    "inspection",
    "cms",
    "jobs",
    "workbench",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "archive.apps.UsersConfig",  # wagtail.users with scoped user management
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "axes",
    "csp",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",  # django-csp, HTML pages only
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "archive.access.middleware.AuditRefusalsMiddleware",  # after messages: sees Wagtail's refusal
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the Chinese lockout page
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
                "config.branding.branding",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# DATABASE_URL, e.g. postgres://user:pass@host:5432/name; default SQLite under DATA_DIR.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=int(env("DATABASE_CONN_MAX_AGE", "60" if PRODUCTION else "0")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the Celery worker writes; IMMEDIATE transactions
    # avoid "database is locked" upgrades from read to write locks under concurrency.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    # A test database in a file, not in memory: the tests that run manage.py as a child
    # process (exit codes as a shell sees them) must open the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------------------
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env("CACHE_URL")}
        if env("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Passwords and sessions ---------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords a username, and
# separately a client address, is locked out for LOGIN_LOCKOUT_MINUTES. Failures and lockouts
# are audited (archive.access.logins). Behind reverse proxies the client address is the one the
# outermost of TRUSTED_PROXY_COUNT proxies saw (archive.access.audit.client_ip).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(env("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(env("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "archive/lockout.html"
AXES_CLIENT_IP_CALLABLE = "archive.access.audit.client_ip"
AXES_VERBOSE = False
TRUSTED_PROXY_COUNT = int(
    env("TRUSTED_PROXY_COUNT", "1" if PRODUCTION and env_bool("BEHIND_TLS_PROXY", True) else "0")
)

SESSION_COOKIE_AGE = int(env("SESSION_COOKIE_AGE", str(8 * 3600)))  # one working day
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True

# --- Language and time --------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
WAGTAILADMIN_PERMITTED_LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
# Chinese for the Wagtail strings its own zh_Hans catalogue lacks (docs/ui.md); checked after a
# Wagtail upgrade with scripts/wagtail-missing-strings.py.
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

# --- Files --------------------------------------------------------------------------------
# Scans of people's documents are private: they live under PRIVATE_MEDIA_ROOT, which has no
# URL at all and is reached only through views that check jurisdiction and write the audit
# log. Public CMS media (images on policy pages) is the only thing under MEDIA_URL.
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(DATA_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(DATA_DIR / "public-media")))
PRIVATE_MEDIA_ROOT = Path(env("PRIVATE_MEDIA_ROOT", str(DATA_DIR / "private")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG  # serve app static files without collectstatic in development
FILE_UPLOAD_PERMISSIONS = 0o640
# Uploads larger than 2.5 MB are spooled by Django while they arrive: into the private store's
# tmp/ (swept hourly by archive.clean_tmp), never the system /tmp, where a killed upload would
# leave a copy of people's scans outside the private store.
FILE_UPLOAD_TEMP_DIR = str(PRIVATE_MEDIA_ROOT / "tmp")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
UPLOAD_MAX_BYTES = int(env("UPLOAD_MAX_BYTES", str(200 * 1024 * 1024)))
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# 档号 (archival reference code, DA/T 22-2015) of the office: 全宗号, 门类代码, 机构代码.
ARCHIVE_FONDS = env("ARCHIVE_FONDS", "J014")
ARCHIVE_CATEGORY = env("ARCHIVE_CATEGORY", "MZ")
ARCHIVE_ORG = env("ARCHIVE_ORG", "LX")
# Years each 保管期限 runs after a case file's enrolments stopped; "Y" (永久) never ends. The
# 到期鉴定 page lists what has run out; nothing is ever destroyed by the system (archive.casefiles.appraisal).
ARCHIVE_RETENTION_YEARS = dict(RETENTION_YEARS)
# One set of scan limits for upload and OCR (core/scans.py explains the numbers; ocr/pages.py,
# the one scan reader, applies them).
SCAN_MAX_IMAGE_PIXELS = int(env("SCAN_MAX_IMAGE_PIXELS", str(scan_limits.MAX_IMAGE_PIXELS)))
SCAN_MAX_PAGES = int(env("SCAN_MAX_PAGES", str(scan_limits.MAX_PAGES)))
# A ZIP of scans: most members, and most bytes once unpacked (ZIP bombs).
ARCHIVE_ZIP_MAX_ENTRIES = int(env("ARCHIVE_ZIP_MAX_ENTRIES", "2000"))
ARCHIVE_ZIP_MAX_BYTES = int(env("ARCHIVE_ZIP_MAX_BYTES", str(4 * 1024**3)))
# A PDF of more pages than this (and every ZIP) is filed by a background job (archive/jobs.py).
ARCHIVE_BACKGROUND_PDF_PAGES = int(env("ARCHIVE_BACKGROUND_PDF_PAGES", "10"))
# An inbox scan is filed by itself only when OCR's classification is at least this sure.
ARCHIVE_OCR_AUTO_FILE_CONFIDENCE = float(env("ARCHIVE_OCR_AUTO_FILE_CONFIDENCE", "0.8"))

# --- Data comparison ----------------------------------------------------------------------
# The rosters without which a scheduled comparison is not started (the others are used when
# present; review/schedule.py); DuckDB's threads and memory cap.
REVIEW_REQUIRED_ROSTERS = ("death", "hukou_out", "cert_base", "assistance")
# Background work beats every WORKER_HEARTBEAT_SECONDS (core/heartbeat.py); a reaper run every
# minute takes work with no beat for WORKER_DEAD_AFTER_SECONDS as abandoned by a dead worker.
WORKER_HEARTBEAT_SECONDS = float(env("WORKER_HEARTBEAT_SECONDS", "15"))
WORKER_DEAD_AFTER_SECONDS = float(env("WORKER_DEAD_AFTER_SECONDS", "90"))
# Files a background job leaves for download (exports, rejected rows) are removed this long
# after the job finished (jobs.services.clean_files, hourly from beat).
JOB_FILES_MAX_AGE_SECONDS = int(env("JOB_FILES_MAX_AGE_SECONDS", str(7 * 24 * 3600)))
# One attempt at parsing an uploaded roster (preview, comparison upload) stops after this long.
JOB_PARSE_TIME_LIMIT_SECONDS = int(env("JOB_PARSE_TIME_LIMIT_SECONDS", "900"))
# ... and may allocate this much (MB) on top of what its worker holds (jobs.limits).
JOB_PARSE_MEMORY_LIMIT_MB = int(env("JOB_PARSE_MEMORY_LIMIT_MB", "4096"))
# The county civil-affairs offices' phones printed on 政策告知书 (review/views/notices.py), as
# "140425:0355-6228001,140403:0355-2022001"; a county without one prints none.
NOTICE_OFFICE_PHONES: dict[str, str] = dict(
    item.split(":", 1) for item in env_list("NOTICE_OFFICE_PHONES") if ":" in item
)
REVIEW_ENGINE_THREADS = int(env("REVIEW_ENGINE_THREADS", "2"))
REVIEW_ENGINE_MEMORY = env("REVIEW_ENGINE_MEMORY", "2GB")

# --- Wagtail ------------------------------------------------------------------------------
WAGTAIL_SITE_NAME = env("SITE_NAME", "残疾人两项补贴档案管理系统")
WAGTAILADMIN_BASE_URL = env("SITE_URL", "http://127.0.0.1:8000")
WAGTAIL_I18N_ENABLED = False
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAILDOCS_EXTENSIONS = ["pdf", "docx", "doc", "xlsx", "xls", "pptx", "ppt", "odt", "txt", "zip"]
WAGTAILDOCS_MAX_UPLOAD_SIZE = 50 * 1024 * 1024
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 20 * 1024 * 1024
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAIL_MODERATION_ENABLED = True
# Wagtail's login form labels its password field from the field name, in English.
WAGTAILADMIN_USER_LOGIN_FORM = "config.forms.LoginForm"
# One office, one time zone: with a single choice Wagtail drops the (English) time-zone list
# from the account page, as it does for the single language above.
WAGTAIL_USER_TIME_ZONES = [TIME_ZONE]

# --- Search -------------------------------------------------------------------------------
# ELASTICSEARCH_URL set: Wagtail's page search and our record search use Elasticsearch 8.
# Unset: both fall back to the database, so the embedded system needs no search server.
ELASTICSEARCH_URL = env("ELASTICSEARCH_URL")
SEARCH_INDEX_PREFIX = env("SEARCH_INDEX_PREFIX", "subsidy_")
if ELASTICSEARCH_URL:
    WAGTAILSEARCH_BACKENDS = {
        "default": {
            "BACKEND": "wagtail.search.backends.elasticsearch8",
            "URLS": [ELASTICSEARCH_URL],
            "INDEX_PREFIX": f"{SEARCH_INDEX_PREFIX}cms_",
            "TIMEOUT": 10,
            # The record search's Chinese analysis as the default of the CMS index.
            "INDEX_SETTINGS": search_analysis.wagtail_index_settings(),
        }
    }
else:
    WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

# --- Celery -------------------------------------------------------------------------------
# CELERY_BROKER_URL: redis://… in production. Default: kombu's filesystem transport, which
# needs no server process, so `make run` still runs a real worker and beat.
CELERY_BROKER_URL = env("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND") or None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True  # a task killed mid-way is redelivered, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Queues by kind of work (jobs/kinds.py): "interactive" is work a person waits for
# (previews, imports, comparisons, exports, search sync); "bulk" is OCR and integrity checks.
# `make run` runs one worker per queue (config/supervisord.conf), so a comparison never waits
# behind a thousand scanned pages; docs/deploy.md says how to scale each.
CELERY_TASK_DEFAULT_QUEUE = "interactive"
CELERY_TASK_ROUTES = {
    "archive.ocr_document": {"queue": "bulk"},
    "ocr.read_document": {"queue": "bulk"},
    "archive.integrity_check": {"queue": "bulk"},
    "archive.refresh_completeness": {"queue": "bulk"},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    # Re-hash every stored original and report missing or altered files (archive.casefiles.integrity).
    "archive-integrity-check": {
        "task": "archive.integrity_check",
        "schedule": crontab(hour=2, minute=30),
    },
    # Re-queue OCR that was committed but never reached the broker (crash, broker down).
    "archive-requeue-ocr": {"task": "archive.requeue_stale_ocr", "schedule": 60},
    # Background jobs (imports, comparisons) whose worker died: retried where safe, else
    # failed with the reason.
    "jobs-reap": {"task": "jobs.reap", "schedule": 60},
    # Files of finished jobs (exports, rejected rows) older than JOB_FILES_MAX_AGE_SECONDS.
    "jobs-clean": {"task": "jobs.clean", "schedule": crontab(minute=50)},
    # Recompute completeness after enrolment changes or a new checklist.
    "archive-refresh-completeness": {
        "task": "archive.refresh_completeness",
        "schedule": crontab(hour=3, minute=15),
    },
    # Remove leftovers of interrupted uploads (older than a day) from the private tmp/.
    "archive-clean-tmp": {"task": "archive.clean_tmp", "schedule": crontab(minute=40)},
    # Start the data comparisons that are due (county monthly, city half-yearly, province
    # yearly) when their rosters are uploaded; otherwise record a reminder (review.schedule).
    # Index what waits in the search outbox (a drain after commit normally does it at once;
    # this catches changes whose drain could not be queued or ran while Elasticsearch was down).
    "search-drain-outbox": {"task": "search.drain_outbox", "schedule": 60},
    "review-due-comparisons": {
        "task": "review.start_due_comparisons",
        "schedule": crontab(hour=4, minute=0),
    },
}

# --- OCR ----------------------------------------------------------------------------------
# rapidocr (PP-OCRv6 models bundled in the rapidocr wheel) or tesseract; the default
# won on the held-out generated set (docs/benchmarks.md, docs/ocr.md "Engines").
OCR_ENGINE = env("OCR_ENGINE", "rapidocr")
OCR_THREADS = int(env("OCR_THREADS", "1"))  # ONNX Runtime threads per worker process
TESSERACT_CMD = env("TESSERACT_CMD", "tesseract")
OCR_LANGUAGES = env("OCR_LANGUAGES", "chi_sim+eng")
OCR_NAME_LANGUAGES = env("OCR_NAME_LANGUAGES", "chi_sim")  # names are read in Chinese only
OCR_TIMEOUT = int(env("OCR_TIMEOUT", "120"))  # seconds per Tesseract call
OCR_PDF_DPI = int(
    env("OCR_PDF_DPI", str(scan_limits.PDF_DPI))
)  # PDF pages are rendered at this resolution

# --- Logging ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # one INFO line per Elasticsearch request otherwise
        "elastic_transport": {"level": "WARNING"},
    },
}

# --- Content-Security-Policy (django-csp; config/middleware.py relaxes script-src in the
# admin, where Wagtail writes inline scripts) -------------------------------------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
}

# --- Production hardening -----------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"  # Wagtail marks its preview views SAMEORIGIN itself
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if env_bool("BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
