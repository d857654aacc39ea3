"""Parsing the rows of an inventory: dates, platforms, staff, and the API's own field rules."""
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from openpyxl.utils.datetime import from_excel
from pydantic import ValidationError

from govmedia.errors import DomainError

from ..checks import opening_filing_problems, validate_credit_code
from ..models import PLATFORMS
from ..schemas import AccountIn
from .columns import (COLUMN, COLUMNS, PLATFORM_KEYS, PLATFORM_NAMES, REQUIRED, DATE_KEYS,
                      ROLE_KEYS, norm_word)
from .reading import Table, cell_text

_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                   r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_HINT = "请填写如 2024-03-15、2024/3/15 或 2024年3月15日"


def parse_date(value) -> date:
    """A date cell or text; ValueError with a Chinese message otherwise."""
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
        raise ValueError(f"日期格式无法识别“{raw}”，{_DATE_HINT}")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ValueError(f"“{raw}”不是有效日期") from None


def parse_platform(value) -> str:
    raw = cell_text(value)
    code = PLATFORM_KEYS.get(norm_word(raw))
    if code is None:
        names = "、".join(names[0] for names in PLATFORM_NAMES.values())
        raise ValueError(f"无法识别的平台“{raw}”，可填：{names}，或代码 {', '.join(PLATFORMS)}")
    return code


_PEOPLE = re.compile(r"[;；、\r\n]+")
_PARTS = re.compile(r"[/／|｜,，:：()（）\[\]【】\s]+")
_PHONE = re.compile(r"\+?\d[\d\-]{4,}\d(?:(?:转|ext\.?|-)\d{1,6})?", re.IGNORECASE)
_STAFF_LABELS = {"姓名", "名字", "电话", "手机", "手机号", "手机号码", "联系电话", "联系方式", "角色",
                 "name", "phone", "tel", "mobile", "role"}
STAFF_HINT = "格式：姓名/手机号/角色，多人用分号分隔，如 张三/13800000000/管理员；李四/13900000000/运营"


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
        for part in (p for p in _PARTS.split(chunk) if p):
            word = norm_word(part)
            if word in _STAFF_LABELS:
                continue
            is_phone, role = bool(_PHONE.fullmatch(part)), ROLE_KEYS.get(word)
            if not is_phone and role is None:
                person = {"name": part, "phone": "", "platform_role": "operator"}
                people.append(person)
                continue
            if person is None:
                raise ValueError(f"“{part}”前缺少姓名（在“{chunk}”中）；{STAFF_HINT}")
            if is_phone:
                if person["phone"]:
                    raise ValueError(f"{person['name']} 有两个电话号码“{person['phone']}”和“{part}”；"
                                     f"{STAFF_HINT}")
                person["phone"] = part
            else:
                person["platform_role"] = role
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
        return "必填，不能为空"
    if kind == "string_too_long":
        return f"不能超过 {ctx.get('max_length')} 个字符"
    if kind == "too_long":
        return f"不能超过 {ctx.get('max_length')} 项"
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


def parse_row(number: int, values: list, table: Table, errors: Errors,
               default_unit: bool) -> Row:
    row = Row(number)
    cols = table.columns

    def raw(key):
        if key not in cols:
            return None
        index = cols[key][0]
        return values[index] if index < len(values) else None

    if table.kind == "csv" and len(values) > table.width:
        extra = [i for i in range(table.width, len(values)) if cell_text(values[i])]
        if extra:
            errors.add(row, None, f"本行比表头多出 {len(values) - table.width} 个单元格（第 "
                                  f"{extra[0] + 1} 列起），可能是内容里有未加引号的逗号：该行无法按列读取",
                       code="broken_row")
            row.bad.add("row")
            return row

    row.unit_name = cell_text(raw("unit_name"))
    code = cell_text(raw("unit_code"))
    if code:
        try:
            row.unit_code = validate_credit_code(code.upper())
        except DomainError:
            errors.add(row, "unit_code", f"统一社会信用代码“{code}”无效：应为 18 位，且最后一位校验码"
                                         "须与前 17 位相符")
    if not row.unit_name and not code and not default_unit:
        errors.add(row, "unit_name" if "unit_name" in cols else "unit_code",
                   "必填：请填写主办单位或统一社会信用代码", code="required")

    for key in REQUIRED:
        if not cell_text(raw(key)):
            errors.add(row, key, f"必填：{COLUMN[key].header}不能为空", code="required")
    if "platform" not in row.bad:
        try:
            row.platform = parse_platform(raw("platform"))
        except ValueError as exc:
            errors.add(row, "platform", str(exc), code="unknown_platform")
    row.name = cell_text(raw("name"))
    handle_value = raw("handle")
    row.handle = cell_text(handle_value)
    if "handle" not in row.bad and (_SCIENTIFIC.fullmatch(row.handle) or (
            isinstance(handle_value, float) and abs(handle_value) >= 2 ** 53)):
        errors.add(row, "handle", f"账号ID“{row.handle}”已被 Excel 变成科学计数法或丢失了精度："
                                  "请把该列设为“文本”格式，重新填写后再导入")
    for key in DATE_KEYS:
        value = raw(key)
        if key in row.bad or not cell_text(value):
            continue
        try:
            setattr(row, key, parse_date(value))
        except ValueError as exc:
            errors.add(row, key, str(exc), code="bad_date")
    row.verified_subject = cell_text(raw("verified_subject")) or None
    row.office = cell_text(raw("office")) or None
    row.filing_reference = cell_text(raw("filing_reference")) or None
    if cell_text(raw("staff")):
        try:
            row.staff = parse_staff(raw("staff"))
        except ValueError as exc:
            errors.add(row, "staff", str(exc))
    problem = opening_filing_problems(row.opened_on, row.filed_on,
                                      row.filing_reference).get("filed_on")
    if problem == "required" and "filed_on" not in row.bad:
        errors.add(row, "filed_on", "填写备案编号时须同时填写备案日期", code="required")
    elif problem == "before_opened_on":
        errors.add(row, "filed_on", f"备案日期 {row.filed_on.isoformat()} 不能早于开设日期 "
                                    f"{row.opened_on.isoformat()}")

    # The API's own field rules (lengths, staff entries): what POST /api/v1/accounts refuses,
    # the import refuses too. Fields already reported get harmless stand-ins.
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
                part = {"name": "姓名", "phone": "电话"}.get(item["loc"][2], item["loc"][2])
                message = f"第 {item['loc'][1] + 1} 位人员的{part}{message}"
            errors.add(row, key, message)
    return row


# The template's example row: skipped at import as long as it is left unchanged.
EXAMPLE = {c.key: c.example for c in COLUMNS}


def is_example(row: Row) -> bool:
    return (row.unit_name == EXAMPLE["unit_name"] and row.name == EXAMPLE["name"]
            and row.handle == EXAMPLE["handle"])


