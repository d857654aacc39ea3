"""Public notices of deregistrations, closings and changes (rule 6), their amendments and the
take-down checklist of apps and mini programs."""
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govmedia.extensions import db
from govmedia.types import UTCDateTime, utcnow

# Why a unit deregisters (or closes) an account: 004 §三(四).
REASON_CATEGORIES = ("unit_abolished", "merged", "cannot_maintain")
TAKEDOWN_KINDS = ("store", "link")
# Accounts that are mobile clients: taken down from every store and every link removed (rule 6).
CHECKLIST_PLATFORMS = ("app", "miniprogram")


class Notice(db.Model):
    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))          # the event's kind
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("account_events.id"), unique=True)
    unit_name: Mapped[str] = mapped_column(String(200))
    account_name: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(20))
    handle: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date, index=True)
    provisional: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)   # internal: never public
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The decision behind the notice (rule 6 counts one month from it).
    decided_on: Mapped[date | None] = mapped_column(Date)
    reason_category: Mapped[str | None] = mapped_column(String(30))
    successor: Mapped[str | None] = mapped_column(Text)          # where content and services go
    contact: Mapped[str | None] = mapped_column(String(200))     # the contact office, public
    internal_note: Mapped[str | None] = mapped_column(Text)      # never public
    prior_status: Mapped[str | None] = mapped_column(String(20))  # status before the event
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    account = relationship("Account")
    amendments = relationship("NoticeAmendment", back_populates="notice",
                              order_by="NoticeAmendment.id")


class NoticeAmendment(db.Model):
    """A sponsor's change of a notice's text; every version is kept."""

    __tablename__ = "notice_amendments"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    text_before: Mapped[str] = mapped_column(Text)
    text_after: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    notice = relationship(Notice, back_populates="amendments")


class TakedownItem(db.Model):
    """One app store or one portal link an app or mini program must leave before deregistration."""

    __tablename__ = "takedown_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))                # store | link
    label: Mapped[str] = mapped_column(String(500))              # store name or the link
    done_on: Mapped[date | None] = mapped_column(Date)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
