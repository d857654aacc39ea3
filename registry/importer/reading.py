"""Reading an inventory file: its format and encoding, its sheets, its header row and data rows."""
import csv
import io
import logging
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

from charset_normalizer import from_bytes
from flask import current_app
from flask_babel import gettext as _
from openpyxl import load_workbook

from govmedia.types import UNPRINTABLE

from .columns import COLUMN, HEADER_KEYS, norm_header

log = logging.getLogger(__name__)
UNPACKED_FACTOR = 20               # an .xlsx may unpack to 20 × IMPORT_MAX_BYTES
HEADER_SCAN_ROWS = 20
MB = 1048576


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
    if value.__class__ is str and value.isprintable():
        # The common case, quickly: isprintable() is False for every character removed or
        # replaced below (controls, surrogates, U+FFFE/FFFF, U+3000, U+00A0, zero-width and
        # direction marks, the BOM).
        return value.strip()
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
        raise FileProblem(_("The file is empty"))
    if content[:4] == b"PK\x03\x04":
        return "xlsx"
    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileProblem(_("Old Excel 97-2003 (.xls) files are not supported: in Excel, "
                            "“Save As” .xlsx or CSV, then import"))
    name = (filename or "").lower()
    if name.endswith((".xlsx", ".xlsm")):
        raise FileProblem(_("The file is named .xlsx but is not a valid Excel workbook (it may "
                            "be damaged)"))
    if name.endswith((".pdf", ".doc", ".docx", ".zip", ".png", ".jpg", ".jpeg", ".et", ".wps")):
        raise FileProblem(_("Only .xlsx and .csv files are supported"))
    if b"\x00" in content[:4096] and content[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        raise FileProblem(_("The file cannot be read: it is neither an .xlsx workbook nor a "
                            "CSV text file"))
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
        raise FileProblem(_("The file's character encoding is not recognised: in Excel, save "
                            "it as “CSV UTF-8 (Comma delimited)”, then import"))
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
            # Python's words ("field larger than field limit") are English and say no more
            # than the advice: the log keeps them.
            log.info("CSV row %s cannot be read: %s", number + 1, exc)
            raise FileProblem(_("CSV error: row %(row)s cannot be read (check that quotes come "
                                "in pairs)", row=number + 1), row=number + 1) from None
        number += 1
        yield number, values


def _xlsx_sheets(content: bytes):
    try:
        # A small workbook can unpack to gigabytes (openpyxl reads the shared strings whole):
        # refuse before reading. zipfile never yields more than the sizes declared here.
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > UNPACKED_FACTOR * limits()[0]:
            raise FileProblem(_("The Excel file unpacks to too much (%(size)s MB): import it "
                                "in parts or save it as CSV", size=f"{unpacked / MB:.0f}"),
                              code="too_large")
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        # zipfile's and openpyxl's words are English and technical: the log keeps them.
        log.info("Excel file cannot be read: %s: %s", type(exc).__name__, exc)
        raise FileProblem(_("The Excel file cannot be read (it may be damaged or "
                            "encrypted)")) from None
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
        raise FileProblem(_("The file is too large (%(size)s MB; the limit is %(limit)s MB): "
                            "import it in parts", size=f"{len(content) / MB:.1f}",
                            limit=f"{max_bytes / MB:.0f}"), code="too_large")
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
            raise FileProblem(_("The column “%(column)s” repeats the column “%(other)s” (both "
                                "are %(meaning)s)", column=label, other=columns[key][1],
                                meaning=COLUMN[key].header),
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
                raise FileProblem(_("The file has more than %(max)s rows of data: import it in "
                                    "parts", max=max_rows), code="too_large")
        return Table(number, columns, width, data, kind)
    raise FileProblem(_("No header row: none of the first %(rows)s rows has column names such "
                        "as %(columns)s (use the import template)", rows=HEADER_SCAN_ROWS,
                        columns="".join(f"“{COLUMN[key].header}”" for key in
                                        ("platform", "name", "handle", "opened_on"))),
                      code="no_header")


