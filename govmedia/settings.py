"""Every setting in one typed object: its default, its environment variable, read once."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Mapping

from .rules import PUBLISHING_TASK_WORKDAYS, RECTIFICATION_WORKDAYS


def _setting(default: Any, env: str | None = None, *, flask: bool = False):
    """A field read from `env` (default: the field's name upper-cased). `flask` marks the
    settings Flask or an extension reads under its own key."""
    return field(default=default, metadata={"env": env, "flask": flask})


@dataclass
class Settings:
    """Read by `create_app` from the environment, then from the overrides it is given.

    Each field is also published in `app.config` under its upper-case name, which is where
    the code reads it (`current_app.config["DELIVERY_LEASE_SECONDS"]`): defaults live here
    only. An empty `database_url` / `redis_url` means the embedded servers
    (govmedia/engines.py), started under the instance folder.
    """

    # The instance folder (demo credentials, the embedded servers' data); default instance/.
    instance_path: str = _setting("", "GOVMEDIA_INSTANCE_PATH")
    database_url: str = _setting("", "DATABASE_URL")
    redis_url: str = _setting("", "REDIS_URL")
    secret_key: str = _setting("dev-only-change-me", flask=True)
    # Keys the encryption of platform credentials; SECRET_KEY when empty.
    credentials_key: str = _setting("")
    wechat_api_base_url: str = _setting("https://api.weixin.qq.com")
    weibo_api_base_url: str = _setting("https://api.weibo.com")
    # Douyin open platform (docs/ADAPTERS.md): the product's application (client_key and
    # secret, one per deployment), the part size of video uploads (the platform wants 5-20 MB
    # parts; tests use smaller ones), how often a post under platform review is checked, and
    # how long before expiry a token is refreshed.
    douyin_api_base_url: str = _setting("https://open.douyin.com")
    douyin_client_key: str = _setting("")
    douyin_client_secret: str = _setting("")
    douyin_part_bytes: int = _setting(20 * 1024 * 1024)
    douyin_single_upload_max_bytes: int = _setting(50 * 1024 * 1024)
    douyin_review_check_seconds: float = _setting(60.0)
    douyin_refresh_before_seconds: int = _setting(24 * 3600)
    # Article videos: where the uploaded files live (default: instance/videos) and the largest
    # upload accepted; ffprobe and ffmpeg are Debian's (scripts/install-system-deps.sh).
    video_dir: str = _setting("")
    video_max_bytes: int = _setting(4 * 1024 * 1024 * 1024)
    ffprobe_path: str = _setting("ffprobe")
    ffmpeg_path: str = _setting("ffmpeg")
    # Larger request bodies are refused with 413 `too_large`.
    max_content_length: int = _setting(16 * 1024 * 1024, flask=True)
    # scrypt in production; tests choose a cheap method so a login does not cost 100 ms.
    password_hash_method: str = _setting("scrypt")
    import_max_bytes: int = _setting(10 * 1024 * 1024)
    import_max_rows: int = _setting(50_000)
    publisher_cover_max_bytes: int = _setting(5 * 1024 * 1024)
    api_token_hours: int = _setting(12)
    login_max_failures: int = _setting(5)
    login_failure_window_minutes: int = _setting(15)
    session_hours: int = _setting(12)
    session_cookie_secure: bool = _setting(False, flask=True)
    # Reverse proxies in front of gunicorn whose X-Forwarded-* headers are trusted (DEPLOY.md).
    trusted_proxies: int = _setting(0)
    # How often each worker looks for a due periodic job (each slot is claimed once in Redis);
    # with the sweep's period, it bounds how soon a dead worker's deliveries are taken over.
    periodic_tick_seconds: float = _setting(5.0)
    # Fan-out (docs/FANOUT.md): retry backoff in seconds (the last value repeats), automatic
    # attempts, how long a job owns a delivery it claimed (a heartbeat renews it every third
    # of it while the job runs: a dead worker's rows are free after one lease), the sweep.
    # Lease + sweep + tick bound the takeover of a killed worker's deliveries: 30+10+5 < 60 s.
    delivery_backoff_seconds: str = _setting("5,30,120,600")
    delivery_max_attempts: int = _setting(6)
    delivery_lease_seconds: int = _setting(30)
    delivery_sweep_seconds: int = _setting(10)
    # A job that waited this long without running (Redis restarted empty) is enqueued again.
    delivery_requeue_seconds: float = _setting(300.0)
    # A platform's own "retry after" hint (3600 s for a daily quota) is honoured up to this.
    delivery_retry_after_max_seconds: float = _setting(3600.0)
    delivery_stuck_minutes: int = _setting(15)
    # Publishing tasks (docs/PUBLISHER.md): working days to do one, the screenshot's limit.
    publishing_task_workdays: int = _setting(PUBLISHING_TASK_WORKDAYS)
    publishing_task_screenshot_max_bytes: int = _setting(5 * 1024 * 1024)
    adapter_timeout: float = _setting(10.0)
    wechat_poll_interval: float = _setting(2.0)
    wechat_poll_attempts: int = _setting(30)
    # Send to the stand-in platforms (standins/) instead of WeChat and Weibo. On by default
    # only in the embedded run with no platform URL configured.
    standin_platforms: bool | None = _setting(None)
    # Supervision: clean-up candidates, near-same names, orders, trend, reminders.
    supervision_low_followers: int = _setting(500)
    supervision_low_reads: int = _setting(1000)
    supervision_name_similarity: int = _setting(90)  # rapidfuzz ratio, 0-100
    supervision_rectification_workdays: int = _setting(RECTIFICATION_WORKDAYS)
    supervision_trend_weeks: int = _setting(12)
    supervision_verification_notice_days: int = _setting(30)
    supervision_apply_seconds: int = _setting(15)
    # Supervision figures kept in Redis while the database is unchanged
    # (registry/supervision/figure_cache.py): seconds an entry stays; 0: computed every read.
    supervision_figure_cache_seconds: int = _setting(600)
    # Activity sync (issue 14): how often it runs, how long a quota or rate limit defers an
    # account (the platform's own hint wins), accounts per job, pages per listing per run,
    # and how many days of WeChat's data API a first run reads back (one call a day).
    # ACTIVITY_SYNC_SECONDS 0 switches the periodic sync off.
    activity_sync_seconds: int = _setting(3600)
    activity_sync_defer_seconds: int = _setting(3600)
    activity_sync_batch: int = _setting(50)
    activity_sync_max_pages: int = _setting(10)
    activity_sync_datacube_days: int = _setting(3)
    # Evidence of updates off-API: the screenshot's size limit and where screenshots are
    # kept (empty: <instance>/evidence).
    evidence_max_bytes: int = _setting(5 * 1024 * 1024)
    # Uploaded images no article shows (publisher.covers.remove_unused_images) go after this.
    unused_image_days: int = _setting(7)
    evidence_dir: str = _setting("")
    # E-mail for reminders; no host: in-product notifications only.
    smtp_host: str = _setting("")
    smtp_port: int = _setting(25)
    smtp_username: str = _setting("")
    smtp_password: str = _setting("")
    smtp_from: str = _setting("govmedia@localhost")
    smtp_starttls: bool = _setting(False)
    smtp_ssl: bool = _setting(False)
    public_base_url: str = _setting("")
    # Interaction inbox: the largest callback body a platform may post (a WeChat message is a
    # few hundred bytes; larger is refused with 400). The reply deadline is the rule profile's.
    wechat_callback_max_bytes: int = _setting(64 * 1024)
    # The callback answers once the message is queued in Redis; a job stores the queue in
    # batches of INBOX_DRAIN_BATCH, asked for by the callback and at least every
    # INBOX_DRAIN_SECONDS; after a batch smaller than that it pauses (a steady stream is
    # stored a few commits a second) and it waits this long for more before it ends (one
    # job for a busy spell). Each process keeps a callback account and its credentials this
    # many seconds (0: read them on every callback). docs/INTERACTION.md.
    inbox_drain_batch: int = _setting(500)
    inbox_drain_seconds: int = _setting(10)
    inbox_drain_pause_seconds: float = _setting(0.1)
    inbox_drain_linger_seconds: float = _setting(1.0)
    wechat_callback_cache_seconds: float = _setting(10.0)
    # How often Weibo comments to the accounts (comments/to_me) are pulled into the inbox.
    weibo_comments_pull_seconds: int = _setting(300)
    # The public pages' registry version is re-read at most this often per process.
    public_version_ttl: float = _setting(1.0)
    # The benchmark switches the public response cache off to measure the database path.
    public_cache_disabled: bool = _setting(False)

    @classmethod
    def names(cls) -> dict[str, dataclasses.Field]:
        """Upper-case name -> field."""
        return {f.name.upper(): f for f in dataclasses.fields(cls)}

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None,
             overrides: Mapping[str, Any] | None = None) -> "Settings":
        """From the environment, then `overrides` (upper-case names, as in app.config)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, f in cls.names().items():
            raw = environ.get(f.metadata["env"] or name)
            if raw not in (None, ""):
                values[f.name] = _parse(raw, f.default)
        for name, value in (overrides or {}).items():
            f = cls.names().get(name)
            if f is not None:
                values[f.name] = value
        settings = cls(**values)
        if settings.standin_platforms is None:
            settings.standin_platforms = not any(
                environ.get(name) for name in ("WECHAT_API_BASE_URL", "WEIBO_API_BASE_URL",
                                               "DOUYIN_API_BASE_URL", "DATABASE_URL",
                                               "REDIS_URL"))
        return settings

    def flask_config(self) -> dict[str, Any]:
        """What `create_app` puts into app.config: every setting, plus Flask's own keys."""
        config = {f.name.upper(): getattr(self, f.name) for f in dataclasses.fields(self)}
        config.update(
            SQLALCHEMY_DATABASE_URI=psycopg_url(self.database_url),
            SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            REMEMBER_COOKIE_HTTPONLY=True,
            REMEMBER_COOKIE_SAMESITE="Lax",
            PERMANENT_SESSION_LIFETIME=timedelta(hours=self.session_hours),
            BABEL_DEFAULT_LOCALE="zh",
            BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
            WTF_CSRF_TIME_LIMIT=None,
        )
        return config


def psycopg_url(url: str) -> str:
    """Heroku-style and plain libpq URLs name no driver or the old one: psycopg 3 is installed."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _parse(raw: str, default: Any) -> Any:
    if isinstance(default, bool) or default is None:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw
