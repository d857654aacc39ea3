"""Settings read from environment variables, with defaults that run on a fresh machine."""
import os
from datetime import timedelta


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def from_environment(instance_path: str) -> dict:
    """Build the configuration dict; nothing here raises when a variable is missing."""
    database_url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + os.path.join(instance_path, "govmedia.sqlite3")
    )
    # Heroku-style URLs name the old driver; psycopg 3 is the one installed.
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dev-only-change-me"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "WECHAT_API_BASE_URL": os.environ.get("WECHAT_API_BASE_URL", "https://api.weixin.qq.com"),
        "WEIBO_API_BASE_URL": os.environ.get("WEIBO_API_BASE_URL", "https://api.weibo.com"),
        # Uploads (inventory spreadsheets) are small; anything larger is refused with 413.
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 16 * 1024 * 1024),
        # scrypt in production; tests choose a cheap method so each login does not cost 100 ms.
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        "IMPORT_MAX_BYTES": _int("IMPORT_MAX_BYTES", 10 * 1024 * 1024),
        "IMPORT_MAX_ROWS": _int("IMPORT_MAX_ROWS", 50_000),
        "API_TOKEN_HOURS": _int("API_TOKEN_HOURS", 12),
        "LOGIN_MAX_FAILURES": _int("LOGIN_MAX_FAILURES", 5),
        "LOGIN_FAILURE_WINDOW_MINUTES": _int("LOGIN_FAILURE_WINDOW_MINUTES", 15),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_int("SESSION_HOURS", 12)),
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "QUEUE_EAGER": _bool("QUEUE_EAGER", False),
        # How often each worker looks for a due periodic job (each slot is still claimed once
        # in Redis, however many workers tick); tests make it short with a short sweep.
        "PERIODIC_TICK_SECONDS": float(os.environ.get("PERIODIC_TICK_SECONDS") or 15.0),
        # Number of reverse proxies in front of gunicorn whose X-Forwarded-For/-Proto/-Host/
        # -Port/-Prefix headers are trusted (0: none; behind one nginx: 1). docs/DEPLOY.md.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        # Fan-out (publisher/delivery.py, docs/FANOUT.md): retry backoff in seconds (the last
        # value repeats), automatic attempts, how long a job owns a delivery it claimed.
        "DELIVERY_BACKOFF_SECONDS": os.environ.get("DELIVERY_BACKOFF_SECONDS", "5,30,120,600"),
        "DELIVERY_MAX_ATTEMPTS": _int("DELIVERY_MAX_ATTEMPTS", 6),
        "DELIVERY_LEASE_SECONDS": _int("DELIVERY_LEASE_SECONDS", 330),
        "DELIVERY_SWEEP_SECONDS": _int("DELIVERY_SWEEP_SECONDS", 30),
        # A job that waited in Redis this long without running (lost when Redis restarted
        # without its data) is enqueued again by the sweep.
        "DELIVERY_REQUEUE_SECONDS": float(os.environ.get("DELIVERY_REQUEUE_SECONDS") or 300),
        # A platform's own "retry after" hint (rate limits: 3600 s for a daily quota) is
        # honoured up to this many seconds.
        "DELIVERY_RETRY_AFTER_MAX_SECONDS": float(
            os.environ.get("DELIVERY_RETRY_AFTER_MAX_SECONDS") or 3600),
        "DELIVERY_STUCK_MINUTES": _int("DELIVERY_STUCK_MINUTES", 15),
        "ADAPTER_TIMEOUT": float(os.environ.get("ADAPTER_TIMEOUT") or 10.0),
        "WECHAT_POLL_INTERVAL": float(os.environ.get("WECHAT_POLL_INTERVAL") or 2.0),
        "WECHAT_POLL_ATTEMPTS": _int("WECHAT_POLL_ATTEMPTS", 30),
        # The embedded run sends to the stand-in platforms (adapters/standin.py) unless a
        # platform URL or Redis is configured: a new user sees an article go out end to end.
        "STANDIN_PLATFORMS": _bool("STANDIN_PLATFORMS", not any(os.environ.get(name) for name in (
            "WECHAT_API_BASE_URL", "WEIBO_API_BASE_URL", "REDIS_URL"))),
        "WTF_CSRF_TIME_LIMIT": None,
    }
