"""The import template users download: the columns, an example row, and a sheet explaining them."""
import csv
import io
from datetime import date
from functools import lru_cache

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .columns import COLUMNS, DATE_KEYS, PLATFORM_NAMES


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

