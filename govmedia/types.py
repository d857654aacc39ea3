"""Column types shared by every package."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

SHANGHAI = ZoneInfo("Asia/Shanghai")


class UTCDateTime(TypeDecorator):
    """Aware datetimes stored as UTC; SQLite drops offsets, so normalise on the way in and out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def today_shanghai():
    return datetime.now(SHANGHAI).date()


def shanghai_date(instant: datetime):
    """The Asia/Shanghai calendar day of an instant (a post at 01:00 Beijing is that Beijing day)."""
    return instant.astimezone(SHANGHAI).date()
