"""Post logs exported by platform back-ends (CSV/XLSX): every row checked, written all or nothing.

The file is read with the inventory importer's helpers (encodings, delimiters, Excel cells). A log
names its account per row (账号ID, with 平台 where a handle could be on two platforms) or the
upload names one account for the whole file. Times without an offset are Beijing time; a date
alone counts for that Beijing day. A row already recorded (same account, time and title) is
skipped, so importing the same export twice adds nothing.
"""
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from flask_babel import gettext as _
from openpyxl.utils.datetime import from_excel
from sqlalchemy import select

from govmedia import audit
from govmedia.auth import require_roles, visible_unit_ids
from govmedia.extensions import db
from govmedia.types import SHANGHAI

from ..importer.columns import norm_header
from ..importer.reading import (HEADER_SCAN_ROWS, FileProblem, _csv_rows, _xlsx_sheets,
                                cell_text, detect_format)
from ..importer.rows import parse_platform
from ..models import Account, Post
from ..posts import record_post
from .pending import apply_pending

HEADERS = {
    "published_at": ("发布时间", "published_at", "time", "发表时间", "推送时间", "发送时间", "发布日期",
                     "群发时间", "日期", "时间", "created_at"),
    "title": ("标题", "title", "文章标题", "内容标题", "作品标题", "视频标题", "内容", "微博内容",
              "作品描述", "描述"),
    "url": ("链接", "url", "原文链接", "文章链接", "作品链接", "网址", "地址"),
    "handle": ("账号ID", "handle", "原始ID", "uid", "账号标识", "平台账号ID"),
    "platform": ("平台", "platform", "平台类型"),
}
_KEYS = {norm_header(name): key for key, names in HEADERS.items() for name in names}
LABEL = {"published_at": "发布时间", "title": "标题", "url": "链接", "handle": "账号ID",
         "platform": "平台"}
_DATETIME = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                       r"(?:[ T]+(\d{1,2})[:：](\d{2})(?:[:：](\d{2})(?:\.\d+)?)?)?\s*"
                       r"(Z|[+-]\d{2}:?\d{2})?")
MAX_TITLE = 500
MAX_URL = 1000


@dataclass
class PostLogResult:
    created: int = 0
    skipped: int = 0
    errors: list = field(default_factory=list)
    accounts: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_published(value) -> datetime:
    """A cell as an aware instant; naive times are Beijing time. ValueError for the user."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=SHANGHAI)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1_000_000_000 <= value < 100_000_000_000:   # a Unix timestamp (seconds)
            return datetime.fromtimestamp(value, tz=UTC)
        if 1 <= value < 2958466:                       # an Excel serial date
            return from_excel(value).replace(tzinfo=SHANGHAI)
    raw = cell_text(value)
    match = _DATETIME.fullmatch(raw)
    if not match:
        raise ValueError(_("Time not recognised: “%(value)s”; write it like 2026-11-20 09:30 "
                           "or 2026/11/20 9:30:00", value=raw))
    y, mo, d, h, mi, s, offset = match.groups()
    try:
        naive = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
    except ValueError:
        raise ValueError(_("“%(value)s” is not a valid time", value=raw)) from None
    if offset:
        return datetime.fromisoformat(naive.isoformat() + (
            "+00:00" if offset == "Z" else offset[:3] + ":" + offset[-2:]))
    return naive.replace(tzinfo=SHANGHAI)


def _read(filename: str, content: bytes):
    kind = detect_format(filename, content)
    sources = _xlsx_sheets(content) if kind == "xlsx" else [("", _csv_rows(content))]
    for _title, rows in sources:
        for number, values in rows:
            columns = {}
            for index, cell in enumerate(values):
                key = _KEYS.get(norm_header(cell_text(cell))) if cell_text(cell) else None
                if key and key not in columns:
                    columns[key] = (index, cell_text(cell))
            if "published_at" in columns and "title" in columns:
                data = [(n, v) for n, v in rows if any(cell_text(c) for c in v)]
                return number, columns, data
            if number >= HEADER_SCAN_ROWS:
                break
    raise FileProblem(_("No header row: none of the first %(rows)s rows has both “%(time)s” and "
                        "“%(title)s”", rows=HEADER_SCAN_ROWS, time=LABEL["published_at"],
                        title=LABEL["title"]), code="no_header")


def import_post_log(actor, filename: str, content: bytes, account: Account | None = None,
                    source: str = "import") -> PostLogResult:
    """Check every row; add the posts and bring the derived figures up to date, or nothing."""
    require_roles(actor, "sponsor", "editor")
    result = PostLogResult()
    try:
        header_row, columns, rows = _read(filename, content)
    except FileProblem as problem:
        result.errors = [problem.error]
        return result
    if account is None and "handle" not in columns:
        result.errors = [{"row": header_row, "column": None, "code": "missing_column",
                          "message": _("The “%(column)s” column is missing: name each row's "
                                       "account in the file, or choose the account when "
                                       "uploading", column=LABEL["handle"])}]
        return result
    units = visible_unit_ids(actor)
    errors = []

    def err(row, key, message, code="invalid"):
        errors.append({"row": row, "column": columns[key][1] if key in columns else LABEL.get(key),
                       "message": message, "code": code})

    def cell(values, key):
        if key not in columns:
            return None
        index = columns[key][0]
        return values[index] if index < len(values) else None

    by_handle: dict = {}
    if account is None:
        handles = {cell_text(cell(v, "handle")) for _n, v in rows} - {""}
        for start in range(0, len(handles), 900):
            chunk = sorted(handles)[start:start + 900]
            for acc in db.session.scalars(select(Account).where(
                    Account.handle.in_(chunk), Account.status != "deregistered")):
                by_handle.setdefault(acc.handle, []).append(acc)
    parsed = []
    for number, values in rows:
        try:
            published = parse_published(cell(values, "published_at"))
        except ValueError as exc:
            err(number, "published_at", str(exc))
            published = None
        title = cell_text(cell(values, "title"))
        if not title:
            err(number, "title", _("Required: %(column)s must not be empty",
                                   column=LABEL["title"]), code="required")
        elif len(title) > MAX_TITLE:
            title = title[:MAX_TITLE]
        url = cell_text(cell(values, "url")) or None
        if url and len(url) > MAX_URL:
            err(number, "url", _("The link must not exceed %(max)s characters", max=MAX_URL))
        target = account
        if account is None:
            handle = cell_text(cell(values, "handle"))
            candidates = by_handle.get(handle, [])
            platform = cell_text(cell(values, "platform"))
            if platform:
                try:
                    code = parse_platform(platform)
                    candidates = [a for a in candidates if a.platform == code]
                except ValueError as exc:
                    err(number, "platform", str(exc), code="unknown_platform")
                    candidates = []
            if not handle:
                err(number, "handle", _("Required: %(column)s must not be empty",
                                        column=LABEL["handle"]), code="required")
            elif not candidates:
                err(number, "handle", _("No account has the account ID “%(handle)s”",
                                        handle=handle), code="unknown_account")
            elif len(candidates) > 1:
                err(number, "handle", _("The account ID “%(handle)s” is on several platforms: "
                                        "fill in the “%(column)s” column", handle=handle,
                                        column=LABEL["platform"]), code="ambiguous_account")
            else:
                target = candidates[0]
                if units is not None and target.unit_id not in units:
                    err(number, "handle", _("The account “%(name)s” is not your unit's",
                                            name=target.name), code="forbidden")
        if published is not None and target is not None and title:
            parsed.append((target, published, title[:MAX_TITLE], url))
    if not parsed and not errors:
        errors.append({"row": None, "column": None, "code": "empty",
                       "message": _("The file has no posts")})
    if errors:
        result.errors = sorted(errors, key=lambda e: e["row"] or 0)
        return result

    accounts = {a.id: a for a, *_rest in parsed}
    seen = set()
    for start in range(0, len(accounts), 900):
        chunk = sorted(accounts)[start:start + 900]
        for aid, at, title in db.session.execute(select(Post.account_id, Post.published_at,
                                                        Post.title).where(Post.account_id.in_(chunk))):
            seen.add((aid, at.astimezone(UTC), title))
    new = []
    for acc, published, title, url in parsed:
        key = (acc.id, published.astimezone(UTC), title)
        if key in seen:
            result.skipped += 1
            continue
        seen.add(key)
        new.append({"account_id": acc.id, "published_at": published, "title": title, "url": url})
    if new:
        per_account: dict = {}
        for row in new:
            record_post(row["account_id"], row["published_at"], row["title"], row["url"],
                        source, created_by_id=actor.id)
            per_account[row["account_id"]] = per_account.get(row["account_id"], 0) + 1
        audit.record_many([("posts.import", "account", aid, None,
                            {"filename": filename, "posts": n}, accounts[aid].unit_id)
                           for aid, n in per_account.items()], user=actor)
        apply_pending()   # the figures of these accounts, in the import's transaction
    result.created = len(new)
    result.accounts = len({r["account_id"] for r in new})
    return result
