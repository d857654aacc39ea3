"""Supervision: derived update gaps and counts, name index, rectification orders, reports, notifications."""
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govmedia.extensions import db
# The notifications moved to the core (govmedia.notify sends them for every package).
from govmedia.models import Notification, NotificationAddress  # noqa: F401
from govmedia.types import UTCDateTime, utcnow

from ..models import Account

RECTIFICATION_STATUSES = ("open", "answered", "closed")


class UpdateGap(db.Model):
    """A stretch between two consecutive update days of an account (Asia/Shanghai days).

    Derived from posts, brought up to date by pending.apply_pending. Only stretches long enough to
    reach the shortest warning band a rule profile may set (6 days or more) are kept, plus the open one after the last
    update, so "which accounts are in the band as of T" is a range query, not a scan of posts.
    """

    __tablename__ = "supervision_gaps"
    # "Stretches containing [T-7, T]": end_day IS NULL or > T, and start_day <= T-7; one
    # composite index serves both halves of that OR.
    __table_args__ = (Index("ix_supervision_gaps_end_start", "end_day", "start_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    start_day: Mapped[date] = mapped_column(Date)            # an update day
    end_day: Mapped[date | None] = mapped_column(Date)       # the next one; NULL: none yet


class UnitDay(db.Model):
    """Posts per unit per Asia/Shanghai day, counted as posts arrive (dashboard charts)."""

    __tablename__ = "supervision_unit_days"
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    posts: Mapped[int] = mapped_column(Integer, default=0)


class AccountYear(db.Model):
    """Posts per account per Asia/Shanghai year, and how many of them were published through
    govmedia (the annual report's 原创), counted as posts arrive."""

    __tablename__ = "supervision_account_years"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    posts: Mapped[int] = mapped_column(Integer, default=0)
    original: Mapped[int] = mapped_column(Integer, default=0)


class NameKey(db.Model):
    """An account's name normalised for duplicate detection; refreshed when the name changes."""

    __tablename__ = "supervision_name_keys"
    __table_args__ = (Index("ix_supervision_name_keys_platform_key", "platform", "key"),)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))


class NamePair(db.Model):
    """Two accounts on one platform whose normalised names are near the same (rapidfuzz)."""

    __tablename__ = "supervision_name_pairs"
    __table_args__ = (UniqueConstraint("low_id", "high_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    low_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    high_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    score: Mapped[float] = mapped_column(Float)


class DuplicateDismissal(db.Model):
    """A supervisor's decision that two accounts of a near-same name are not duplicates: the
    pair stays off the likely-duplicates list (audited as duplicate.dismiss)."""

    __tablename__ = "duplicate_dismissals"
    __table_args__ = (UniqueConstraint("low_id", "high_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    low_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    high_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Rectification(db.Model):
    """整改: a finding handed to a unit with a deadline; answered by the unit, closed by a supervisor."""

    __tablename__ = "rectifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))       # dormant, overdue_filing, duplicate, ...
    finding: Mapped[str] = mapped_column(Text)
    issued_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date, index=True)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_on: Mapped[date | None] = mapped_column(Date)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)       # the supervisor's last word
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit = relationship("Unit")
    account = relationship("Account")

    def overdue_on(self, as_of: date) -> bool:
        return self.status != "closed" and as_of > self.deadline


class QuarterlyReport(db.Model):
    """A quarterly inspection report kept exactly as generated (JSON, XLSX and CSV bytes)."""

    __tablename__ = "supervision_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    data: Mapped[dict] = mapped_column(JSON)
    xlsx: Mapped[bytes] = mapped_column(LargeBinary)
    csv: Mapped[bytes] = mapped_column(LargeBinary)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DayTotal(db.Model):
    """Figures over all units per Asia/Shanghai day, kept current as data arrives.

    `band` (`dormant`) is rule 5 as a difference array: how many accounts enter the band of 7+
    (11+) days without an update on `day` minus how many leave it (an update); the number in the
    band as of T is the sum over days <= T — a few hundred rows, whatever the number of
    accounts. Brought up to date by pending.apply_pending from the two outboxes: posts not
    counted yet, and account_changes (a new account, a status or reopening change: its marks
    as before the change are removed and its marks now added). `posts`: posts on the day,
    UnitDay summed.
    """

    __tablename__ = "supervision_day_totals"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    band: Mapped[int] = mapped_column(Integer, default=0)
    dormant: Mapped[int] = mapped_column(Integer, default=0)
    posts: Mapped[int] = mapped_column(Integer, default=0)


# Rule 5 for accounts without a post as of T: "first_post_on IS NULL OR > T" from an index.
Index("ix_accounts_first_post_on", Account.first_post_on)


class AnnualReport(db.Model):
    """The new-media section of the annual work report (年度工作报表, seed 001 §42, rule 14) of
    one year and one node of the unit tree (`unit_id` NULL: every unit), frozen when issued:
    the rows, totals and XLSX are stored as they were then and shown on the public page. One
    issued report per year and node."""

    __tablename__ = "annual_reports"
    __table_args__ = (Index("uq_annual_reports_year_unit", "year", "unit_id", unique=True,
                            postgresql_nulls_not_distinct=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    title: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict] = mapped_column(JSON)
    xlsx: Mapped[bytes] = mapped_column(LargeBinary)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    issued_by = relationship("User", foreign_keys=[issued_by_id])


class SpotCheck(db.Model):
    """The quarterly spot check's sample (抽查, issue 16) of one quarter and one node of the unit
    tree (`unit_id` NULL: every unit): drawn once, reproducibly (spotcheck.py), and kept with the
    seed, the share and the population it was drawn from. One draw per quarter and node that is
    not voided."""

    __tablename__ = "spot_checks"
    __table_args__ = (Index("uq_spot_checks_quarter_unit", "year", "quarter", "unit_id",
                            unique=True, postgresql_nulls_not_distinct=True,
                            postgresql_where=text("voided_at IS NULL")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    share: Mapped[str] = mapped_column(String(20))          # a decimal, exactly as applied
    population_ids: Mapped[list] = mapped_column(JSON)      # the active accounts, by id
    account_ids: Mapped[list] = mapped_column(JSON)         # the sample, by id
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)

    drawn_by = relationship("User", foreign_keys=[drawn_by_id])


class ReminderRun(db.Model):
    """The latest day a daily reminder source ran for (registry.supervision.jobs): the next
    run reads only what fell due since then, so a run stays flat however much is overdue."""

    __tablename__ = "reminder_runs"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_day: Mapped[date] = mapped_column(Date)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
