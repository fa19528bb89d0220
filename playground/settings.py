"""Django settings for Infergate. Everything configurable comes from the environment (docs/configuration.md)."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

from playground import embedded
from tenancy.credentials.crypto import derived_key as _derived_credentials_key

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


HTTP_BACKENDS = ("lean", "aiohttp", "httpx")


def _http_backend() -> str:
    value = (os.environ.get("INFERGATE_HTTP_BACKEND") or "").strip().lower()
    if not value:
        return "lean" if env_bool("INFERGATE_LEAN_HTTP", True) else "httpx"
    if value not in HTTP_BACKENDS:
        raise RuntimeError(f"INFERGATE_HTTP_BACKEND must be one of {', '.join(HTTP_BACKENDS)}, not {value!r}")
    if value == "aiohttp" and importlib.util.find_spec("aiohttp") is None:
        # Not installed by default: google-genai would then move its own calls onto aiohttp too.
        raise RuntimeError("INFERGATE_HTTP_BACKEND=aiohttp needs the openai SDK's aiohttp extra: "
                           "pip install 'openai[aiohttp]==3.54.0'")
    return value


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or "dev-only-not-secret-" + "x" * 40
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

# Browser security (docs/reliability.md). Always: HttpOnly, SameSite=Lax session and CSRF cookies
# (the playground reads its CSRF token from a <meta> tag, never the cookie), nosniff, no framing. DJANGO_SECURE=1,
# for a deployment served over HTTPS, adds Secure cookies, HSTS and the redirect of Django's pages to HTTPS
# (`manage.py check --deploy` is then clean); it needs a DJANGO_SECRET_KEY of its own.
SECURE = env_bool("DJANGO_SECURE", False)
if SECURE and len(os.environ.get("DJANGO_SECRET_KEY", "")) < 50:
    raise RuntimeError("DJANGO_SECURE=1 needs DJANGO_SECRET_KEY: 50 or more random characters")
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", SECURE)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes of the load balancer, over HTTP
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000 if SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", SECURE)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", SECURE)
# Behind a proxy that terminates TLS: trust its X-Forwarded-Proto (only when it always sets the header).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_TLS_PROXY") else None
# Content-Security-Policy of Django's pages (playground/csp.py); INFERGATE_CSP="" sends none.
CONTENT_SECURITY_POLICY = os.environ.get("INFERGATE_CSP", (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; "
    "media-src 'self' data: blob: https:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"))

if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = embedded.postgres_url()
if not os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = embedded.redis_url()
DATABASE_URL = os.environ["DATABASE_URL"]
# Prometheus metrics: every process (web workers, Celery) writes its own files here and /metrics sums them
# (core/metrics.py). Wipe the directory when deploying a new release.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(embedded.data_dir() / "prometheus"))
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
REDIS_URL = os.environ["REDIS_URL"]

# No persistent connections: under ASGI, request threads come and go (Django's advice). The inference
# path looks keys up at most once a second per key and process, on pool threads that close after use.
DATABASES = {"default": {**embedded.database_settings(DATABASE_URL), "CONN_MAX_AGE": 0}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "tenancy.accounts",
    "inference",
    "inference.usage",
    "inference.plugins",
    "inference.prompts",
    "inference.evals",
    "inference.cache",
    "tenancy.credentials",
    "playground.web",
]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/playground"
LOGOUT_REDIRECT_URL = "/accounts/login/"

MIDDLEWARE = [
    "inference.api.middleware.RequestIdMiddleware",
    "inference.api.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "playground.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "playground.urls"
CSRF_FAILURE_VIEW = "inference.api.views.csrf_failure"
ASGI_APPLICATION = "playground.asgi.application"
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

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_TZ = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenancy.accounts.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "inference.api.errors.drf_exception_handler",
    "DEFAULT_PARSER_CLASSES": ["inference.api.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}

# Channels' layer on Redis: lets any process (a Celery task, another web worker) push events to
# websockets subscribed to a group, e.g. the progress of a job (inference.progress). Each socket waits on
# the layer with a 5 s blocking pop (BZPOPMIN); redis-py 8's default 5 s socket timeout fired first and
# closed every websocket open longer than 5 s, so the layer's connections read for up to 30 s.
CHANNEL_LAYERS = {"default": {"BACKEND": "inference.progress.ChannelLayer",  # channels_redis, mended
                              "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]}}}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task running when the worker loses Redis finishes (Celery 5's behaviour, said explicitly because Celery 6
# would cancel it instead): its message comes back after the reconnect and the job, already done, is skipped,
# where a cancelled run would pay for its provider call twice.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING below (JSON lines) too
# With acks_late, a message a worker took but never acknowledged (the whole worker was killed, not just
# a child) goes back to the queue after this many seconds on the Redis broker. Keep it above the longest
# job: a job still running when it expires is delivered a second time (the job store runs a finished job
# only once, but a running one would run twice).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("INFERGATE_CELERY_VISIBILITY_TIMEOUT_SECONDS", 3600)}
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "playground.tasks.heartbeat", "schedule": 10.0},
    "usage-drain": {"task": "inference.usage.tasks.usage_drain", "schedule": 1.0},
    # Daily rollups of the last INFERGATE["USAGE_ROLLUP_DAYS"] days, recomputed whole (late records count);
    # raw records past INFERGATE["USAGE_RETENTION_DAYS"] deleted in batches (inference/usage/rollups.py).
    "usage-rollup": {"task": "inference.usage.tasks.usage_rollup", "schedule": 300.0},
    "usage-retention": {"task": "inference.usage.tasks.usage_retention", "schedule": 3600.0},
    # Logged request bodies past their namespace's retention (inference/usage/bodies.py).
    "request-bodies-expire": {"task": "inference.usage.tasks.request_bodies_expire", "schedule": 3600.0},
    # The tokens of OpenAI background responses, once they end (inference/service.py, background_settle).
    "background-responses-settle": {"task": "inference.tasks.background_responses_settle", "schedule": 30.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logs.RequestIdLogFilter"},
                "redact": {"()": "core.logs.SecretRedaction"},
                "documented_failures": {"()": "core.logs.DocumentedFailureFilter"}},
    # One JSON object per line (core/logs.py); INFERGATE_LOG_FORMAT=plain for reading by eye.
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
                   "json": {"()": "core.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id", "redact"],
                             "formatter": "plain" if os.environ.get("INFERGATE_LOG_FORMAT") == "plain" else "json"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR", "filters": ["documented_failures"]},
                "pgserver": {"level": "WARNING"},
                # The SDKs' HTTP clients log every upstream call at INFO: a second line per request. Retries
                # and unexpected answers are logged by inference.providers.upstream; the status, by the access line.
                **{name: {"level": "WARNING"} for name in ("httpx", "httpx2", "httpcore")},
                # uvicorn's own lines go through the same handler once Django is set up; its access line
                # ("POST /v1/inference HTTP/1.1" 200, with the request id) is each request's one line.
                **{name: {"handlers": ["console"], "propagate": False} for name in ("uvicorn", "uvicorn.error",
                                                                                    "uvicorn.access")}},
}

# Inference
INFERGATE = {
    # Modules whose `register(registry)` adds providers; third-party packages use the
    # `infergate.providers` entry-point group, which is loaded through the same hook.
    "PROVIDER_MODULES": [
        "inference.providers.local",
        "inference.providers.openai",
        "inference.providers.google",
        "inference.providers.anthropic",
        "inference.providers.compatible",
        *([] if not env_bool("INFERGATE_TEST_PROVIDERS") else ["inference.providers.testing"]),
    ],
    # What tenancy checks the targets and credentials it stores against (tenancy/catalog.py).
    "TARGET_CATALOG": "inference.providers.registry.provider_registry",
    # Modules whose `register(registry)` adds plugins and extractors (docs/plugins.md); installed packages
    # use the `infergate.plugins` entry-point group, which is loaded through the same hook.
    "PLUGIN_MODULES": ["inference.plugins.builtin"],
    "PLUGIN_TIMEOUT_SECONDS": float(os.environ.get("INFERGATE_PLUGIN_TIMEOUT_SECONDS", "30")),
    "PLUGIN_THREADS": env_int("INFERGATE_PLUGIN_THREADS", 4),  # per plugin whose `run` is a plain function
    "PLUGIN_CACHE_SECONDS": float(os.environ.get("INFERGATE_PLUGIN_CACHE_SECONDS", "1.0")),
    # Threads that run blocking model code (llama.cpp, onnxruntime); the event loop never blocks on them.
    "MODEL_THREADS": env_int("INFERGATE_MODEL_THREADS", max(2, os.cpu_count() or 2)),
    "MAX_BODY_BYTES": env_int("INFERGATE_MAX_BODY_BYTES", 10 * 1024 * 1024),
    "MAX_BATCH": env_int("INFERGATE_MAX_BATCH", 64),
    # An agent's conversation runs to hundreds of turns, and one tool result or pasted file to hundreds of
    # thousands of characters; the body limit bounds the whole.
    "MAX_MESSAGES": env_int("INFERGATE_MAX_MESSAGES", 2000),
    "MAX_PROMPT_CHARS": env_int("INFERGATE_MAX_PROMPT_CHARS", 1_000_000),
    # How long a verified API key stays cached in a process: revocation takes effect within this.
    "AUTH_CACHE_SECONDS": float(os.environ.get("INFERGATE_AUTH_CACHE_SECONDS", "1.0")),
    "USAGE_FLUSH_SECONDS": float(os.environ.get("INFERGATE_USAGE_FLUSH_SECONDS", "0.2")),
    "USAGE_BATCH": env_int("INFERGATE_USAGE_BATCH", 500),
    # Usage records go through a Redis stream drained by Celery (durable across a web process crash);
    # off: straight to the in-process writer.
    "USAGE_DURABLE": env_bool("INFERGATE_USAGE_DURABLE", True),
    # Usage history (inference/usage/rollups.py): raw records are kept this many days (rollups forever);
    # each rollup run recomputes today and the days before it, up to this many days in all.
    "USAGE_RETENTION_DAYS": env_int("INFERGATE_USAGE_RETENTION_DAYS", 90),
    "USAGE_ROLLUP_DAYS": env_int("INFERGATE_USAGE_ROLLUP_DAYS", 3),
    "USAGE_DELETE_BATCH": env_int("INFERGATE_USAGE_DELETE_BATCH", 5000),
    # /readyz turns not ready while the oldest usage record waiting for the drain is older than this (0: never).
    "USAGE_LAG_READY_SECONDS": float(os.environ.get("INFERGATE_USAGE_LAG_READY_SECONDS", "120")),
    # GET /metrics needs "Authorization: Bearer <this>" when set; open when empty (docs/observability.md).
    "METRICS_TOKEN": os.environ.get("INFERGATE_METRICS_TOKEN", ""),
    "METRICS": env_bool("INFERGATE_METRICS", True),  # off: nothing is counted (the scrape still answers)
    # Rate limits (tenancy/accounts/limits.py): per-key defaults when neither the key nor its
    # organization sets one (0: unlimited), and what to do when Redis cannot be reached ("open": admit
    # and log an alarm; "closed": refuse with 503).
    "KEY_RATE_LIMIT_RPM": env_int("INFERGATE_KEY_RATE_LIMIT_RPM", 600),
    "KEY_RATE_LIMIT_TPM": env_int("INFERGATE_KEY_RATE_LIMIT_TPM", 1_000_000),
    "LIMITS_ON_REDIS_ERROR": os.environ.get("INFERGATE_LIMITS_ON_REDIS_ERROR", "open"),
    # Provider credentials per namespace are encrypted with the first of these Fernet keys and decrypted
    # with any of them (rotation: docs/providers.md, Credentials). The development default derives one from SECRET_KEY.
    "CREDENTIALS_KEYS": [k.strip() for k in os.environ.get("INFERGATE_CREDENTIALS_KEYS", "").split(",") if k.strip()]
    or [_derived_credentials_key(SECRET_KEY)],
    # Cloud provider calls: timeout, retries of 5xx and connection errors (exponential backoff with
    # jitter from this base), and how many prompts of one batch run at once.
    "PROVIDER_TIMEOUT_SECONDS": float(os.environ.get("INFERGATE_PROVIDER_TIMEOUT_SECONDS", "60")),
    "PROVIDER_RETRIES": env_int("INFERGATE_PROVIDER_RETRIES", 2),
    "PROVIDER_RETRY_BASE_SECONDS": float(os.environ.get("INFERGATE_PROVIDER_RETRY_BASE_SECONDS", "0.5")),
    "PROVIDER_CONCURRENCY": env_int("INFERGATE_PROVIDER_CONCURRENCY", 8),
    # The HTTP client under the openai SDK (docs/providers.md: OpenAI-compatible endpoints): "lean", a keep-alive
    # transport of ours for a plain http:// server with no proxy (inference/providers/lean_http.py; httpx's
    # elsewhere); "aiohttp", the SDK's own aiohttp backend; "httpx", the SDK's default. INFERGATE_LEAN_HTTP=0 is
    # the older way to say "httpx".
    "HTTP_BACKEND": _http_backend(),
    "OPENAI_BASE_URL": os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1",
    # The endpoints a namespace's deployments may name as their base_url (prefixes, comma-separated; none by default):
    # a namespace sends its own named credential there, and the gateway's network reach with it (docs/deployments.md).
    "DEPLOYMENT_BASE_URLS": tuple(u.strip() for u in os.environ.get("INFERGATE_DEPLOYMENT_BASE_URLS", "").split(",")
                                  if u.strip()),
    # Google (docs/providers.md: Google): the Gemini API's base URL, and Vertex AI's (empty: the location's own
    # https://{location}-aiplatform.googleapis.com).
    "GOOGLE_BASE_URL": os.environ.get("GOOGLE_GEMINI_BASE_URL") or "https://generativelanguage.googleapis.com",
    "GOOGLE_VERTEX_BASE_URL": os.environ.get("GOOGLE_VERTEX_BASE_URL") or "",
    "ANTHROPIC_BASE_URL": os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com",
    # OpenAI-compatible servers, each a provider of its own (docs/providers.md: OpenAI-compatible endpoints).
    "OPENAI_COMPATIBLE": json.loads(os.environ.get("INFERGATE_OPENAI_COMPATIBLE") or "{}"),
    # Semantic cache (docs/semantic-cache.md): entry lifetime, most entries per namespace (least valuable
    # evicted first), the cosine similarity of two answers above which they count as the same answer,
    # how many labels a scope's prior weighs as, in a new entry's model, and the HNSW search breadth.
    "CACHE_TTL_SECONDS": env_int("INFERGATE_CACHE_TTL_SECONDS", 7 * 24 * 3600),
    "CACHE_MAX_ENTRIES": env_int("INFERGATE_CACHE_MAX_ENTRIES", 100_000),
    "CACHE_ANSWER_SIMILARITY": float(os.environ.get("INFERGATE_CACHE_ANSWER_SIMILARITY", "0.97")),
    "CACHE_PRIOR_LABELS": env_int("INFERGATE_CACHE_PRIOR_LABELS", 50),
    "CACHE_MAX_OBSERVATIONS": env_int("INFERGATE_CACHE_MAX_OBSERVATIONS", 256),
    "CACHE_EF_SEARCH": env_int("INFERGATE_CACHE_EF_SEARCH", 100),
}
DATA_UPLOAD_MAX_MEMORY_SIZE = INFERGATE["MAX_BODY_BYTES"]

# Media inputs (inference/media, docs/providers.md: Media inputs): per-kind size limits enforced while a URL is
# fetched or base64 decoded, fetch timeouts, and per-namespace allow-lists of hosts ("media.corp",
# "*.corp.example") and networks ("10.1.0.0/16") that may be fetched although they are not public:
# INFERGATE_MEDIA_ALLOW='{"ns_...": ["10.1.0.0/16"]}'. Cloud metadata addresses are never fetched.
INFERGATE["MEDIA"] = {
    "MAX_BYTES": {"image": env_int("INFERGATE_MEDIA_MAX_IMAGE_BYTES", 20 * 1024 * 1024),
                  "audio": env_int("INFERGATE_MEDIA_MAX_AUDIO_BYTES", 25 * 1024 * 1024),
                  "video": env_int("INFERGATE_MEDIA_MAX_VIDEO_BYTES", 100 * 1024 * 1024)},
    "CONNECT_TIMEOUT_SECONDS": float(os.environ.get("INFERGATE_MEDIA_CONNECT_TIMEOUT_SECONDS", "5")),
    "TOTAL_TIMEOUT_SECONDS": float(os.environ.get("INFERGATE_MEDIA_TOTAL_TIMEOUT_SECONDS", "30")),
    "MAX_REDIRECTS": env_int("INFERGATE_MEDIA_MAX_REDIRECTS", 5),
    "ALLOW": json.loads(os.environ.get("INFERGATE_MEDIA_ALLOW") or "{}"),
    # Namespace ids whose image URLs go to providers that fetch URLs themselves (OpenAI) instead of being
    # fetched by us: INFERGATE_MEDIA_PASS_URLS='["ns_..."]'. Everyone else's are fetched and sent as bytes.
    "PASS_URLS": json.loads(os.environ.get("INFERGATE_MEDIA_PASS_URLS") or "[]"),
    # Longer audio is refused on the synchronous path (413) and accepted as an async job.
    "TRANSCRIPTION_MAX_SECONDS": float(os.environ.get("INFERGATE_TRANSCRIPTION_MAX_SECONDS", "60")),
}
# Video for multimodal embeddings (inference/media/video.py): one segment per this many seconds, each with
# its middle frame; past VIDEO_MAX_FRAMES frames the interval widens so that the whole video still fits.
INFERGATE["VIDEO_SAMPLE_SECONDS"] = float(os.environ.get("INFERGATE_VIDEO_SAMPLE_SECONDS", "4"))
INFERGATE["VIDEO_MAX_FRAMES"] = env_int("INFERGATE_VIDEO_MAX_FRAMES", 32)
