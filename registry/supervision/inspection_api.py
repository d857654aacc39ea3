"""The inspection moment's API (issue 14): the accounts the national inspection would veto at
an instant, with their evidence (same blueprint as api.py, same service as the page)."""
import re
from datetime import datetime

from flask import jsonify, request
from flask_babel import gettext as _

from govmedia.api import documented, page_params, query_int
from govmedia.auth import api_roles, api_user
from govmedia.errors import Invalid
from govmedia.rules import INSPECTION_UPDATE_DAYS
from govmedia.types import SHANGHAI, date_in_range

from . import inspection
from .api import bp

# ISO 8601 to the minute at least (T or a space between date and time), with an offset or Z
# (or none: Beijing time). A "+" left
# unencoded in a query string arrives as a space; it is read as the "+" it was.
MOMENT = re.compile(r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)"
                    r"(Z|[+ -]\d{2}:\d{2})?")
MOMENT_HINT = "ISO 8601 instant, e.g. 2026-11-20T09:30:00+08:00"


def query_moment() -> datetime:
    """`?moment=`: the instant asked about (default: now)."""
    raw = (request.args.get("moment") or "").strip("\t\r\n")
    if not raw.strip():
        return datetime.now(SHANGHAI).replace(microsecond=0)
    match = MOMENT.fullmatch(raw)
    moment = None
    if match:
        offset = (match.group(2) or "").replace(" ", "+")
        try:
            moment = datetime.fromisoformat(match.group(1) + offset)
        except ValueError:
            moment = None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    if moment is None or not date_in_range(moment.astimezone(SHANGHAI).date()):
        raise Invalid(_("moment: expected a date and time with its offset, such as "
                        "2026-11-20 09:30:00+08:00"), fields={"moment": MOMENT_HINT})
    return moment


@bp.get("/supervision/inspection")
@documented("The inspection moment (监测时间点): active accounts of the units the supervisor "
            "reaches (unit_id: one of them) that the national inspection would veto at "
            "`moment` (ISO 8601 with an offset; without one, Beijing time; default now): no "
            f"post in the {INSPECTION_UPDATE_DAYS} days before it (findings: updates) or a "
            "message unanswered past its reply deadline at it (findings: interaction). Each "
            "item carries its evidence: the last post before the moment (title, published_at, "
            "url) and the unanswered messages (received_at, reply_due_on; the oldest "
            f"{inspection.MESSAGES_SHOWN}, overdue_messages counts them all). By unit, then "
            "name", tag="supervision",
            query={"moment": {"type": "string", "format": "date-time"}, "unit_id": "integer",
                   "limit": "integer", "offset": "integer"},
            responses={200: "items, total, moment, counts", 400: "invalid (fields.moment)",
                       403: "forbidden"})
@api_roles("supervisor")
def inspection_moment():
    user = api_user()
    moment = query_moment()
    unit_id = query_int("unit_id")
    limit, offset = page_params()
    rows = inspection.inspection(user, moment, unit_id=unit_id)
    return jsonify({"items": inspection.rows_json(rows[offset:offset + limit], moment),
                    "total": len(rows),
                    "moment": moment.astimezone(SHANGHAI).isoformat(),
                    "window_days": INSPECTION_UPDATE_DAYS,
                    "counts": {"updates": sum(r["fails_updates"] for r in rows),
                               "interaction": sum(r["fails_interaction"] for r in rows)}})
