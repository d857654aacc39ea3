"""Reading an inventory file: its format and encoding, its sheets, its header row and data rows."""
import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

from charset_normalizer import from_bytes
from flask import current_app
from openpyxl import load_workbook

from govmedia.types import UNPRINTABLE

from .columns import COLUMN, HEADER_KEYS, norm_header

UNPACKED_FACTOR = 20               # an .xlsx may unpack to 20 × IMPORT_MAX_BYTES
HEADER_SCAN_ROWS = 20


class FileProblem(Exception):
    """The file as a whole cannot be read: reported as one error without row or column."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None,
                 code: str = "file"):
        super().__init__(message)
        self.error = {"row": row, "column": column, "message": message, "code": code}


def limits() -> tuple[int, int]:
    """(bytes, data rows) an inventory file may have."""
    return current_app.config["IMPORT_MAX_BYTES"], current_app.config["IMPORT_MAX_ROWS"]


_INVISIBLE = str.maketrans({"\u3000": " ", "\xa0": " ", "\u200b": None, "\ufeff": None,
                            "\u200e": None, "\u200f": None})


def cell_text(value) -> str:
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
    try:
        # A small workbook can unpack to gigabytes (openpyxl reads the shared strings whole):
        # refuse before reading. zipfile never yields more than the sizes declared here.
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > UNPACKED_FACTOR * limits()[0]:
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
class Table:
    header_row: int
    columns: dict            # key -> (index, header text as written)
    width: int               # cells in the header row (up to its last non-empty one)
    rows: list               # (row number, values) of non-empty data rows
    kind: str


def _find_header(values) -> tuple[dict, list]:
    columns, duplicates = {}, []
    for index, value in enumerate(values):
        label = cell_text(value)
        if not label:
            continue
        key = HEADER_KEYS.get(norm_header(label))
        if key is None:
            continue
        if key in columns:
            duplicates.append((key, label))
        else:
            columns[key] = (index, label)
    return columns, duplicates


def read_table(filename: str, content: bytes) -> Table:
    """Find the header row and collect the data rows; FileProblem when the file is unusable."""
    max_bytes, max_rows = limits()
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
        width = max(i for i, v in enumerate(values) if cell_text(v)) + 1
        data = []
        mapped = [index for index, _label in columns.values()]
        for row_number, row_values in rows:
            # A row with nothing in any known column is empty (pre-numbered 序号 rows, notes).
            if not any(cell_text(row_values[i]) for i in mapped if i < len(row_values)):
                continue
            data.append((row_number, row_values))
            if len(data) > max_rows:
                raise FileProblem(f"文件超过 {max_rows} 行数据，请分批导入", code="too_large")
        return Table(number, columns, width, data, kind)
    raise FileProblem("未找到表头行：前 20 行中没有包含“平台”“账号名称”“账号ID”“开设日期”等列名的行"
                      "（请使用下载的导入模板）", code="no_header")


