"""Bulk import of an account inventory (CSV or XLSX): every row validated, written all or nothing.

The file is the way county offices keep their inventory in Excel. What it may contain:

* a header row, found by name in the first 20 rows of the first sheet that has one; columns in
  any order; Chinese headers as in the template, English aliases (``platform``, ``handle`` …)
  accepted; text in brackets and ``*`` in a header are ignored (``平台（必填）`` is ``平台``);
  other columns (``序号``, notes) are ignored;
* CSV in UTF-8 with or without BOM, in GBK/GB18030 (what Excel's "CSV (逗号分隔)" writes on a
  Chinese Windows), or UTF-16 with BOM (Excel's "Unicode text", tab-separated); comma, tab or
  semicolon separated;
* dates as ``2024-03-15``, ``2024/3/15``, ``2024.3.15``, ``20240315``, ``2024年3月15日`` or a real
  Excel date cell;
* 管理人员 (staff): words separated by ``/`` ``,`` ``|`` ``；`` ``、`` spaces, brackets or line
  breaks. A phone number (digits, ``+``, ``-``) or a role — 管理员/admin (``admin``) or
  运营/运营者/运维/编辑/operator (``operator``, the default) — belongs to the person named before
  it; any other word is the next person's name; labels such as ``姓名:`` ``电话:`` are skipped.
  ``张三/13800000000/管理员；李四 13900000000 运维；王五`` is three people, and so is
  ``张三、李四、王五``. A phone or role with no name before it, or a second phone for one person,
  is an error.

The rules are registry/services.py's: the same fields as ``AccountIn``, the same credit-code
check, handle_taken, one_account_per_platform with supervisors' exceptions, filing date not
before the opening date. Every problem is reported as ``{row, column, message, code}`` with the
row number the user sees in Excel (the header row of a file starting at A1 is row 1) and the
column's header text as written in the file; a problem with the file as a whole has
``row``/``column`` ``None``. When there is any problem nothing is written; otherwise accounts,
their opening events and filings (with the historical filing date and reference) and one audit
entry per created unit and account are written in one transaction.
"""
from __future__ import annotations

import csv
import io
import logging
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from types import SimpleNamespace

from flask import current_app, has_app_context
from pydantic import ValidationError
from sqlalchemy import func, insert, select, text, update

from govmedia import audit
from govmedia.auth import require_roles, visible_unit_ids
from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.holidays import load_calendar
from govmedia.types import UNPRINTABLE, utcnow

from .models import (COUNTED_STATUSES, PLATFORMS, Account, AccountEvent, Filing, ImportJob,
                     PlatformException, Unit)
from .schemas import AccountIn
from .services import account_snapshot, unit_snapshot, validate_credit_code

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024      # config IMPORT_MAX_BYTES
MAX_ROWS = 50_000                  # config IMPORT_MAX_ROWS
PROGRESS_EVERY = 200
PROGRESS_SECONDS = 0.2             # a job commits its progress at most this often
UNPACKED_FACTOR = 20               # an .xlsx may unpack to 20 × IMPORT_MAX_BYTES
HEADER_SCAN_ROWS = 20
_IN_CHUNK = 900                    # bound parameters per IN (...) query


# --- columns ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    header: str            # the template's header
    aliases: tuple         # other names accepted (English field names first)
    required: str          # "yes", "no" or a note
    help: str
    example: str


COLUMNS = (
    Column("unit_name", "主办单位", ("unit_name", "unit", "单位", "单位名称", "主办单位名称", "开设单位"),
           "与统一社会信用代码至少填一项", "开设并负责该账号的单位全称，须与系统中已登记的单位名称一致",
           "示例县人民政府办公室"),
    Column("unit_code", "统一社会信用代码", ("unit_code", "code", "credit_code", "uscc", "信用代码",
                                     "社会信用代码", "单位代码"),
           "与主办单位至少填一项", "主办单位的 18 位统一社会信用代码；填写时按代码查找单位（校验位会被核对）",
           ""),
    Column("platform", "平台", ("platform", "平台类型", "平台名称", "所属平台"), "是",
           "见下方平台对照表：可填中文名称或代码", "微信公众号"),
    Column("name", "账号名称", ("name", "account_name", "名称", "账号名", "账号名字"), "是",
           "账号在平台上显示的名称", "示例县发布"),
    Column("handle", "账号ID", ("handle", "account_id", "id", "原始id", "uid", "账号标识", "平台账号id"),
           "是", "平台的永久标识：微信填原始ID（gh_ 开头），微博、抖音填数字 UID，移动客户端填包名；"
                 "长数字请把该列设为文本格式，以免 Excel 改成科学计数法", "gh_0123456789ab"),
    Column("verified_subject", "认证主体", ("verified_subject", "认证单位", "认证主体名称"), "否",
           "平台认证显示的主体名称，原则上应为主办单位名称", "示例县人民政府办公室"),
    Column("verification_expires_on", "认证到期日", ("verification_expires_on", "认证到期日期",
                                                 "认证有效期", "认证有效期至"),
           "否", "日期", "2026-03-14"),
    Column("opened_on", "开设日期", ("opened_on", "开通日期", "开设时间", "开通时间"), "是",
           "账号开设的日期；日期可写作 2024-03-15、2024/3/15、2024年3月15日，或 Excel 日期单元格",
           "2024-03-15"),
    Column("office", "管理科室", ("office", "管理机构", "管理部门", "运维科室", "管理单位"), "否",
           "负责账号日常管理的内设机构（开设条件之一，未填会被标记）", "办公室信息科"),
    Column("staff", "管理人员", ("staff", "运维人员", "管理员信息", "管理人员信息"), "否",
           "多人用分号（；）或换行分隔；每人按“姓名/手机号/角色”填写，角色为 管理员 或 运营（默认运营），"
           "手机号与角色可省略（开设条件之一，未填会被标记）",
           "张三/13800000000/管理员；李四/13900000000/运营"),
    Column("filed_on", "备案日期", ("filed_on", "备案时间"), "否",
           "已向省、市新媒体平台备案的日期（历史台账填写后，该账号的开设备案记为已备案）；不得早于开设日期",
           "2024-03-20"),
    Column("filing_reference", "备案编号", ("filing_reference", "reference", "备案号", "备案编码"),
           "否", "备案回执上的编号；填写备案编号时须同时填写备案日期", "GX-2024-0001"),
)
COLUMN = {c.key: c for c in COLUMNS}
REQUIRED = ("platform", "name", "handle", "opened_on")
DATE_KEYS = ("opened_on", "verification_expires_on", "filed_on")

# Chinese names accepted for each platform code; the first is the template's label.
PLATFORM_NAMES = {
    "wechat": ("微信公众号", "微信", "公众号", "微信服务号", "微信订阅号"),
    "weibo": ("微博", "新浪微博"),
    "douyin": ("抖音", "抖音号"),
    "kuaishou": ("快手", "快手号"),
    "toutiao": ("今日头条", "头条", "头条号"),
    "bilibili": ("哔哩哔哩", "B站", "bilibili"),
    "xiaohongshu": ("小红书",),
    "app": ("移动客户端", "APP", "客户端"),
    "miniprogram": ("小程序", "微信小程序"),
    "other": ("其他", "其它"),
}
assert set(PLATFORM_NAMES) == set(PLATFORMS)

ROLE_WORDS = {
    "管理员": "admin", "主管理员": "admin", "超级管理员": "admin", "admin": "admin",
    "运营": "operator", "运营者": "operator", "运营人员": "operator", "运维": "operator",
    "运维人员": "operator", "编辑": "operator", "小编": "operator", "operator": "operator",
}


def _norm_header(value: str) -> str:
    s = unicodedata.normalize("NFKC", value)
    s = re.sub(r"\(.*?\)|\[.*?\]|【.*?】", "", s).replace("*", "")
    return re.sub(r"[\s_\-]+", "_", s.strip().lower()).strip("_")


def _norm_word(value: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).lower()


_HEADER_KEYS = {}
for _c in COLUMNS:
    for _name in (_c.header, _c.key) + _c.aliases:
        _HEADER_KEYS[_norm_header(_name)] = _c.key
_PLATFORM_KEYS = {}
for _code, _names in PLATFORM_NAMES.items():
    for _name in (_code,) + _names:
        _PLATFORM_KEYS[_norm_word(_name)] = _code
_ROLE_KEYS = {_norm_word(k): v for k, v in ROLE_WORDS.items()}


# --- results and errors ------------------------------------------------------------------

@dataclass
class ImportResult:
    created: int = 0
    errors: list = field(default_factory=list)
    units_created: int = 0
    total_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


class FileProblem(Exception):
    """The file as a whole cannot be read: reported as one error without row or column."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None,
                 code: str = "file"):
        super().__init__(message)
        self.error = {"row": row, "column": column, "message": message, "code": code}


def _limits() -> tuple[int, int]:
    if has_app_context():
        config = current_app.config
        return (int(config.get("IMPORT_MAX_BYTES", MAX_BYTES)),
                int(config.get("IMPORT_MAX_ROWS", MAX_ROWS)))
    return MAX_BYTES, MAX_ROWS


# --- reading the file -----------------------------------------------------------------------

_INVISIBLE = str.maketrans({"\u3000": " ", "\xa0": " ", "\u200b": None, "\ufeff": None,
                            "\u200e": None, "\u200f": None})


def _text(value) -> str:
    """A cell as the text the user sees (numbers without a trailing .0, dates as ISO)."""
    if value is None:
        return ""
    if isinstance(value, str):
        # Control characters (some exports carry \x0b for a line break) would break the
        # Atom feed and XLSX reports that the names end up in.
        return UNPRINTABLE.sub("", value.translate(_INVISIBLE)).strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() \
            else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).translate(_INVISIBLE).strip()


def detect_format(filename: str, content: bytes) -> str:
    """'xlsx' or 'csv'; FileProblem for a legacy .xls, other binaries and empty files."""
    if not content or not content.strip():
        raise FileProblem("文件是空的")
    if content[:4] == b"PK\x03\x04":
        return "xlsx"
    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileProblem("不支持旧版 Excel 97-2003（.xls）文件，请在 Excel 中“另存为”.xlsx 或 CSV 后再导入")
    name = (filename or "").lower()
    if name.endswith((".xlsx", ".xlsm")):
        raise FileProblem("文件扩展名为 .xlsx，但内容不是有效的 Excel 工作簿（文件可能已损坏）")
    if name.endswith((".pdf", ".doc", ".docx", ".zip", ".png", ".jpg", ".jpeg", ".et", ".wps")):
        raise FileProblem("只支持 .xlsx 和 .csv 文件")
    if b"\x00" in content[:4096] and content[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        raise FileProblem("无法读取文件：既不是 .xlsx 工作簿也不是文本格式的 CSV")
    return "csv"


def decode_csv(content: bytes) -> str:
    """UTF-8 (BOM or not) strictly first, then UTF-16 by BOM, then GB18030 (a superset of GBK)."""
    if content[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    # Neither: let charset-normalizer have a look before giving up (Big5, Latin-1 exports …).
    from charset_normalizer import from_bytes

    best = from_bytes(content).best()
    if best is None:
        raise FileProblem("无法识别文件的字符编码：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”后再导入")
    return str(best)


def _csv_rows(content: bytes):
    text_ = decode_csv(content)
    first = next((line for line in text_.splitlines() if line.strip()), "")
    delimiter = max((",", "\t", ";"), key=first.count) if first else ","
    if first.count(delimiter) == 0:
        delimiter = ","
    reader = csv.reader(io.StringIO(text_, newline=""), delimiter=delimiter)
    number = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileProblem(f"CSV 格式错误，第 {number + 1} 行无法解析：{exc}（请检查引号是否成对）",
                              row=number + 1) from None
        number += 1
        yield number, values


def _xlsx_sheets(content: bytes):
    import zipfile

    from openpyxl import load_workbook

    try:
        # A small workbook can unpack to gigabytes (openpyxl reads the shared strings whole):
        # refuse before reading. zipfile never yields more than the sizes declared here.
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > UNPACKED_FACTOR * _limits()[0]:
            raise FileProblem(f"Excel 文件解压后过大（{unpacked / 1048576:.0f} MB）：请分批导入或另存为 CSV",
                              code="too_large")
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise FileProblem(f"无法读取 Excel 文件（文件可能已损坏或已加密）：{exc}") from None
    try:
        for sheet in workbook.worksheets:
            if getattr(sheet, "sheet_state", "visible") != "visible":
                continue
            if not hasattr(sheet, "iter_rows"):   # chart sheets
                continue
            yield sheet.title, ((n, list(values)) for n, values in
                                enumerate(sheet.iter_rows(values_only=True), start=1))
    finally:
        workbook.close()


@dataclass
class _Table:
    header_row: int
    columns: dict            # key -> (index, header text as written)
    width: int               # cells in the header row (up to its last non-empty one)
    rows: list               # (row number, values) of non-empty data rows
    kind: str


def _find_header(values) -> tuple[dict, list]:
    columns, duplicates = {}, []
    for index, value in enumerate(values):
        label = _text(value)
        if not label:
            continue
        key = _HEADER_KEYS.get(_norm_header(label))
        if key is None:
            continue
        if key in columns:
            duplicates.append((key, label))
        else:
            columns[key] = (index, label)
    return columns, duplicates


def read_table(filename: str, content: bytes) -> _Table:
    """Find the header row and collect the data rows; FileProblem when the file is unusable."""
    max_bytes, max_rows = _limits()
    if len(content) > max_bytes:
        raise FileProblem(f"文件过大（{len(content) / 1048576:.1f} MB），上限为 "
                          f"{max_bytes / 1048576:.0f} MB：请分批导入", code="too_large")
    kind = detect_format(filename, content)
    sources = _xlsx_sheets(content) if kind == "xlsx" else [("", _csv_rows(content))]
    for _title, rows in sources:
        for number, values in rows:
            columns, duplicates = _find_header(values)
            if len(columns) >= 3:
                break
            if number >= HEADER_SCAN_ROWS:
                columns = None
                break
        else:
            continue
        if not columns:
            continue
        if duplicates:
            key, label = duplicates[0]
            raise FileProblem(f"列“{label}”与列“{columns[key][1]}”重复（都表示{COLUMN[key].header}）",
                              row=number, column=label, code="duplicate_column")
        width = max(i for i, v in enumerate(values) if _text(v)) + 1
        data = []
        mapped = [index for index, _label in columns.values()]
        for row_number, row_values in rows:
            # A row with nothing in any known column is empty (pre-numbered 序号 rows, notes).
            if not any(_text(row_values[i]) for i in mapped if i < len(row_values)):
                continue
            data.append((row_number, row_values))
            if len(data) > max_rows:
                raise FileProblem(f"文件超过 {max_rows} 行数据，请分批导入", code="too_large")
        return _Table(number, columns, width, data, kind)
    raise FileProblem("未找到表头行：前 20 行中没有包含“平台”“账号名称”“账号ID”“开设日期”等列名的行"
                      "（请使用下载的导入模板）", code="no_header")


# --- parsing cells --------------------------------------------------------------------------

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
            from openpyxl.utils.datetime import from_excel

            return from_excel(value).date()
    raw = _text(value)
    match = _DATE.fullmatch(raw) or _COMPACT_DATE.fullmatch(raw)
    if not match:
        raise ValueError(f"日期格式无法识别“{raw}”，{_DATE_HINT}")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ValueError(f"“{raw}”不是有效日期") from None


def parse_platform(value) -> str:
    raw = _text(value)
    code = _PLATFORM_KEYS.get(_norm_word(raw))
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
    for chunk in _PEOPLE.split(_text(value)):
        chunk = chunk.strip()
        person = None
        for part in (p for p in _PARTS.split(chunk) if p):
            word = _norm_word(part)
            if word in _STAFF_LABELS:
                continue
            is_phone, role = bool(_PHONE.fullmatch(part)), _ROLE_KEYS.get(word)
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
class _Row:
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


class _Errors:
    def __init__(self, table: _Table | None):
        self.items: list[dict] = []
        self.table = table

    def column(self, key: str) -> str:
        if self.table is not None and key in self.table.columns:
            return self.table.columns[key][1]
        return COLUMN[key].header

    def add(self, row: _Row | int, key: str | None, message: str, code: str = "invalid"):
        number = row.number if isinstance(row, _Row) else row
        if isinstance(row, _Row) and key:
            row.bad.add(key)
        self.items.append({"row": number, "column": self.column(key) if key else None,
                           "message": message, "code": code})


_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?E\+\d+", re.IGNORECASE)


def _parse_row(number: int, values: list, table: _Table, errors: _Errors,
               default_unit: bool) -> _Row:
    row = _Row(number)
    cols = table.columns

    def raw(key):
        if key not in cols:
            return None
        index = cols[key][0]
        return values[index] if index < len(values) else None

    if table.kind == "csv" and len(values) > table.width:
        extra = [i for i in range(table.width, len(values)) if _text(values[i])]
        if extra:
            errors.add(row, None, f"本行比表头多出 {len(values) - table.width} 个单元格（第 "
                                  f"{extra[0] + 1} 列起），可能是内容里有未加引号的逗号：该行无法按列读取",
                       code="broken_row")
            row.bad.add("row")
            return row

    row.unit_name = _text(raw("unit_name"))
    code = _text(raw("unit_code"))
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
        if not _text(raw(key)):
            errors.add(row, key, f"必填：{COLUMN[key].header}不能为空", code="required")
    if "platform" not in row.bad:
        try:
            row.platform = parse_platform(raw("platform"))
        except ValueError as exc:
            errors.add(row, "platform", str(exc), code="unknown_platform")
    row.name = _text(raw("name"))
    handle_value = raw("handle")
    row.handle = _text(handle_value)
    if "handle" not in row.bad and (_SCIENTIFIC.fullmatch(row.handle) or (
            isinstance(handle_value, float) and abs(handle_value) >= 2 ** 53)):
        errors.add(row, "handle", f"账号ID“{row.handle}”已被 Excel 变成科学计数法或丢失了精度："
                                  "请把该列设为“文本”格式，重新填写后再导入")
    for key in DATE_KEYS:
        value = raw(key)
        if key in row.bad or not _text(value):
            continue
        try:
            setattr(row, key, parse_date(value))
        except ValueError as exc:
            errors.add(row, key, str(exc), code="bad_date")
    row.verified_subject = _text(raw("verified_subject")) or None
    row.office = _text(raw("office")) or None
    row.filing_reference = _text(raw("filing_reference")) or None
    if _text(raw("staff")):
        try:
            row.staff = parse_staff(raw("staff"))
        except ValueError as exc:
            errors.add(row, "staff", str(exc))
    if row.filing_reference and not row.filed_on and "filed_on" not in row.bad:
        errors.add(row, "filed_on", "填写备案编号时须同时填写备案日期", code="required")
    if row.filed_on and row.opened_on and row.filed_on < row.opened_on:
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


def _is_example(row: _Row) -> bool:
    return (row.unit_name == EXAMPLE["unit_name"] and row.name == EXAMPLE["name"]
            and row.handle == EXAMPLE["handle"])


# --- the registry as it stands ---------------------------------------------------------------

def _chunks(values, size=_IN_CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


@dataclass
class _Plan:
    rows: list = field(default_factory=list)        # (row, unit key)
    new_units: list = field(default_factory=list)   # {"name", "code"}


def _check(rows: list[_Row], actor, create_units: bool, errors: _Errors) -> _Plan:
    """Units, permissions, handle_taken and one_account_per_platform: against file and DB."""
    names = {r.unit_name for r in rows if r.unit_name}
    codes = {r.unit_code for r in rows if r.unit_code}
    units_by_name: dict[str, list] = {}
    units_by_code: dict[str, tuple] = {}
    for chunk in _chunks(names):
        for unit in db.session.execute(select(Unit.id, Unit.name, Unit.code)
                                       .where(Unit.name.in_(chunk))):
            units_by_name.setdefault(unit.name, []).append(unit)
    for chunk in _chunks(codes):
        for unit in db.session.execute(select(Unit.id, Unit.name, Unit.code)
                                       .where(Unit.code.in_(chunk))):
            units_by_code[unit.code] = unit
    allowed = visible_unit_ids(actor)
    own_unit = getattr(actor, "unit_id", None)
    unit_names = {}
    plan = _Plan()
    pending_by_name: dict[str, int] = {}
    pending_by_code: dict[str, int] = {}
    not_found_hint = ("（请先在单位管理中添加该单位" +
                      ("，或勾选“自动创建不存在的单位”）" if not create_units else "）"))

    def unit_column(row):
        return "unit_code" if row.unit_code and "unit_code" in errors.table.columns else "unit_name"

    def new_unit(row, name, code):
        if not create_units:
            what = f"统一社会信用代码为 {code} 的单位" if code else f"名为“{name}”的单位"
            errors.add(row, unit_column(row), f"未找到{what}{not_found_hint}", code="unit_not_found")
            return None
        if not name:
            errors.add(row, "unit_name", f"系统中没有统一社会信用代码为 {code} 的单位；自动创建单位须填写主办单位名称",
                       code="required")
            return None
        plan.new_units.append({"name": name, "code": code})
        index = len(plan.new_units) - 1
        pending_by_name.setdefault(name, index)
        if code:
            pending_by_code[code] = index
        return ("new", index)

    def resolve(row):
        name, code = row.unit_name, row.unit_code
        if not name and not code:
            if "unit_name" in row.bad or "unit_code" in row.bad or not own_unit:
                return None
            return ("db", own_unit)
        if code:
            unit = units_by_code.get(code)
            if unit is not None:
                if name and name != unit.name:
                    errors.add(row, "unit_name", f"统一社会信用代码 {code} 对应的单位是“{unit.name}”，"
                                                 f"与本行的主办单位“{name}”不一致", code="unit_mismatch")
                    return None
                unit_names[unit.id] = unit.name
                return ("db", unit.id)
            if code in pending_by_code:
                index = pending_by_code[code]
                if name and name != plan.new_units[index]["name"]:
                    errors.add(row, "unit_name", f"本文件中统一社会信用代码 {code} 已对应单位"
                                                 f"“{plan.new_units[index]['name']}”",
                               code="unit_mismatch")
                    return None
                return ("new", index)
        if "unit_code" in row.bad:
            return None
        if name:
            found = units_by_name.get(name, [])
            if len(found) > 1:
                errors.add(row, "unit_name", f"系统中有 {len(found)} 个名为“{name}”的单位，"
                                             "请填写统一社会信用代码以区分", code="unit_ambiguous")
                return None
            if found:
                unit = found[0]
                if code and unit.code and unit.code != code:
                    errors.add(row, "unit_code", f"单位“{name}”登记的统一社会信用代码是 {unit.code}，"
                                                 f"与本行的 {code} 不一致", code="unit_mismatch")
                    return None
                unit_names[unit.id] = unit.name
                return ("db", unit.id)
            if name in pending_by_name:
                index = pending_by_name[name]
                pending = plan.new_units[index]
                if code and pending["code"] and pending["code"] != code:
                    errors.add(row, "unit_code", f"本文件中单位“{name}”已填写统一社会信用代码 "
                                                 f"{pending['code']}，与本行的 {code} 不一致",
                               code="unit_mismatch")
                    return None
                if code:
                    pending["code"] = code
                    pending_by_code[code] = index
                return ("new", index)
        return new_unit(row, name, code)

    keys = {}
    for row in rows:
        if "row" in row.bad:
            continue
        key = resolve(row)
        if key is None:
            continue
        if key[0] == "db" and allowed is not None and key[1] not in allowed:
            errors.add(row, unit_column(row), f"只能导入本单位的账号，本行主办单位为"
                                              f"“{unit_names.get(key[1], row.unit_name)}”",
                       code="forbidden")
            continue
        keys[row.number] = key

    # handle_taken: within the file, and against accounts that are not deregistered
    handles = {r.handle for r in rows if r.handle and r.platform}
    taken = {}
    for chunk in _chunks(handles):
        for platform, handle, account_id in db.session.execute(
                select(Account.platform, Account.handle, Account.id)
                .where(Account.handle.in_(chunk), Account.status != "deregistered")
                .order_by(Account.id)):
            taken.setdefault((platform, handle), account_id)
    # one_account_per_platform: counted accounts and supervisors' exceptions of these units
    unit_ids = {k[1] for k in keys.values() if k[0] == "db"}
    counted, excepted = {}, set()
    for chunk in _chunks(unit_ids):
        for unit_id, platform, account_id in db.session.execute(
                select(Account.unit_id, Account.platform, func.min(Account.id))
                .where(Account.unit_id.in_(chunk), Account.status.in_(COUNTED_STATUSES))
                .group_by(Account.unit_id, Account.platform)):
            counted[(("db", unit_id), platform)] = account_id
        for unit_id, platform in db.session.execute(
                select(PlatformException.unit_id, PlatformException.platform)
                .where(PlatformException.unit_id.in_(chunk))):
            excepted.add((("db", unit_id), platform))

    seen_handles: dict[tuple, int] = {}
    seen_pairs: dict[tuple, int] = {}
    for row in rows:
        if row.platform and row.handle and "handle" not in row.bad:
            handle_key = (row.platform, row.handle)
            if handle_key in taken:
                errors.add(row, "handle", f"该平台账号ID“{row.handle}”已登记（账号编号 "
                                          f"{taken[handle_key]}）", code="handle_taken")
            elif handle_key in seen_handles:
                errors.add(row, "handle", f"账号ID“{row.handle}”与本文件第 {seen_handles[handle_key]} "
                                          "行重复（同一平台的账号ID只能登记一次）", code="handle_taken")
            else:
                seen_handles[handle_key] = row.number
        key = keys.get(row.number)
        if key is None or not row.platform or row.platform == "other":
            continue
        pair = (key, row.platform)
        if pair in excepted:
            continue
        if pair in counted:
            errors.add(row, "platform", f"该单位在此平台已有账号（编号 {counted[pair]}），一个单位在同一平台"
                                        "原则上只能开设一个账号（例外须由监管人员登记）",
                       code="one_account_per_platform")
        elif pair in seen_pairs:
            errors.add(row, "platform", f"本文件第 {seen_pairs[pair]} 行已为同一单位登记了该平台的账号，"
                                        "一个单位在同一平台原则上只能开设一个账号（例外须由监管人员登记）",
                       code="one_account_per_platform")
        else:
            seen_pairs[pair] = row.number
    plan.rows = [(row, keys[row.number]) for row in rows if row.number in keys]
    return plan


# --- writing ---------------------------------------------------------------------------------

def _returning_ids(model, values: list[dict]) -> list[int]:
    """Insert the rows in order and return their ids in the same order."""
    if not values:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        # Take the ids from the table's sequence first, then insert without RETURNING: a
        # sorted RETURNING over thousands of rows costs psycopg seconds of query rewriting.
        table = model.__table__.name
        ids = list(db.session.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                 "FROM generate_series(1, :n)"), {"table": table, "n": len(values)}))
        for row_values, new_id in zip(values, ids):
            row_values["id"] = new_id
        db.session.execute(model.__table__.insert(), values)
        return ids
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(db.session.scalars(statement, values))


def _write(actor, plan: _Plan, filename: str) -> tuple[int, int]:
    now = utcnow()
    calendar = load_calendar()
    unit_rows = [{"name": u["name"], "code": u["code"], "contacts": [], "created_at": now}
                 for u in plan.new_units]
    new_unit_ids = _returning_ids(Unit, unit_rows)

    def unit_id(key):
        return key[1] if key[0] == "db" else new_unit_ids[key[1]]

    accounts = []
    for row, key in plan.rows:
        accounts.append({
            "unit_id": unit_id(key), "platform": row.platform, "name": row.name,
            "handle": row.handle, "status": "active", "opened_on": row.opened_on,
            "reopened_on": None, "verified_subject": row.verified_subject,
            "verification_expires_on": row.verification_expires_on, "office": row.office,
            "staff": row.staff, "last_post_at": None, "created_at": now, "updated_at": now})
    account_ids = _returning_ids(Account, accounts)
    from .supervision.services import accounts_created

    accounts_created(account_ids)  # rule 5's band-entry days (supervision)
    actor_id = getattr(actor, "id", None)
    event_ids = _returning_ids(AccountEvent, [
        {"account_id": account_id, "kind": "open", "event_date": values["opened_on"],
         "reason": "", "changes": None, "created_by_id": actor_id, "created_at": now}
        for account_id, values in zip(account_ids, accounts)])
    dues: dict[date, tuple[date, bool]] = {}
    filings = []
    for (row, _key), account_id, event_id, values in zip(plan.rows, account_ids, event_ids,
                                                         accounts):
        if row.opened_on not in dues:
            dues[row.opened_on] = calendar.add_workdays(row.opened_on, 5)
        due, provisional = dues[row.opened_on]
        filings.append({"account_id": account_id, "event_id": event_id,
                        "unit_id": values["unit_id"], "event": "open",
                        "event_date": row.opened_on, "due_on": due, "provisional": provisional,
                        "filed_on": row.filed_on, "reference": row.filing_reference,
                        "completed_by_id": actor_id if row.filed_on else None})
    if filings:
        db.session.execute(Filing.__table__.insert(), filings)
    provisional_count = sum(1 for f in filings if f["provisional"])
    if provisional_count:
        current_app.logger.warning("import %s: %s opening deadlines are provisional (a year the "
                                   "holiday calendar does not know yet)", filename,
                                   provisional_count)
    items = []
    for unit_row, new_id in zip(unit_rows, new_unit_ids):
        snapshot = unit_snapshot(SimpleNamespace(parent_id=None, leader=None, deputy_leader=None,
                                                 office=None, **unit_row))
        items.append(("unit.create", "unit", new_id, None,
                      snapshot | {"import": {"filename": filename}}, new_id))
    for (row, _key), account_id, values in zip(plan.rows, account_ids, accounts):
        after = account_snapshot(SimpleNamespace(**values)) | {
            "filed_on": row.filed_on, "filing_reference": row.filing_reference,
            "import": {"filename": filename, "row": row.number}}
        items.append(("account.open", "account", account_id, None, after, values["unit_id"]))
    audit_started = time.perf_counter()
    audit.record_many(items, user=actor)
    return len(account_ids), len(new_unit_ids), time.perf_counter() - audit_started


def _lock_registry() -> None:
    # Between this import's checks and its commit no other transaction may add or change an
    # account (register_account locks one unit and one handle; an import touches thousands,
    # more than PostgreSQL's lock table holds as advisory locks). SQLite serialises writers.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE"))


# --- the entry point -----------------------------------------------------------------------------

def import_inventory(actor, filename: str, content: bytes, create_units: bool = False,
                     progress=None, before_commit=None) -> ImportResult:
    """Validate every row of an inventory file; write it all in one transaction, or nothing.

    progress(done, total) is called about every 200 rows while the rows are validated (the
    callback may commit the session: nothing of the import is pending then). before_commit(result)
    runs inside the write transaction just before it commits (a job records its own outcome
    there, so "done" and the accounts commit together). Raises DomainError for a user not
    allowed to import (sponsor role, or supervisor role to create units).
    """
    require_roles(actor, "sponsor")
    if create_units:
        require_roles(actor, "supervisor")
    progress = progress or (lambda done, total: None)
    result = ImportResult()
    started = time.perf_counter()
    try:
        table = read_table(filename, content)
    except FileProblem as problem:
        result.errors = [problem.error]
        return result
    errors = _Errors(table)
    default_unit = bool(getattr(actor, "unit_id", None)) and not actor.sees_all_units
    missing = [k for k in REQUIRED if k not in table.columns]
    if "unit_name" not in table.columns and "unit_code" not in table.columns and not default_unit:
        missing.insert(0, "unit_name")
    for key in missing:
        errors.add(table.header_row, key, f"缺少必填列“{COLUMN[key].header}”", code="missing_column")
    if missing:
        result.errors = errors.items
        return result

    total = len(table.rows)
    result.total_rows = total
    progress(0, total)
    rows = []
    for done, (number, values) in enumerate(table.rows, start=1):
        row = _parse_row(number, values, table, errors, default_unit)
        if not _is_example(row):
            rows.append(row)
        if done % PROGRESS_EVERY == 0:
            progress(done, total)
    progress(total, total)
    result.total_rows = len(rows)
    if not rows and not errors.items:
        errors.items.append({"row": None, "column": None, "code": "empty",
                             "message": "文件中没有账号数据（表头下方的行都是空的或只有示例行）"})
    parsed_at = time.perf_counter()
    try:
        if not errors.items:
            _lock_registry()
        plan = _check(rows, actor, create_units, errors)
        if errors.items:
            db.session.rollback()
            result.errors = sorted(errors.items, key=lambda e: (e["row"] or 0))
            return result
        checked_at = time.perf_counter()
        result.created, result.units_created, audit_seconds = _write(actor, plan, filename)
        if before_commit is not None:
            before_commit(result)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    finished = time.perf_counter()
    current_app.logger.info(
        "import %s: %s accounts, %s units in %.2fs (read+parse %.2fs, check %.2fs, write %.2fs "
        "of which audit %.2fs)", filename, result.created, result.units_created,
        finished - started, parsed_at - started, checked_at - parsed_at, finished - checked_at,
        audit_seconds)
    return result


# --- the background job ------------------------------------------------------------------------

def run_import_job(job_id: int) -> str | None:
    """Queue entry point: claim the job, import its file, record done or failed on the row."""
    from govmedia.models import User

    claimed = db.session.execute(update(ImportJob).where(ImportJob.id == job_id,
                                                         ImportJob.status == "queued")
                                 .values(status="running", processed_rows=0))
    db.session.commit()
    if claimed.rowcount != 1:
        log.info("import job %s is not queued (already taken or finished); nothing to do", job_id)
        return None
    job = db.session.get(ImportJob, job_id)
    last = [0.0]

    def progress(done, total):
        # Short commits of the job row only, while validating: the import has nothing pending.
        now = time.monotonic()
        if done != total and done != 0 and now - last[0] < PROGRESS_SECONDS:
            return
        last[0] = now
        db.session.execute(update(ImportJob).where(ImportJob.id == job_id)
                           .values(processed_rows=done, total_rows=total))
        db.session.commit()

    def finish(result):
        db.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
            status="done", created_count=result.created, errors=[], message=None,
            total_rows=result.total_rows, processed_rows=result.total_rows,
            finished_at=utcnow(), content=None,
            options=dict(job.options or {}) | {"units_created": result.units_created}))

    try:
        actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
        if actor is None or not actor.active:
            raise DomainError("提交导入的用户不存在或已停用")
        options = job.options or {}
        result = import_inventory(actor, job.filename, job.content,
                                  create_units=bool(options.get("create_units")),
                                  progress=progress, before_commit=finish)
        if result.errors:
            _fail(job_id, result.errors, f"发现 {len(result.errors)} 处问题，未导入任何数据",
                  total=result.total_rows)
            return "failed"
        log.info("import job %s done: %s accounts", job_id, result.created)
        return "done"
    except DomainError as exc:
        db.session.rollback()
        log.warning("import job %s refused: %s", job_id, exc.message)
        _fail(job_id, [{"row": None, "column": None, "message": exc.message, "code": exc.code}],
              exc.message)
        return "failed"
    except Exception as exc:
        db.session.rollback()
        log.exception("import job %s failed", job_id)
        message = f"导入过程中出错，未导入任何数据：{_reason(exc)}"[:2000]
        _fail(job_id, [{"row": None, "column": None, "message": message, "code": "error"}],
              message)
        return "failed"


def _reason(exc: Exception) -> str:
    """The error for the person who uploaded. A database error keeps the database's own first
    line and drops SQLAlchemy's [SQL: ...] [parameters: ...], which quote the file's rows."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError) and exc.orig is not None:
        lines = str(exc.orig).strip().splitlines()
        return f"数据库拒绝写入（{type(exc.orig).__name__}: {lines[0] if lines else ''}），请稍后重试"
    return f"{type(exc).__name__}: {exc}"


def _fail(job_id: int, errors: list, message: str, total: int | None = None) -> None:
    values = {"status": "failed", "errors": errors, "message": message, "created_count": 0,
              "finished_at": utcnow(), "content": None}
    if total is not None:
        values["total_rows"] = values["processed_rows"] = total
    db.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))
    db.session.commit()


# --- templates -----------------------------------------------------------------------------------

def _example_values() -> list:
    values = []
    for column in COLUMNS:
        if column.key in DATE_KEYS and column.example:
            values.append(date.fromisoformat(column.example))
        else:
            values.append(column.example or None)
    return values


@lru_cache(maxsize=1)
def template_xlsx() -> bytes:
    """The import template: headers, an example row, widths, a sheet explaining every column."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "账号清单"
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FDE8E7")
    optional_fill = PatternFill("solid", fgColor="EEF2F6")
    widths = {"unit_name": 28, "unit_code": 22, "platform": 12, "name": 20, "handle": 22,
              "verified_subject": 28, "verification_expires_on": 13, "opened_on": 13,
              "office": 18, "staff": 40, "filed_on": 13, "filing_reference": 16}
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font = bold
        cell.fill = required_fill if column.required == "是" or column.key.startswith("unit") \
            else optional_fill
        need = "必填" if column.required == "是" else column.required
        cell.comment = Comment(f"{need}：{column.help}", "govmedia")
        sheet.column_dimensions[get_column_letter(index)].width = widths[column.key]
    grey = Font(italic=True, color="7B8794")
    for index, value in enumerate(_example_values(), start=1):
        cell = sheet.cell(row=2, column=index, value=value)
        cell.font = grey
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        if column.key in DATE_KEYS:
            for row in range(2, 1002):
                sheet[f"{letter}{row}"].number_format = "yyyy-mm-dd"
        elif column.key in ("handle", "unit_code", "filing_reference", "staff"):
            for row in range(2, 1002):
                sheet[f"{letter}{row}"].number_format = "@"
    platform_letter = get_column_letter([c.key for c in COLUMNS].index("platform") + 1)
    choices = DataValidation(type="list", allow_blank=True, showErrorMessage=False,
                             formula1='"' + ",".join(n[0] for n in PLATFORM_NAMES.values()) + '"')
    choices.add(f"{platform_letter}2:{platform_letter}50000")
    sheet.add_data_validation(choices)
    sheet.freeze_panes = "A2"

    notes = workbook.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "说明", "示例", "也可使用的列名"])
    for column in COLUMNS:
        notes.append([column.header, column.required, column.help, column.example,
                      "、".join(column.aliases)])
    notes.append([])
    notes.append(["平台名称", "代码", "也可填写"])
    platform_header_row = notes.max_row
    for code, names in PLATFORM_NAMES.items():
        notes.append([names[0], code, "、".join(names[1:])])
    notes.append([])
    for line in (
        "说明：",
        "1. 第 1 行为表头，列的顺序可以调整，多余的列（如序号、备注）会被忽略。",
        "2. 第 2 行为示例，导入时若未修改会被自动跳过，也可以直接删除。",
        "3. 日期可写作 2024-03-15、2024/3/15、2024年3月15日，或使用 Excel 日期格式。",
        "4. 管理人员：多人用分号（；）或换行分隔，每人写“姓名/手机号/角色”，角色为 管理员 或 运营。",
        "5. 已备案的历史账号请填写备案日期和备案编号，导入后记为已备案，不会显示为逾期。",
        "6. 整个文件逐行校验：任何一行有问题都不会导入任何数据，错误会列出行号和列名。",
        "7. 也可以保存为 CSV（UTF-8 或 GBK 编码均可）后导入；单个文件不超过 10 MB、50000 行。",
    ):
        notes.append([line])
    for cell in notes[1]:
        cell.font = bold
    for cell in notes[platform_header_row]:
        cell.font = bold
    for letter, width in zip("ABCDE", (18, 22, 70, 36, 40)):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=2, max_row=len(COLUMNS) + 1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def template_csv() -> bytes:
    """Headers and the example row, UTF-8 with BOM so that Excel picks the right encoding."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([c.header for c in COLUMNS])
    writer.writerow([c.example for c in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")
