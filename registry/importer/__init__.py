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

The rules are the registry's own, through their set-based forms (registry/checks.py): the same
fields as ``AccountIn``, the same credit-code check, handle_taken, one_account_per_platform with
supervisors' exceptions, filing date not before the opening date, and the filings' due dates
(registry/filings.py). Every problem is reported as ``{row, column, message, code}`` with the
row number the user sees in Excel (the header row of a file starting at A1 is row 1) and the
column's header text as written in the file; a problem with the file as a whole has
``row``/``column`` ``None``. When there is any problem nothing is written; otherwise accounts,
their opening events and filings (with the historical filing date and reference) and one audit
entry per created unit and account are written in one transaction.

Modules: columns (the template's columns and names), reading (format, encoding, header row),
rows (each row's cells), plan (units, permissions and the rules), writing (one transaction),
run (the entry point and the background job), template (the downloadable template).
"""
from .columns import COLUMNS, PLATFORM_NAMES
from .reading import FileProblem, decode_csv, detect_format, read_table
from .rows import parse_date, parse_staff
from .run import ImportResult, fail_job, import_inventory, run_import_job
from .template import template_csv, template_xlsx

__all__ = ["COLUMNS", "PLATFORM_NAMES", "FileProblem", "ImportResult", "decode_csv",
           "detect_format", "fail_job", "import_inventory", "parse_date", "parse_staff",
           "read_table", "run_import_job", "template_csv", "template_xlsx"]
