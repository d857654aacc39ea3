"""Publishing tasks: a delivery a person carries out by hand, where no publishing API exists."""
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govmedia.extensions import db
from govmedia.types import UTCDateTime, utcnow

TASK_KINDS = ("publish", "takedown")
TASK_STATUSES = ("open", "overdue", "done")


class PublishingTask(db.Model):
    """One delivery's work for the account's staff: post it (`publish`), or after a
    withdrawal remove what was posted by hand (`takedown`). Status is derived, as a filing's:
    done once `done_at` is set, else open until `due_on` and overdue after it."""

    __tablename__ = "publishing_tasks"
    __table_args__ = (
        Index("uq_publishing_tasks_delivery_kind", "delivery_id", "kind", unique=True),
        Index("ix_publishing_tasks_unit_open", "unit_id", "due_on",
              postgresql_where=text("done_at IS NULL AND cancelled_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="publish")
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    platform: Mapped[str] = mapped_column(String(20))
    # Copy-ready, cut to the platform's limits (adapters/platforms.py) when the task was made.
    title: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    # Not to be posted before this day (the sign-off day, or a scheduled article's day);
    # due_on counts its working days from here.
    starts_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    post_url: Mapped[str | None] = mapped_column(String(1000))
    screenshot: Mapped[bytes | None] = mapped_column(LargeBinary)
    screenshot_mime: Mapped[str | None] = mapped_column(String(40))
    screenshot_bytes: Mapped[int | None] = mapped_column(Integer)
    # A publish task whose article was withdrawn before anyone posted it: no work left.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    delivery = relationship("Delivery")
    article = relationship("Article")
    account = relationship("Account")

    def status_on(self, as_of: date) -> str:
        if self.done_at is not None:
            return "done"
        return "open" if as_of <= self.due_on else "overdue"
