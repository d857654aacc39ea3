"""The inspection moment (监测时间点, issue 14): for any instant, the accounts in a supervisor's
reach that the national inspection would veto at it, on either count:

- **content updates**: no post in the INSPECTION_UPDATE_DAYS (14) days before the instant
  (an account opened or reopened inside that window is not yet due an update);
- **interaction**: a message from the public received by the instant and not answered by it
  whose reply deadline (interaction.overdue) ended before it.

With the evidence: the last post before the instant (title, time, link) and the oldest
unanswered message's time.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, true

from govmedia.auth import require_roles, scope_query
from govmedia.extensions import db
from govmedia.rules import INSPECTION_UPDATE_DAYS
from govmedia.types import SHANGHAI, shanghai_date
from interaction.overdue import unanswered_at, unanswered_messages_at

from ..labels import N_, label
from ..models import Account, Post
from .export import Column
from .lookups import unit_names

INSPECTED_STATUSES = ("active",)
ROWS_MAX = 100_000
MESSAGES_SHOWN = 20   # per account in the API's evidence; `overdue_messages` counts them all

COLUMNS = (("name", N_("Account"), 24, False), ("platform", N_("Platform"), 12, False),
           ("unit", N_("Unit"), 28, False), ("findings", N_("Findings"), 24, False),
           ("last_post_at", N_("Last update"), 18, False),
           ("last_post_title", N_("Last post"), 30, False),
           ("last_post_url", N_("Link"), 30, False),
           ("overdue_messages", N_("Overdue messages"), 10, False),
           ("oldest_overdue_at", N_("Oldest unanswered message"), 18, False))


def _start_of(day) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def _text(instant: datetime | None) -> str:
    return "" if instant is None else instant.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def inspection(actor, moment: datetime, unit_id: int | None = None) -> list[dict]:
    """The accounts failing either count at `moment`, by unit then name (supervisors and
    admins; the caller's subtree, or one unit of it)."""
    require_roles(actor, "supervisor")
    day = shanghai_date(moment)
    window_start = moment - timedelta(days=INSPECTION_UPDATE_DAYS)
    last = (select(Post.published_at, Post.title, Post.url)
            .where(Post.account_id == Account.id, Post.published_at <= moment)
            .order_by(Post.published_at.desc()).limit(1).lateral("last_post"))
    query = (select(Account.id, Account.unit_id, Account.name, Account.platform,
                    Account.opened_on, Account.reopened_on, last.c.published_at, last.c.title,
                    last.c.url)
             .outerjoin(last, true())
             .where(Account.status.in_(INSPECTED_STATUSES), Account.opened_on <= day)
             .order_by(Account.unit_id, Account.name, Account.id).limit(ROWS_MAX))
    accounts = db.session.execute(scope_query(query, Account.unit_id, actor, unit_id)).all()
    messages = unanswered_at(moment, [a.id for a in accounts])
    names = unit_names({a.unit_id for a in accounts})
    rows = []
    for a in accounts:
        began = a.opened_on if a.reopened_on is None or a.reopened_on > day else max(
            a.opened_on, a.reopened_on)
        stale = (a.published_at is None or a.published_at < window_start) and \
            _start_of(began) < window_start
        unanswered = messages.get(a.id)
        if not stale and unanswered is None:
            continue
        rows.append({"account_id": a.id, "unit_id": a.unit_id, "name": a.name,
                     "platform": a.platform, "unit_name": names.get(a.unit_id, ""),
                     "fails_updates": stale, "fails_interaction": unanswered is not None,
                     "last_post_at": a.published_at, "last_post_title": a.title,
                     "last_post_url": a.url,
                     "overdue_messages": unanswered["count"] if unanswered else 0,
                     "oldest_overdue_at": unanswered["oldest"] if unanswered else None})
    return rows


def findings(row: dict) -> str:
    found = []
    if row["fails_updates"]:
        found.append(_("No update in %(n)s days", n=INSPECTION_UPDATE_DAYS))
    if row["fails_interaction"]:
        found.append(_("Messages unanswered past the deadline"))
    return _("; ").join(found)


def columns() -> list[Column]:
    return [Column(key, _(heading), width, is_date) for key, heading, width, is_date in COLUMNS]


def file_rows(rows: list[dict]) -> list[dict]:
    """The rows as the XLSX and CSV show them, in the reader's language."""
    return [{"name": r["name"], "platform": label("platform", r["platform"]),
             "unit": r["unit_name"], "findings": findings(r),
             "last_post_at": _text(r["last_post_at"]), "last_post_title": r["last_post_title"] or "",
             "last_post_url": r["last_post_url"] or "", "overdue_messages": r["overdue_messages"],
             "oldest_overdue_at": _text(r["oldest_overdue_at"])} for r in rows]


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(SHANGHAI).isoformat()


def rows_json(rows: list[dict], moment: datetime) -> list[dict]:
    """The rows as the API gives them, with their evidence: the last post before the instant
    and the unanswered messages' times (the oldest MESSAGES_SHOWN of each account)."""
    messages = unanswered_messages_at(moment, [r["account_id"] for r in rows if
                                               r["fails_interaction"]], MESSAGES_SHOWN)
    out = []
    for r in rows:
        last_post = None if r["last_post_at"] is None else {
            "title": r["last_post_title"], "published_at": _iso(r["last_post_at"]),
            "url": r["last_post_url"]}
        out.append({"account_id": r["account_id"], "name": r["name"],
                    "platform": r["platform"], "unit_id": r["unit_id"],
                    "unit_name": r["unit_name"],
                    "findings": [f for f, failed in (("updates", r["fails_updates"]),
                                                     ("interaction", r["fails_interaction"]))
                                 if failed],
                    "fails_updates": r["fails_updates"],
                    "fails_interaction": r["fails_interaction"], "last_post": last_post,
                    "overdue_messages": r["overdue_messages"],
                    "oldest_overdue_at": _iso(r["oldest_overdue_at"]),
                    "messages": [{"id": m["id"], "received_at": _iso(m["received_at"]),
                                  "reply_due_on": m["reply_due_on"].isoformat()}
                                 for m in messages.get(r["account_id"], [])]})
    return out
