"""Column types shared by every package."""
import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

SHANGHAI = ZoneInfo("Asia/Shanghai")


class UTCDateTime(TypeDecorator):
    """Aware datetimes stored as UTC (timestamptz); a naive datetime is a programming error."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        return value.astimezone(timezone.utc) if value is not None else None


# The largest id an integer column holds (PostgreSQL `integer`); a larger number in a URL,
# query or body cannot name anything and would overflow the query (500) if it reached one.
DB_INT_MAX = 2**31 - 1


def ascii_int(value, maximum: int = DB_INT_MAX) -> int | None:
    """A non-negative integer in ASCII digits up to `maximum`, else None. str.isdigit() alone
    lets '²' through (int() then fails) and numbers no database column can hold."""
    if not (isinstance(value, str) and value.isascii() and value.isdigit()):
        return None
    return int(value) if len(value) <= 12 and int(value) <= maximum else None


# Dates the product accepts: deadlines and week windows are computed from them, and near
# year 1 or 9999 that arithmetic leaves the calendar (a 500). Anything outside is a typo.
DATE_MIN, DATE_MAX = date(1900, 1, 1), date(2999, 12, 31)
# Characters no text field needs and that break what it is written into: U+0000 (PostgreSQL
# text), the other C0 controls but tab and newlines, lone surrogates and U+FFFE/U+FFFF (XML:
# the Atom feed; XLSX cells).
UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def date_in_range(value: date) -> bool:
    day = value.date() if isinstance(value, datetime) else value
    return DATE_MIN <= day <= DATE_MAX


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def today_shanghai():
    return datetime.now(SHANGHAI).date()


def shanghai_date(instant: datetime):
    """The Asia/Shanghai calendar day of an instant (a post at 01:00 Beijing is that Beijing day)."""
    return instant.astimezone(SHANGHAI).date()
