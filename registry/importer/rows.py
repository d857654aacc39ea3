"""Parsing the rows of an inventory: dates, platforms, staff, and the API's own field rules."""
import re
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime
from unicodedata import is_normalized

from flask_babel import gettext as _
from openpyxl.utils.datetime import from_excel
from pydantic import ValidationError

from govmedia.errors import DomainError
from govmedia.types import today_shanghai

from ..checks import opening_filing_problems, validate_credit_code
from ..models import PLATFORMS
from ..schemas import AccountIn
from .columns import (COLUMN, COLUMNS, PLATFORM_KEYS, PLATFORM_NAMES, REQUIRED, DATE_KEYS,
                      ROLE_KEYS, norm_word)
from .reading import Table, cell_text

_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                   r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


def parse_date(value) -> date:
    """A date cell or text; ValueError with a message for the user otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and 19000101 <= value <= 29991231:
            value = str(int(value))
        elif 1 <= value < 2958466:   # an Excel serial day number in a cell not formatted as date
            return from_excel(value).date()
    raw = cell_text(value)
    match = _DATE.fullmatch(raw) or _COMPACT_DATE.fullmatch(raw)
    if not match:
        raise ValueError(_("Date not recognised: “%(value)s”; write it like 2024-03-15, "
                           "2024/3/15 or 2024年3月15日", value=raw))
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ValueError(_("“%(value)s” is not a valid date", value=raw)) from None


def parse_platform(value) -> str:
    raw = cell_text(value)
    code = PLATFORM_KEYS.get(norm_word(raw))
    if code is None:
        names = "、".join(names[0] for names in PLATFORM_NAMES.values())
        raise ValueError(_("Unknown platform “%(value)s”: write %(names)s, or a code: %(codes)s",
                           value=raw, names=names, codes=", ".join(PLATFORMS)))
    return code


_PEOPLE = re.compile(r"[;；、\r\n]+")
_PARTS = re.compile(r"[/／|｜,，:：()（）\[\]【】\s]+")
_PHONE = re.compile(r"\+?\d[\d\-]{4,}\d(?:(?:转|ext\.?|-)\d{1,6})?", re.IGNORECASE)
_STAFF_LABELS = {"姓名", "名字", "电话", "手机", "手机号", "手机号码", "联系电话", "联系方式", "角色",
                 "name", "phone", "tel", "mobile", "role"}


def staff_hint() -> str:
    return _("Write name/mobile/role, people separated by semicolons, e.g. "
             "张三/13800000000/管理员；李四/13900000000/运营")


_LABEL, _NAME, _PHONE_NUMBER = object(), object(), object()


@lru_cache(maxsize=4096)
def _word_kind(part: str):
    """A part of a staff cell: a label to skip, a phone number, a role (its code) or a name."""
    # A part holds no whitespace (split on it): when NFKC leaves it as it is (always for
    # ASCII), norm_word(part) is part.lower().
    word = part.lower() if part.isascii() or is_normalized("NFKC", part) else norm_word(part)
    if word in _STAFF_LABELS:
        return _LABEL
    if _PHONE.fullmatch(part):
        return _PHONE_NUMBER
    return ROLE_KEYS.get(word, _NAME)


def parse_staff(value) -> list[dict]:
    """管理人员 cell → [{name, phone, platform_role}]; ValueError naming the part not understood.

    Read as a sequence of words: a word that is neither a phone number nor a role starts the
    next person; a phone number or a role belongs to the person before it. So
    ``张三/13800000000/管理员；李四`` and ``张三 13800000000 管理员 李四`` and ``张三、李四`` all read.
    """
    people = []
    for chunk in _PEOPLE.split(cell_text(value)):
        chunk = chunk.strip()
        person = None
        for part in _PARTS.split(chunk):
            if not part:
                continue
            kind = _word_kind(part)
            if kind is _LABEL:
                continue
            if kind is _NAME:
                person = {"name": part, "phone": "", "platform_role": "operator"}
                people.append(person)
                continue
            if person is None:
                raise ValueError(_("A name is missing before “%(part)s” (in “%(chunk)s”); "
                                   "%(hint)s", part=part, chunk=chunk, hint=staff_hint()))
            if kind is _PHONE_NUMBER:
                if person["phone"]:
                    raise ValueError(_("%(name)s has two phone numbers “%(first)s” and "
                                       "“%(second)s”; %(hint)s", name=person["name"],
                                       first=person["phone"], second=part, hint=staff_hint()))
                person["phone"] = part
            else:
                person["platform_role"] = kind
    return people


# --- rows -------------------------------------------------------------------------------------

@dataclass(slots=True)
class Row:
    number: int
    unit_name: str = ""
    unit_code: str | None = None
    platform: str | None = None
    name: str = ""
    handle: str = ""
    verified_subject: str | None = None
    verification_expires_on: date | None = None
    opened_on: date | None = None
    office: str | None = None
    staff: list = field(default_factory=list)
    filed_on: date | None = None
    filing_reference: str | None = None
    bad: set = field(default_factory=set)        # keys with an error


_PYDANTIC_FIELD = {"unit_id": "unit_name", "filing_reference": "filing_reference"}


def _pydantic_message(item: dict) -> str:
    kind, ctx = item["type"], item.get("ctx") or {}
    if kind == "missing" or kind == "string_too_short":
        return _("is required and must not be empty")
    if kind == "string_too_long":
        return _("must not exceed %(max)s characters", max=ctx.get("max_length"))
    if kind == "too_long":
        return _("must not exceed %(max)s entries", max=ctx.get("max_length"))
    return item["msg"]


class Errors:
    def __init__(self, table: Table | None):
        self.items: list[dict] = []
        self.table = table

    def column(self, key: str) -> str:
        if self.table is not None and key in self.table.columns:
            return self.table.columns[key][1]
        return COLUMN[key].header

    def add(self, row: Row | int, key: str | None, message: str, code: str = "invalid"):
        number = row.number if isinstance(row, Row) else row
        if isinstance(row, Row) and key:
            row.bad.add(key)
        self.items.append({"row": number, "column": self.column(key) if key else None,
                           "message": message, "code": code})


_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?E\+\d+", re.IGNORECASE)


class Memo:
    """What one import has already worked out: the answer for a cell text seen before (a
    province's file repeats its platforms and dates thousands of times), and today's date."""

    def __init__(self):
        self.today = today_shanghai()
        self.platforms: dict[str, tuple] = {}
        self.dates: dict[str, tuple] = {}

    def platform(self, text: str) -> str:
        found = self.platforms.get(text)
        if found is None:
            try:
                found = self.platforms[text] = (parse_platform(text), None)
            except ValueError as exc:
                found = self.platforms[text] = (None, str(exc))
        if found[1] is not None:
            raise ValueError(found[1])
        return found[0]

    def date(self, value, text: str) -> date:
        # The answer for a text cell rests on its text alone; a date cell is quick anyway.
        if not isinstance(value, str):
            return parse_date(value)
        found = self.dates.get(text)
        if found is None:
            try:
                found = self.dates[text] = (parse_date(text), None)
            except ValueError as exc:
                found = self.dates[text] = (None, str(exc))
        if found[1] is not None:
            raise ValueError(found[1])
        return found[0]


def parse_row(number: int, values: list, table: Table, errors: Errors,
              default_unit: bool, memo: Memo | None = None) -> Row:
    memo = memo or Memo()
    row = Row(number)
    cols = table.columns
    width = len(values)
    raws = {key: values[index] if index < width else None for key, (index, _label) in cols.items()}
    texts = {key: cell_text(value) for key, value in raws.items()}
    text = texts.get

    if table.kind == "csv" and width > table.width:
        extra = [i for i in range(table.width, width) if cell_text(values[i])]
        if extra:
            errors.add(row, None, _("This row has %(extra)s cells more than the header (from "
                                    "column %(column)s on), perhaps a comma without quotes in "
                                    "the text: the row cannot be read column by column",
                                    extra=width - table.width, column=extra[0] + 1),
                       code="broken_row")
            row.bad.add("row")
            return row

    row.unit_name = text("unit_name", "")
    code = text("unit_code", "")
    if code:
        try:
            row.unit_code = validate_credit_code(code.upper())
        except DomainError:
            errors.add(row, "unit_code", _("The unified social credit code “%(code)s” is "
                                           "invalid: it has 18 characters and the last, a "
                                           "check character, must match the first 17",
                                           code=code))
    if not row.unit_name and not code and not default_unit:
        errors.add(row, "unit_name" if "unit_name" in cols else "unit_code",
                   _("Required: fill in the sponsor unit or its unified social credit code"),
                   code="required")

    for key in REQUIRED:
        if not text(key):
            errors.add(row, key, _("Required: %(column)s must not be empty",
                                   column=COLUMN[key].header), code="required")
    if "platform" not in row.bad:
        try:
            row.platform = memo.platform(text("platform"))
        except ValueError as exc:
            errors.add(row, "platform", str(exc), code="unknown_platform")
    row.name = text("name", "")
    handle_value = raws.get("handle")
    row.handle = text("handle", "")
    if "handle" not in row.bad and (_SCIENTIFIC.fullmatch(row.handle) or (
            isinstance(handle_value, float) and abs(handle_value) >= 2 ** 53)):
        errors.add(row, "handle", _("Excel has turned the account ID “%(handle)s” into "
                                    "scientific notation or lost digits: format the column as "
                                    "“Text”, fill it in again and import", handle=row.handle))
    for key in DATE_KEYS:
        if key in row.bad or not text(key):
            continue
        try:
            setattr(row, key, memo.date(raws[key], texts[key]))
        except ValueError as exc:
            errors.add(row, key, str(exc), code="bad_date")
    row.verified_subject = text("verified_subject") or None
    row.office = text("office") or None
    row.filing_reference = text("filing_reference") or None
    if text("staff"):
        try:
            row.staff = parse_staff(texts["staff"])
        except ValueError as exc:
            errors.add(row, "staff", str(exc))
    problems = opening_filing_problems(row.opened_on, row.filed_on, row.filing_reference,
                                       memo.today)
    if problems:
        _filing_problems(row, problems, errors)
    _field_rules(row, errors)
    return row


def _filing_problems(row: Row, problems: dict, errors: Errors) -> None:
    for key in ("opened_on", "filed_on"):
        if problems.get(key) == "in_future":
            errors.add(row, key, _("The date %(date)s is in the future: it can only be entered "
                                   "once it has passed", date=getattr(row, key).isoformat()))
    problem = problems.get("filed_on")
    if problem == "required" and "filed_on" not in row.bad:
        errors.add(row, "filed_on", _("A filing reference needs its filing date"),
                   code="required")
    elif problem == "before_opened_on":
        errors.add(row, "filed_on", _("The filing date %(filed_on)s is before the opening date "
                                      "%(opened_on)s", filed_on=row.filed_on.isoformat(),
                                      opened_on=row.opened_on.isoformat()))


def _field_rules(row: Row, errors: Errors) -> None:
    """The API's own field rules (lengths, staff entries): what POST /api/v1/accounts refuses,
    the import refuses too. Fields already reported get harmless stand-ins."""
    candidate = {"unit_id": 0, "platform": row.platform or "other",
                 "name": row.name if "name" not in row.bad else "-",
                 "handle": row.handle if "handle" not in row.bad else "-",
                 "opened_on": row.opened_on or date(2000, 1, 1),
                 "verified_subject": row.verified_subject,
                 "verification_expires_on": row.verification_expires_on,
                 "office": row.office, "staff": row.staff if "staff" not in row.bad else [],
                 "filed_on": row.filed_on, "filing_reference": row.filing_reference}
    try:
        AccountIn.model_validate(candidate)
    except ValidationError as exc:
        for item in exc.errors():
            key = _PYDANTIC_FIELD.get(item["loc"][0], item["loc"][0])
            if key in row.bad or key not in COLUMN:
                continue
            message = _pydantic_message(item)
            if key == "staff" and len(item["loc"]) > 2:
                part = {"name": _("name"), "phone": _("phone")}.get(item["loc"][2],
                                                                    item["loc"][2])
                message = _("Person %(number)s: %(field)s %(problem)s",
                            number=item["loc"][1] + 1, field=part, problem=message)
            errors.add(row, key, message)


# The template's example row: skipped at import as long as it is left unchanged.
EXAMPLE = {c.key: c.example for c in COLUMNS}


def is_example(row: Row) -> bool:
    return (row.unit_name == EXAMPLE["unit_name"] and row.name == EXAMPLE["name"]
            and row.handle == EXAMPLE["handle"])


