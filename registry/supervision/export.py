"""Supervision lists as files people open in Excel: XLSX with a title row, a period row, the
headings and real date cells; CSV with a BOM (Excel then reads UTF-8 Chinese text).

One exporter for the quarterly report and every supervision list (dormant accounts,
duplicates, rectification orders, the per-unit summary). Cells that would start a formula
are neutralised; control characters are dropped (openpyxl refuses them).
"""
import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from govmedia.types import UNPRINTABLE

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEAD_ROWS = 3            # title, period, headings: the data starts on row 4
DATE_FORMAT = "yyyy-mm-dd"
THIN = Side(style="thin", color="999999")
BOX = Border(top=THIN, bottom=THIN, left=THIN, right=THIN)


@dataclass(frozen=True)
class Column:
    key: str
    heading: str      # already in the reader's language (or the official Chinese)
    width: int = 14
    is_date: bool = False


@dataclass
class Sheet:
    name: str
    columns: list[Column]
    rows: list[dict]


def as_percent(share) -> str:
    """0.3 -> "30%", 1 -> "100%", 0.125 -> "12.5%" (exactly)."""
    text = f"{Decimal(str(share)) * 100:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def safe(value):
    """Text cells stay text: control characters dropped, formulas (= + - @, a tab or CR at the
    start) neutralised."""
    if isinstance(value, str):
        value = UNPRINTABLE.sub("", value)
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value
    return value


def cell_value(column: Column, value):
    """A date column holds real dates (ISO text from JSON is read back), not text."""
    if column.is_date and isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return safe(value)
    return safe(value)


def _head(ws, columns: list[Column], title: str, period: str) -> None:
    last = get_column_letter(max(1, len(columns)))
    for row, text, size in ((1, title, 14), (2, period, 11)):
        ws.merge_cells(f"A{row}:{last}{row}")
        cell = ws.cell(row=row, column=1, value=safe(text))
        cell.font = Font(bold=row == 1, size=size)
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for i, column in enumerate(columns, start=1):
        cell = ws.cell(row=HEAD_ROWS, column=i, value=column.heading)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="EEF2F6")
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        cell.border = BOX
        ws.column_dimensions[get_column_letter(i)].width = column.width


def _body(ws, columns: list[Column], rows: list[dict]) -> None:
    for r, row in enumerate(rows, start=HEAD_ROWS + 1):
        for i, column in enumerate(columns, start=1):
            cell = ws.cell(row=r, column=i, value=cell_value(column, row.get(column.key)))
            if isinstance(cell.value, date):
                cell.number_format = DATE_FORMAT
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cell.border = BOX


def _print_setup(ws, title: str, footer: str) -> None:
    ws.freeze_panes = f"A{HEAD_ROWS + 1}"
    ws.print_title_rows = f"{HEAD_ROWS}:{HEAD_ROWS}"   # the headings repeat on every page
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddHeader.center.text = title
    ws.oddFooter.center.text = footer


def to_xlsx(title: str, period: str, sheets: list[Sheet], footer: str = "&P / &N") -> bytes:
    wb = Workbook()
    for index, sheet in enumerate(sheets):
        ws = wb.active if index == 0 else wb.create_sheet()
        ws.title = sheet.name[:31]
        _head(ws, sheet.columns, title, period)
        _body(ws, sheet.columns, sheet.rows)
        _print_setup(ws, title, footer)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def to_csv(columns: list[Column], rows: list[dict]) -> bytes:
    """One heading row, then the rows; UTF-8 with a BOM."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([column.heading for column in columns])
    for row in rows:
        writer.writerow([safe(row.get(column.key)) for column in columns])
    return buffer.getvalue().encode("utf-8-sig")
