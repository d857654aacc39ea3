"""Articles, their revisions' reviews, cover images, deliveries and the supervisors' check lists."""
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govmedia.extensions import db
from govmedia.listing import trigram_index
from govmedia.types import UTCDateTime, utcnow

ARTICLE_STATUSES = ("draft", "pending_review", "pending_signoff", "approved", "publishing",
                    "published", "partially_published", "failed", "returned")
# The drafter may change an article until it is signed off; a change voids earlier approvals.
EDITABLE_STATUSES = ("draft", "returned", "pending_review", "pending_signoff")
# After sending, a fix re-enters the reviews (publisher/fanout/, docs/FANOUT.md).
REFIXABLE_STATUSES = ("failed", "partially_published")
# The platforms the publisher sends to by API (publisher.states holds the delivery
# statuses, an enum).
PUBLISHABLE_PLATFORMS = ("wechat", "weibo", "douyin")
TERM_LISTS = ("banned", "caution", "advertising", "domain")


class ArticleImage(db.Model):
    """A validated cover image, kept in the database so it commits or rolls back with its article."""

    __tablename__ = "article_images"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mime: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    # Who uploaded it: a cover chosen on a form that came back with an error is kept as a
    # pending image, and only its uploader may attach it by id (publisher/covers.py).
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArticleVideo(db.Model):
    """An uploaded video: the file lives on disk under VIDEO_DIR, named by its SHA-256 (the
    approval binds to it); type, duration and resolution as ffprobe read them from the file."""

    __tablename__ = "article_videos"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(100))  # under VIDEO_DIR
    original_name: Mapped[str] = mapped_column(String(255), default="")
    size: Mapped[int] = mapped_column(BigInteger)
    format_name: Mapped[str] = mapped_column(String(100))  # ffprobe's format_name
    mime: Mapped[str] = mapped_column(String(40))
    codec: Mapped[str] = mapped_column(String(40))
    duration: Mapped[float] = mapped_column(Float)  # seconds
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # A frame taken with ffmpeg, the cover when the article has none of its own.
    frame_id: Mapped[int | None] = mapped_column(ForeignKey("article_images.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    frame = relationship(ArticleImage)


class Article(db.Model):
    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_unit_status", "unit_id", "status"),
                      trigram_index("ix_articles_title_trgm", "title"))
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # "editor" (drafted here) or "source" (pushed with an upstream review record, 流程前置)
    origin: Mapped[str] = mapped_column(String(20), default="editor")
    title: Mapped[str] = mapped_column(String(200), default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    digest: Mapped[str | None] = mapped_column(String(500))
    author: Mapped[str | None] = mapped_column(String(80))
    source_url: Mapped[str | None] = mapped_column(String(1000))
    weibo_text: Mapped[str | None] = mapped_column(String(500))
    cover_id: Mapped[int | None] = mapped_column(ForeignKey("article_images.id"))
    video_id: Mapped[int | None] = mapped_column(ForeignKey("article_videos.id"))
    target_account_ids: Mapped[list] = mapped_column(JSON, default=list)
    # WeChat targets: "publish" or "mass" for this article; None: each account's own mode.
    wechat_mode: Mapped[str | None] = mapped_column(String(10))
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(30), default="draft")
    # 撤稿 (publisher/fanout/withdraw.py): asked for once; each delivery then ends `withdrawn`.
    withdraw_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # revision counts content changes; content_hash identifies exactly what reviewers saw.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))
    # a round is one pass through the three reviews; a return or an edit ends it
    round: Mapped[int] = mapped_column(Integer, default=0)
    checks: Mapped[list] = mapped_column(JSON, default=list)
    checks_version: Mapped[str | None] = mapped_column(String(40))
    # Set with the final status by the last delivery's job; the sweep writes the article's
    # audit entry (every delivery's outcome) in a batch and clears it (an outbox: the entry
    # is never lost, and no delivery waits for the audit chain's lock).
    delivery_audit_pending: Mapped[bool] = mapped_column(Boolean, default=False,
                                                         server_default=false())
    review_record: Mapped[list | None] = mapped_column(JSON)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit = relationship("Unit")
    drafter = relationship("User", foreign_keys=[created_by_id])
    cover = relationship(ArticleImage)
    video = relationship(ArticleVideo)
    reviews = relationship("ArticleReview", back_populates="article",
                           order_by="ArticleReview.id")
    deliveries = relationship("Delivery", back_populates="article", order_by="Delivery.id")


class ArticleReview(db.Model):
    """One act at one stage: the drafter's submission (1), the review (2), the sign-off (3).

    Rows are never deleted: an edit after submission marks them void, so the history and
    the separation of duties across rounds both rest on them.
    """

    __tablename__ = "article_reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    stage: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(20))  # submit / approve / reject
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    comment: Mapped[str] = mapped_column(Text, default="")
    revision: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    checklist: Mapped[list | None] = mapped_column(JSON)
    confirmations: Mapped[list | None] = mapped_column(JSON)
    upstream: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(String(200))

    article = relationship(Article, back_populates="reviews")
    user = relationship("User")


class ArticleRevision(db.Model):
    """The text of one revision as it was submitted: what the reviewers saw, kept so that a
    resubmitted version can be compared with the one that was returned (publisher/compare.py)."""

    __tablename__ = "article_revisions"
    __table_args__ = (UniqueConstraint("article_id", "revision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    revision: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200), default="")
    digest: Mapped[str | None] = mapped_column(String(500))
    body_html: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArticleComment(db.Model):
    """A reviewer's comment on a passage of the body: the quoted text and where it starts
    and ends in the body's text (code points), on the revision the reviewer saw."""

    __tablename__ = "article_comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    round: Mapped[int] = mapped_column(Integer)
    stage: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(120))
    quote: Mapped[str] = mapped_column(Text)
    quote_start: Mapped[int] = mapped_column(Integer)
    quote_end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(db.Model):
    """One approved revision going to one account; the queue will carry only this row's id."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("article_id", "account_id", "revision"),
                      Index("ix_deliveries_status_next", "status", "next_attempt_at"),
                      Index("ix_deliveries_withdraw_state", "withdraw_state"),
                      Index("ix_deliveries_account_mode", "account_id", "mode"),
                      # "Does another delivery of the article still wait for a job?", asked
                      # by every sent delivery: a probe, not a walk past the article's sent rows.
                      Index("ix_deliveries_article_waiting", "article_id",
                            postgresql_where=text("status IN ('queued', 'retrying', "
                                                  "'unconfirmed')")))
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    # WeChat: "publish" or "mass", fixed at sign-off (the adapter's mode; the quota counts it).
    mode: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # last_error's words to say again in the reader's language, {"said": a message
    # (govmedia.wording)}, with the platform's own {"code", "message"} when it answered one;
    # last_error keeps the words of the day (the worker's language).
    last_error_detail: Mapped[dict | None] = mapped_column(JSON)
    platform_ids: Mapped[dict] = mapped_column(JSON, default=dict)
    post_id: Mapped[str | None] = mapped_column(String(200))
    post_url: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Sending (publisher/fanout/): a job owns the row while lease_until is in the future
    # and claim_token is its own; a lease that ran out means the job died (sweep resumes it).
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    # When a job for the row was last put on the queue (None: never, or the enqueue failed).
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # `attempts` at the last manual retry: the automatic retry budget counts from here.
    retry_from: Mapped[int] = mapped_column(Integer, default=0)
    # 撤稿: None, "pending" (the withdraw job has work) or "failed" (the platform refused).
    withdraw_state: Mapped[str | None] = mapped_column(String(20))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    article = relationship(Article, back_populates="deliveries")
    account = relationship("Account")


class CheckConfig(db.Model):
    """The single row of check settings; absent means the built-in defaults.

    `version` is a fresh random token at every change: compiled matchers are cached under
    it, and a token (unlike a counter) never comes back after the tables are emptied.
    """

    __tablename__ = "check_config"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(40))
    severities: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CheckTerm(db.Model):
    """A word on the banned, caution or advertising list, or an allowed link domain."""

    __tablename__ = "check_terms"
    __table_args__ = (UniqueConstraint("list", "term"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    list: Mapped[str] = mapped_column(String(20))
    term: Mapped[str] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
