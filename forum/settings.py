"""Settings for forum, read from the environment (see README.md, "Configuration").

Development needs nothing set: DEBUG off unless asked, SQLite under var/, mail
printed to the console. Outside DEBUG a missing SECRET_KEY is an error, and
`manage.py check --deploy` is clean once the production variables are given.
"""

import re
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A .env file beside manage.py is read if present; real environment wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
# Keys used before (a moved site, a rotated key): what they signed still verifies (the audit log's
# erasures; Django's own signatures).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "development-only-insecure-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The reverse proxies in front (nginx: 127.0.0.1; a load balancer's network): from them, the client's
# address is read from X-Forwarded-For (forum/lib/proxies.py). Empty: that header is ignored.
FORUM_TRUSTED_PROXIES = env.list("FORUM_TRUSTED_PROXIES", default=[])

# The public address of the site, used for links in emails and canonical URLs.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="Forum")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Full-text search on PostgreSQL (forum/search); inert on SQLite.
    "django.contrib.postgres",
    # Before django_tasks_db: its `db_worker` command is ours (a worker on a lease, forum/lib/worker.py).
    "forum.lib",
    "django_tasks_db",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.orcid",
    "forum.accounts",
    "forum.essays",
    "forum.discussion",
    "forum.audit",
    "forum.moderation",
    "forum.portability",
    "forum.imports",
    "forum.search",
    "forum.embed",
    "corsheaders",
]

MIDDLEWARE = [
    # First: behind a proxy the site trusts, the client's address is the forwarded one (forum/lib/proxies.py).
    "forum.lib.proxies.ForwardedClientMiddleware",
    # Where this request's reads go, when there is a replica (forum/lib/replicas.py); before anything reads.
    "forum.lib.replicas.ReplicaMiddleware",
    # CORS for the API only, and only for the origins allowed to embed the discussion (forum/embed/origins.py).
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The sign-in pages keep an embed's popup's opener while it signs a member in (forum/embed/views.py).
    "forum.embed.views.SigninOpenerMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # A 405 answers with a page in the site's layout (the 400, 403, 404 and 500 pages are templates).
    "forum.lib.pages.ErrorPageMiddleware",
    "forum.moderation.middleware.PostingHealthMiddleware",
    # Old permalinks of imported blogs: looked up only when nothing else answered (a 404).
    "forum.imports.middleware.LegacyRedirectMiddleware",
]

ROOT_URLCONF = "forum.urls"
WSGI_APPLICATION = "forum.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "forum.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# SQLite by default (no server needed); DATABASE_URL=postgres://... for
# production. SQLite runs in WAL mode with IMMEDIATE transactions and a busy
# timeout so that concurrent writers queue instead of failing.
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'forum.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
# Persistent connections on both: opening one (and, on SQLite, its PRAGMAs)
# cost a cached page more than everything else it does.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A read replica (optional): a PostgreSQL standby of DATABASE_URL. Reads of GET requests from browsers
# that have not written lately go to it; writes, and a writer's reads for FORUM_PRIMARY_AFTER_WRITE
# seconds after, go to the primary (forum/lib/replicas.py). In tests it mirrors the default database.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"].update(
        CONN_MAX_AGE=DATABASES["default"]["CONN_MAX_AGE"], CONN_HEALTH_CHECKS=True, TEST={"MIRROR": "default"}
    )
    DATABASE_ROUTERS = ["forum.lib.replicas.ReplicaRouter"]
FORUM_PRIMARY_AFTER_WRITE = env.int("FORUM_PRIMARY_AFTER_WRITE", default=30)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------
# Rate limits and (later) rendered threads live here. Redis in production.
REDIS_URL = env.str("REDIS_URL", default="")
# The page cache has a store of its own ("pages", forum/pagecache.py), which an erasure empties: in
# Redis, the database after REDIS_URL's (before it, for 15; PAGE_CACHE_URL to choose another).
if REDIS_URL:
    PAGE_CACHE_URL = env.str("PAGE_CACHE_URL", default="")
    if not PAGE_CACHE_URL:
        _redis = urlsplit(REDIS_URL)
        if _redis.scheme not in ("redis", "rediss") or _redis.query or not re.fullmatch(r"/?\d*", _redis.path):
            raise ImproperlyConfigured(
                "Set PAGE_CACHE_URL too: the page cache needs a Redis database of its own, and REDIS_URL "
                "is not of the form redis://host:port/N to take the next one."
            )
        _database = int(_redis.path.strip("/") or 0)
        PAGE_CACHE_URL = urlunsplit(_redis._replace(path=f"/{_database + 1 if _database < 15 else 14}"))
    if PAGE_CACHE_URL.rstrip("/") == REDIS_URL.rstrip("/"):
        raise ImproperlyConfigured("PAGE_CACHE_URL must name a Redis database other than REDIS_URL's.")
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
        "pages": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": PAGE_CACHE_URL},
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "pages": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages"},
    }

# --- Accounts (django-allauth) -------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "forum.accounts.forms.SignupForm"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
ACCOUNT_ADAPTER = "forum.accounts.adapter.AccountAdapter"
ACCOUNT_USER_DISPLAY = "forum.accounts.adapter.user_display"
LOGIN_REDIRECT_URL = "home"
LOGIN_URL = "account_login"

# Sign in with ORCID (allauth's provider), offered once ORCID_CLIENT_ID and ORCID_SECRET are set: a
# client registered at orcid.org (Developer Tools) or, to try it, at sandbox.orcid.org with
# ORCID_BASE_DOMAIN=sandbox.orcid.org. Its redirect URI: SITE_URL + /accounts/orcid/login/callback/.
# A member who signs in with ORCID has a verified iD (forum/accounts/orcid.py).
ORCID_CLIENT_ID = env.str("ORCID_CLIENT_ID", default="")
ORCID_BASE_DOMAIN = env.str("ORCID_BASE_DOMAIN", default="orcid.org")
SOCIALACCOUNT_PROVIDERS = {
    "orcid": {
        "BASE_DOMAIN": ORCID_BASE_DOMAIN,
        "MEMBER_API": False,  # the public API: the iD, the name, the addresses the person made public
        "APPS": [{"client_id": ORCID_CLIENT_ID, "secret": env.str("ORCID_SECRET", default=""), "key": ""}]
        if ORCID_CLIENT_ID
        else [],
    }
}
SOCIALACCOUNT_ADAPTER = "forum.accounts.adapter.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_VERIFICATION = "mandatory"  # an address ORCID gives is verified here like any other
SOCIALACCOUNT_STORE_TOKENS = False  # nothing is asked of ORCID after sign-in: no token is kept
# Whether a member's public page shows an iD they typed but did not prove by signing in with ORCID
# (as "not verified"); a verified iD is always shown.
FORUM_SHOW_UNVERIFIED_ORCID = env.bool("FORUM_SHOW_UNVERIFIED_ORCID", default=True)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Mail -----------------------------------------------------------------
# EMAIL_URL (smtp://user:pass@host:587, smtp+tls://..., consolemail://) is
# translated into Django 6.1's MAILERS setting.
_email = env.email_url("EMAIL_URL", default="consolemail://")
_mail_options = {
    option: _email[key]
    for option, key in [
        ("host", "EMAIL_HOST"),
        ("port", "EMAIL_PORT"),
        ("username", "EMAIL_HOST_USER"),
        ("password", "EMAIL_HOST_PASSWORD"),
        ("use_tls", "EMAIL_USE_TLS"),
        ("use_ssl", "EMAIL_USE_SSL"),
    ]
    if _email.get(key) not in (None, "")
}
if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
    _mail_options["timeout"] = env.int("EMAIL_TIMEOUT", default=20)
MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"], "OPTIONS": _mail_options}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Forum <noreply@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# --- Background tasks -----------------------------------------------------
# Mail goes out from a worker (`manage.py worker`, forum/lib/worker.py), so a
# slow or broken mail server never holds up or fails a request.
TASKS = {"default": {"BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")}}

# --- Internationalisation -------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
# Our wording of other apps' strings (allauth's Title Case in sentence case): forum/locale/en.
LOCALE_PATHS = [BASE_DIR / "forum" / "locale"]
USE_TZ = True

# --- Static files ---------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "forum" / "static"]
# Uploads (essays' figures, written anew: forum/essays/images.py). On the disk under var/media by
# default; MEDIA_STORAGE names another backend (object storage, e.g. django-storages' S3Storage,
# installed beside the site) with its options as JSON in MEDIA_STORAGE_OPTIONS. Readers always ask
# /media/ on this site for them (forum/lib/media.py).
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "/media/"
STORAGES = {
    "default": {
        "BACKEND": env.str("MEDIA_STORAGE", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env.json("MEDIA_STORAGE_OPTIONS", default={}),
    },
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}

# --- Security -------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_ENGINE = "forum.lib.sessions"  # Django's database sessions, read by a prepared query
CSRF_FAILURE_VIEW = "forum.lib.pages.csrf_failure"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "https:"],  # essays may show images hosted elsewhere (imported blogs)
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    # "Sign in with ORCID" posts here and is sent on to ORCID: form-action covers that redirect too.
    "form-action": [CSP.SELF, *([f"https://{ORCID_BASE_DOMAIN}"] if ORCID_CLIENT_ID else [])],
    "frame-ancestors": [CSP.NONE],
}
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- The discussion -------------------------------------------------------
# Replies deeper than this attach beside their parent instead of under it.
FORUM_MAX_DEPTH = env.int("FORUM_MAX_DEPTH", default=8)
# How long authors may edit their comment after posting, in seconds.
FORUM_EDIT_WINDOW = env.int("FORUM_EDIT_WINDOW", default=15 * 60)
FORUM_MAX_COMMENT_CHARS = env.int("FORUM_MAX_COMMENT_CHARS", default=20_000)
# A competing-interests statement under each comment's signature: optional, or (a journal's policy)
# required of every comment written here (a comment that arrives by mail may have none).
FORUM_REQUIRE_COMPETING_INTERESTS = env.bool("FORUM_REQUIRE_COMPETING_INTERESTS", default=False)
# Guest confirmation links: lifetime, and mails allowed per hour.
FORUM_GUEST_LINK_MAX_AGE = env.int("FORUM_GUEST_LINK_MAX_AGE", default=7 * 24 * 3600)
FORUM_CONFIRMATION_MAILS_PER_ADDRESS = env.int("FORUM_CONFIRMATION_MAILS_PER_ADDRESS", default=3)
FORUM_CONFIRMATION_MAILS_PER_IP = env.int("FORUM_CONFIRMATION_MAILS_PER_IP", default=10)
# How long a link mailed to a guest to read the data held about their address lasts (seconds).
FORUM_DATA_LINK_MAX_AGE = env.int("FORUM_DATA_LINK_MAX_AGE", default=24 * 3600)
# How long a confirmed guest is remembered on their browser, in seconds.
FORUM_GUEST_COOKIE_MAX_AGE = env.int("FORUM_GUEST_COOKIE_MAX_AGE", default=365 * 24 * 3600)
# Posting on someone's behalf: may a moderator approve their own submission
# (a single-author site)? And how long the person's link stays valid.
FORUM_ALLOW_SELF_APPROVAL = env.bool("FORUM_ALLOW_SELF_APPROVAL", default=False)
FORUM_PROXY_LINK_MAX_AGE = env.int("FORUM_PROXY_LINK_MAX_AGE", default=30 * 24 * 3600)
# Moderation and spam defences.
FORUM_FLAG_THRESHOLD = env.int("FORUM_FLAG_THRESHOLD", default=3)  # flags from different readers hide a comment
FORUM_POSTS_PER_WINDOW = env.int("FORUM_POSTS_PER_WINDOW", default=10)  # per IP and per account...
FORUM_POST_WINDOW = env.int("FORUM_POST_WINDOW", default=600)  # ...in this many seconds
FORUM_FLAGS_PER_HOUR = env.int("FORUM_FLAGS_PER_HOUR", default=20)
FORUM_MIN_SECONDS_TO_POST = env.int("FORUM_MIN_SECONDS_TO_POST", default=3)  # a form sent faster is a bot's
# Email-in: readers can send comments to comments+<essay-slug>@FORUM_MAIL_DOMAIN
# (the mail server pipes them to `manage.py receive_email`).
FORUM_MAIL_DOMAIN = env.str("FORUM_MAIL_DOMAIN", default="comments.localhost")
FORUM_MAX_EMAIL_BYTES = env.int("FORUM_MAX_EMAIL_BYTES", default=1_000_000)
# Where people write to the moderators (a link that expired, a question about a decision): set it to a
# mailbox a moderator reads (the mail domain above goes to receive_email, which takes only comments).
FORUM_CONTACT_EMAIL = env.str("FORUM_CONTACT_EMAIL", default=parseaddr(SERVER_EMAIL)[1])
# A notification's Reply-To proves its recipient once, for this many seconds (60 days).
FORUM_REPLY_ADDRESS_MAX_AGE = env.int("FORUM_REPLY_ADDRESS_MAX_AGE", default=60 * 24 * 3600)
# /healthz answers 503 when a queued task or mail has waited longer than this, in seconds.
FORUM_HEALTH_MAX_TASK_AGE = env.int("FORUM_HEALTH_MAX_TASK_AGE", default=15 * 60)
# A worker not seen for this many seconds is dead: its running tasks go back to the queue.
FORUM_WORKER_LEASE = env.int("FORUM_WORKER_LEASE", default=60)
# Delivered and failed mail (and finished tasks) are kept this many days, then forgotten.
FORUM_MAIL_KEEP_DAYS = env.int("FORUM_MAIL_KEEP_DAYS", default=30)
# Large discussions: above this many comments the page shows threads a page at a time.
FORUM_PAGINATE_ABOVE = env.int("FORUM_PAGINATE_ABOVE", default=200)
FORUM_THREADS_PER_PAGE = env.int("FORUM_THREADS_PER_PAGE", default=50)
# How long a rendered discussion stays in the cache (it is also keyed by its version).
FORUM_THREAD_CACHE_SECONDS = env.int("FORUM_THREAD_CACHE_SECONDS", default=24 * 3600)

# --- Embedding the discussion in pages elsewhere (forum/embed, docs/embed.md) ---------------------
# Origins allowed to embed it and call the API from their pages, comma-separated
# (https://blog.example.org); the admin lists more ("Sites that embed the discussion").
FORUM_EMBED_ORIGINS = env.list("FORUM_EMBED_ORIGINS", default=[])
# How long a member's token held by an embedded discussion lasts, in seconds.
FORUM_EMBED_TOKEN_MAX_AGE = env.int("FORUM_EMBED_TOKEN_MAX_AGE", default=3600)
# Checking a new page elsewhere: how long to wait for it, how much of it to read, and whether it may
# be on a private or loopback address (never in production: the tests' and the demo's pages are).
FORUM_EMBED_CHECK_TIMEOUT = env.float("FORUM_EMBED_CHECK_TIMEOUT", default=5.0)
FORUM_EMBED_CHECK_MAX_BYTES = env.int("FORUM_EMBED_CHECK_MAX_BYTES", default=2_000_000)
FORUM_EMBED_CHECK_PRIVATE_ADDRESSES = env.bool("FORUM_EMBED_CHECK_PRIVATE_ADDRESSES", default=False)
# CORS (django-cors-headers) for the API's addresses only; which origins, forum/embed/origins.py says.
CORS_URLS_REGEX = r"^/api/v1/.*$"
CORS_ALLOW_CREDENTIALS = False  # identity is a bearer token, never a cookie
CORS_ALLOW_METHODS = ("GET", "OPTIONS", "POST")  # what the API has
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "if-none-match")
