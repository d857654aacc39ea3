"""Messages from the public to an account, and the replies sent to them from govmedia."""
from datetime import date, datetime

from sqlalchemy import (JSON, Boolean, Computed, Date, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govmedia.extensions import db
from govmedia.types import UTCDateTime, utcnow
from govmedia.wording import say

MESSAGE_STATUSES = ("open", "overdue", "answered")
REPLY_STATUSES = ("queued", "sending", "sent", "failed", "unconfirmed")


class Message(db.Model):
    """One message a member of the public sent to an account (a WeChat MsgId: stored once)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("account_id", "platform_msg_id", name="uq_messages_platform_msg"),
        # The reply window: the sender's latest message on the account.
        Index("ix_messages_account_sender", "account_id", "sender", "received_at"),
        Index("ix_messages_unit_due", "unit_id", "reply_due_on"),
        # The daily reminders read the messages that fell due since their last run.
        Index("ix_messages_reply_due_on", "reply_due_on"),
        # The messages nobody was told of yet (interaction.arrivals): few, read every minute.
        Index("ix_messages_untold", "id", postgresql_where=sql_text("told_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    platform: Mapped[str] = mapped_column(String(20))
    platform_msg_id: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(128))   # WeChat: the OpenID; Weibo: the uid
    # Weibo: the post the comment is under (comments/reply needs it); WeChat: none.
    thread_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20), default="text")
    text: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reply_due_on: Mapped[date] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When its unit's repliers were told it came (None: not yet; interaction.arrivals).
    told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account = relationship("Account")
    replies = relationship("MessageReply", back_populates="message",
                           order_by="MessageReply.id")


class MessageReply(db.Model):
    """A reply typed in govmedia; the row is the job's state (the queue carries only its id)."""

    __tablename__ = "message_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the job is due (now, or after a retry's backoff): the sweep re-sends a queued
    # reply well past it, whose job was lost (Redis away at the commit).
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    error: Mapped[str | None] = mapped_column(Text)
    # The error's words, said again in the reader's language (govmedia.wording); `error`
    # keeps the text of the day.
    error_said: Mapped[dict | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(40))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    message = relationship(Message, back_populates="replies")

    @property
    def error_text(self) -> str | None:
        """The error in the reader's language (its words said again), else as written."""
        return say(self.error_said) if self.error_said else self.error


class ReferenceAnswer(db.Model):
    """A reference answer (答复口径) of a unit: offered when a similar message comes in."""

    __tablename__ = "reference_answers"
    __table_args__ = (
        # Full-text search over the jieba-segmented question and topic ('simple': the words
        # are already cut, PostgreSQL only has to index them).
        Index("ix_reference_answers_terms_tsv", "terms_tsv", postgresql_using="gin"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    topic: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text)
    terms: Mapped[str] = mapped_column(Text, default="")
    # The vector of `terms`, kept by PostgreSQL: ranking reads it instead of building it again
    # for every matching row (22 ms instead of 53 over 100,000 answers, bench/interaction_bench).
    terms_tsv = mapped_column(TSVECTOR, Computed("to_tsvector('simple', terms)", persisted=True))
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
