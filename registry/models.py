"""Units, their accounts, each account's lifecycle events and the filings those events owe."""
from datetime import date, datetime

from sqlalchemy import (JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, LargeBinary,
                        String, Text, UniqueConstraint, false, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govmedia.extensions import db
from govmedia.listing import natural_index, natural_sort_column, trigram_index
from govmedia.types import UTCDateTime, utcnow

# `channels` is 微信视频号 (WeChat Channels), issue 15: published to by publishing tasks.
PLATFORMS = ("wechat", "weibo", "douyin", "kuaishou", "toutiao", "bilibili", "xiaohongshu",
             "channels", "app", "miniprogram", "other")
STATUSES = ("active", "closed", "deregistering", "deregistered")
# Rule 3: an account counts against one-per-platform while it is still on the platform.
COUNTED_STATUSES = ("active", "closed")
EVENT_KINDS = ("open", "change", "close", "reopen", "deregister")
FILING_STATUSES = ("pending", "overdue", "filed", "late")
POST_ORIGINS = ("govmedia", "platform", "manual")


class Unit(db.Model):
    __tablename__ = "units"
    # One name per parent, the top level included (NULLS NOT DISTINCT, PostgreSQL 15+); its
    # leading parent_id also serves the unit tree's walk down (govmedia.auth.subtree_query).
    __table_args__ = (Index("uq_units_parent_name", "parent_id", "name", unique=True,
                            postgresql_nulls_not_distinct=True),
                      trigram_index("ix_units_name_trgm", "name"),
                      natural_index("ix_units_natural_name"))
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    name_sort: Mapped[str] = natural_sort_column()   # "第9" before "第99"
    code: Mapped[str | None] = mapped_column(String(18), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    leader: Mapped[str | None] = mapped_column(String(80))          # 第一责任人
    deputy_leader: Mapped[str | None] = mapped_column(String(80))   # 直接责任人
    office: Mapped[str | None] = mapped_column(String(200))
    contacts: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent = relationship("Unit", remote_side=[id])
    accounts = relationship("Account", back_populates="unit", order_by="Account.id")


class PlatformException(db.Model):
    """A supervisor's reasoned exception to one-account-per-platform (rule 3, 原则上)."""

    __tablename__ = "platform_exceptions"
    __table_args__ = (UniqueConstraint("unit_id", "platform"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    platform: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Account(db.Model):
    __tablename__ = "accounts"
    __table_args__ = (
        Index("ix_accounts_platform_handle", "platform", "handle"),
        Index("ix_accounts_unit_platform", "unit_id", "platform"),
        trigram_index("ix_accounts_name_trgm", "name"),
        trigram_index("ix_accounts_handle_trgm", "handle"),
        natural_index("ix_accounts_natural_name"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    platform: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), index=True)
    name_sort: Mapped[str] = natural_sort_column()   # "第9" before "第99"
    handle: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    opened_on: Mapped[date] = mapped_column(Date)
    reopened_on: Mapped[date | None] = mapped_column(Date)
    verified_subject: Mapped[str | None] = mapped_column(String(200))
    verification_expires_on: Mapped[date | None] = mapped_column(Date)
    office: Mapped[str | None] = mapped_column(String(200))
    staff: Mapped[list] = mapped_column(JSON, default=list)
    last_post_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Derived: first_post_on by supervision's apply_pending, the figures by posts.record_stats.
    first_post_on: Mapped[date | None] = mapped_column(Date)   # Asia/Shanghai day
    followers: Mapped[int | None] = mapped_column(BigInteger)  # latest recorded figures
    reads: Mapped[int | None] = mapped_column(BigInteger)
    stats_on: Mapped[date | None] = mapped_column(Date)
    # A mobile client's (platform `app`) filing with the cyberspace administration (网信备案号)
    # and its current version; an app without a filing number is flagged (issue 16).
    app_filing_number: Mapped[str | None] = mapped_column(String(120))
    app_version: Mapped[str | None] = mapped_column(String(40))
    # WeChat (issue 15): how articles go out, 发布 "publish" (None) or 群发 "mass", and the
    # account's type, which sets the mass-send quota: 订阅号 "subscription" (None) or 服务号
    # "service" (publisher/mass_quota.py).
    wechat_mode: Mapped[str | None] = mapped_column(String(10))
    wechat_type: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit = relationship(Unit, back_populates="accounts")
    events = relationship("AccountEvent", back_populates="account", order_by="AccountEvent.id")
    filings = relationship("Filing", back_populates="account", order_by="Filing.id")

    @property
    def flags(self) -> list[str]:
        """Rule 1 prerequisites that are missing, and an app's missing filing number (网信备案号):
        accepted, but listed for supervision."""
        flags = []
        if not (self.office or "").strip():
            flags.append("missing_office")
        if not self.staff:
            flags.append("missing_staff")
        if self.platform == "app" and not (self.app_filing_number or "").strip():
            flags.append("missing_app_filing")
        return flags


class AccountEvent(db.Model):
    __tablename__ = "account_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    event_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict | None] = mapped_column(JSON)   # {"name": [before, after], ...}
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account = relationship(Account, back_populates="events")
    filing = relationship("Filing", back_populates="event_row", uselist=False)


class Filing(db.Model):
    """What rule 4 owes for one event: filed within 5 working days of the event date."""

    __tablename__ = "filings"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("account_events.id"), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    event_date: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    filed_on: Mapped[date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(120))
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    account = relationship(Account, back_populates="filings")
    event_row = relationship(AccountEvent, back_populates="filing")

    def status_on(self, as_of: date) -> str:
        """Rule 4: pending/overdue until filed by as_of; then filed (on time) or late."""
        if self.filed_on is None or self.filed_on > as_of:
            return "pending" if as_of <= self.due_on else "overdue"
        return "filed" if self.filed_on <= self.due_on else "late"


class Post(db.Model):
    """An update of an account (rule 5), published through the product or recorded from outside."""

    __tablename__ = "posts"
    __table_args__ = (Index("ix_posts_account_published", "account_id", "published_at"),
                      Index("ix_posts_uncounted", "id", postgresql_where=text("NOT counted")),
                      # A link pasted for a task is looked up (hash: a link may be long).
                      Index("ix_posts_url", "url", postgresql_using="hash"),
                      # The platform's own id, once per account (NULLs never clash): the
                      # activity sync and the publisher meet on it instead of doubling a post.
                      UniqueConstraint("account_id", "platform_post_id",
                                       name="uq_posts_account_platform_post"))
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    title: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(1000))
    source: Mapped[str] = mapped_column(String(20), default="api")
    # Where it came from (POST_ORIGINS): sent by govmedia, found on the platform by the
    # activity sync, or recorded by staff (API, post log, evidence).
    origin: Mapped[str] = mapped_column(String(20), default="manual", server_default="manual")
    platform_post_id: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # False until supervision's derived figures include this post: the posts table is the
    # posts' outbox. registry.posts.record_post writes posts uncounted and
    # registry.supervision.pending.apply_pending counts them in batches (its readers apply what
    # is left first, so figures are never stale). Uncounted by default, so a post added any
    # other way goes through the outbox too; only a bulk load followed by a rebuild of the
    # figures (supervision's rebuild_all) may write them counted.
    counted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AccountChange(db.Model):
    """The outbox of account changes that supervision's derived figures follow: written in
    the changing transaction by registry.changes, applied (and deleted) by
    registry.supervision.pending.apply_pending. It keeps what the figures need of the state
    before the change: the status and reopening day then, and whether the name moved."""

    __tablename__ = "account_changes"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    new_account: Mapped[bool] = mapped_column(Boolean, default=False)  # no state before
    status_before: Mapped[str | None] = mapped_column(String(20))
    reopened_on_before: Mapped[date | None] = mapped_column(Date)
    renamed: Mapped[bool] = mapped_column(Boolean, default=False)  # name or platform changed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccountStat(db.Model):
    __tablename__ = "account_stats"
    __table_args__ = (UniqueConstraint("account_id", "as_of"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    followers: Mapped[int] = mapped_column(BigInteger)
    reads: Mapped[int | None] = mapped_column(BigInteger)


class AccountCredential(db.Model):
    """Platform credentials, encrypted at rest; no endpoint ever returns them."""

    __tablename__ = "account_credentials"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    token_expired: Mapped[bool] = mapped_column(Boolean, default=False)


class ImportJob(db.Model):
    """One inventory upload: validated in the background, written all or nothing."""

    __tablename__ = "import_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued/running/failed/done
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list] = mapped_column(JSON, default=list)
    message: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
