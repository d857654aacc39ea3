"""Chinese working days (工作日): chinese_calendar where it has data, a provisional statutory fallback elsewhere."""
from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType

import chinese_calendar
from flask_babel import gettext as _
from lunar_python import Lunar

__all__ = [
    "ScheduleError",
    "WorkCalendar",
    "library_knows",
    "parse_schedule",
    "statutory_holidays",
]

_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=None)
def library_knows(year: int) -> bool:
    """True if chinese_calendar has the State Council schedule for `year`."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:  # the library's way of saying "no data for that year"
        return False
    except ValueError:  # year outside what datetime.date accepts
        return False
    return True


@lru_cache(maxsize=None)
def _statutory(year: int) -> Mapping[date, str]:
    # 《全国年节及纪念日放假办法》 (2024 revision, in force from 2025), applied to any year:
    # it is only used for years chinese_calendar does not know, which in practice are future years.
    days: dict[date, str] = {}

    def add(d: date, name: str) -> None:
        # 中秋 can fall on 国庆 (e.g. 2020-10-01); keep one day, name both.
        days[d] = f"{days[d]}、{name}" if d in days and name not in days[d] else name

    add(date(year, 1, 1), "元旦")
    # 除夕 = lunar new year minus one day: lunar month 12 has 29 or 30 days,
    # and Lunar.fromYmd(y, 12, 30) raises when it has 29.
    new_year = _solar(Lunar.fromYmd(year, 1, 1))
    for offset in range(-1, 3):  # 除夕 .. 正月初三
        add(new_year + timedelta(days=offset), "春节")
    # The lunar-year table runs from the previous 冬至; its '清明' is always in solar `year`.
    add(_solar(Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]), "清明节")
    add(date(year, 5, 1), "劳动节")
    add(date(year, 5, 2), "劳动节")
    add(_solar(Lunar.fromYmd(year, 5, 5)), "端午节")
    for day in (1, 2, 3):
        add(date(year, 10, day), "国庆节")
    add(_solar(Lunar.fromYmd(year, 8, 15)), "中秋节")
    return MappingProxyType(dict(sorted(days.items())))


def _solar(obj) -> date:
    solar = obj.getSolar() if hasattr(obj, "getSolar") else obj
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def statutory_holidays(year: int) -> dict[date, str]:
    """The fixed statutory holiday days of `year` (date -> Chinese name), sorted by date."""
    return dict(_statutory(year))  # a copy: the cached mapping is shared


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):  # e.g. straight from a database column
        return date.fromisoformat(value.strip())
    raise TypeError(f"not a date: {value!r}")


class WorkCalendar:
    """Working-day arithmetic with admin overrides (True = working day, False = holiday).

    Overrides beat everything, including chinese_calendar. Years the library does not know
    are computed from statutory_holidays() and are provisional unless listed in confirmed_years.
    """

    def __init__(
        self,
        overrides: Mapping[date, bool] | Iterable[tuple[date, bool]] = (),
        confirmed_years: Iterable[int] = (),
    ):
        items = overrides.items() if isinstance(overrides, Mapping) else overrides
        by_year: dict[int, dict[int, bool]] = {}
        for entry in items:
            # entry[:2] lets parse_schedule()'s (date, bool, name) triples be passed straight in.
            d, working = _as_date(entry[0]), bool(entry[1])
            by_year.setdefault(d.year, {})[d.toordinal()] = working
        self._overrides = by_year
        self._confirmed = frozenset(int(y) for y in confirmed_years)
        # year -> sorted ordinals of working days, and the same as a set; built lazily.
        self._lists: dict[int, list[int]] = {}
        self._sets: dict[int, frozenset[int]] = {}

    def _year(self, year: int) -> list[int]:
        days = self._lists.get(year)
        if days is None:
            days = self._build(year)
            self._lists[year] = days
            self._sets[year] = frozenset(days)
        return days

    def _build(self, year: int) -> list[int]:
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        if library_knows(year):
            working = {o for o in range(first, last + 1)
                       if chinese_calendar.is_workday(date.fromordinal(o))}
        else:
            holidays = {d.toordinal() for d in _statutory(year)}
            # date.weekday(): Monday = 0 .. Friday = 4
            working = {o for o in range(first, last + 1)
                       if date.fromordinal(o).weekday() < 5 and o not in holidays}
        for o, is_working in self._overrides.get(year, {}).items():
            if is_working:
                working.add(o)
            else:
                working.discard(o)
        return sorted(working)

    def is_workday(self, d: date) -> bool:
        d = _as_date(d)
        self._year(d.year)
        return d.toordinal() in self._sets[d.year]

    def is_provisional_year(self, year: int) -> bool:
        return not library_knows(year) and year not in self._confirmed

    def is_provisional(self, d: date) -> bool:
        """True if `d` lies in a year whose schedule is a statutory-rule estimate only."""
        return self.is_provisional_year(_as_date(d).year)

    def add_workdays(self, start: date, n: int) -> tuple[date, bool]:
        """The n-th working day after `start` (start not counted), and whether it is provisional."""
        start = _as_date(start)
        if n < 1:
            raise ValueError("n must be >= 1")
        year = start.year
        days = self._year(year)
        i = bisect_right(days, start.toordinal())
        while i + n > len(days):
            n -= len(days) - i
            year += 1
            if year > date.max.year:
                raise OverflowError("no such working day before year 9999 ends")
            days = self._year(year)
            i = 0
        result = date.fromordinal(days[i + n - 1])
        first_year = start.year if start.month != 12 or start.day != 31 else start.year + 1
        provisional = any(self.is_provisional_year(y) for y in range(first_year, result.year + 1))
        return result, provisional

    def workday_back(self, end: date, n: int) -> date:
        """The n-th working day counting back from `end` (end itself counted if it works)."""
        end = _as_date(end)
        if n < 1:
            raise ValueError("n must be >= 1")
        year = end.year
        days = self._year(year)
        i = bisect_right(days, end.toordinal())
        while i < n:
            n -= i
            year -= 1
            if year < date.min.year:
                raise OverflowError("no such working day after year 1 begins")
            days = self._year(year)
            i = len(days)
        return date.fromordinal(days[i - n])

    def workdays_between(self, start: date, end: date) -> int:
        """Number of working days in (start, end]; 0 if end <= start."""
        start, end = _as_date(start), _as_date(end)
        if end <= start:
            return 0
        s, e = start.toordinal(), end.toordinal()
        total = 0
        for year in range(start.year, end.year + 1):
            days = self._year(year)
            total += bisect_right(days, e) - bisect_right(days, s)
        return total


# ---------------------------------------------------------------- admin schedule entry

class ScheduleError(ValueError):
    """A bad line in an admin-entered schedule; .message is the whole text with the line
    number (第N行：… in Chinese)."""

    def __init__(self, line: int, message: str):
        self.line = line
        self.message = _("Line %(line)s: %(message)s", line=line, message=message)
        super().__init__(self.message)


_KINDS = {
    "holiday": False, "休": False, "假": False, "放假": False, "休息": False, "休假": False,
    "workday": True, "班": True, "上班": True, "补班": True, "工作日": True,
}
_HEADER_FIRST = {"date", "日期"}
_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_RANGE_RE = re.compile(r"\s*(?:~|～|\.\.|至)\s*")
_MAX_RANGE_DAYS = 31  # no holiday block is this long; a longer range is a typo
_MAX_NAME = 80        # the column's length (govmedia/models.py HolidayOverride.name)


def _parse_date(text: str, lineno: int) -> date:
    m = _DATE_RE.match(text.strip())
    if not m:
        raise ScheduleError(lineno, _("Write dates as YYYY-MM-DD (got “%(text)s”)",
                                      text=text.strip()))
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ScheduleError(lineno, _("No such date: %(text)s", text=text.strip())) from None


def parse_schedule(text: str) -> list[tuple[date, bool, str]]:
    """Parse `YYYY-MM-DD[~YYYY-MM-DD],KIND[,NAME]` lines into sorted (date, is_workday, name)."""
    seen: dict[date, tuple[bool, str, int]] = {}
    for lineno, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.replace("，", ",").split(",", 2)]
        if fields[0].lower() in _HEADER_FIRST:
            continue
        if len(fields) < 2 or not fields[1]:
            raise ScheduleError(lineno, _("The kind is missing: holiday/休/假 or workday/班/上班"))
        kind = _KINDS.get(fields[1].lower())
        if kind is None:
            raise ScheduleError(lineno, _("Unknown kind “%(kind)s”: holiday/休/假 or "
                                          "workday/班/上班", kind=fields[1]))
        name = fields[2] if len(fields) > 2 else ""
        if len(name) > _MAX_NAME:
            raise ScheduleError(lineno, _("The name must not exceed %(max)s characters "
                                          "(got %(count)s)", max=_MAX_NAME, count=len(name)))

        parts = _RANGE_RE.split(fields[0])
        if len(parts) == 1:
            first = last = _parse_date(parts[0], lineno)
        elif len(parts) == 2:
            first, last = _parse_date(parts[0], lineno), _parse_date(parts[1], lineno)
            if last < first:
                raise ScheduleError(lineno, _("The range ends before it begins"))
            if (last - first).days >= _MAX_RANGE_DAYS:
                raise ScheduleError(lineno, _("The range is longer than %(days)s days: check "
                                              "it", days=_MAX_RANGE_DAYS))
        else:
            raise ScheduleError(lineno, _("Write ranges as YYYY-MM-DD~YYYY-MM-DD"))

        d = first
        while d <= last:
            if d in seen and seen[d][0] != kind:
                raise ScheduleError(lineno, _("%(day)s: the kind conflicts with line %(line)s",
                                              day=d.isoformat(), line=seen[d][2]))
            if d not in seen or (name and not seen[d][1]):
                seen[d] = (kind, name, lineno)
            d += _ONE_DAY
    return [(d, kind, name) for d, (kind, name, _) in sorted(seen.items())]
