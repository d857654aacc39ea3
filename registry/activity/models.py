"""The activity sync's cursor per account, and staff's evidence of updates made off-API."""
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govmedia.extensions import db
from govmedia.types import UTCDateTime, utcnow

EVIDENCE_STATUSES = ("recorded", "rejected")


class SyncCursor(db.Model):
    """How far the activity sync has read an account's posts on its platform. Advanced only
    when the account's pass is complete, so a run that stops half-way reads the rest again
    (posts are idempotent by the platform's id)."""

    __tablename__ = "activity_cursors"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    since_id: Mapped[str | None] = mapped_column(String(40))        # Weibo: highest status id
    publish_time: Mapped[int | None] = mapped_column(BigInteger)    # WeChat, Douyin: newest time
    datacube_day: Mapped[date | None] = mapped_column(Date)         # WeChat: last day read
    deferred_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # quota, rate limit
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    posts_found: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class Evidence(db.Model):
    """An update of an account without a platform API, shown by its URL and a screenshot.
    Its post counts while the evidence stands; a supervisor's rejection removes the post (the
    evidence keeps what was claimed)."""

    __tablename__ = "post_evidence"
    __table_args__ = (Index("ix_post_evidence_account", "account_id", "created_at"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    post_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("posts.id", ondelete="SET NULL"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    title: Mapped[str] = mapped_column(String(500))
    url: Mapped[str] = mapped_column(String(1000))
    screenshot: Mapped[str] = mapped_column(String(200))           # file name in the store
    screenshot_type: Mapped[str] = mapped_column(String(20))       # image/png, image/jpeg
    status: Mapped[str] = mapped_column(String(20), default="recorded")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str | None] = mapped_column(Text)
