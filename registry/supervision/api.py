"""Supervision JSON API (shared/API.md "Supervision"), plus orders, reports, post logs, notifications."""
from datetime import date
from typing import Annotated, Literal
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from pydantic import Field, StringConstraints

from govmedia.api import (
    documented,
    listing,
    page_params,
    parse_body,
    query_as_of,
    query_choice,
    query_int,
)
from govmedia.auth import api_roles, api_user
from govmedia.errors import Invalid
from govmedia.extensions import csrf, db
from govmedia.pagination import paginate
from govmedia.types import ascii_int

from ..schemas import Strict
from ..services import get_account
from . import levels, notifications as reminders, reports, services
from .models import RECTIFICATION_STATUSES
from .postlog import import_post_log

bp = Blueprint("supervision_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_TREND_WEEKS = 104
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class RectificationIn(Strict):
    unit_id: int
    kind: Literal[services.RECTIFICATION_KINDS]  # type: ignore[valid-type]
    finding: LongText
    account_id: int | None = None
    deadline: date | None = None


class AnswerIn(Strict):
    answer: LongText


class DecisionIn(Strict):
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] | None = None
    deadline: date | None = None


class ReportIn(Strict):
    year: Annotated[int, Field(ge=2000, le=2100)]
    quarter: Annotated[int, Field(ge=1, le=4)]
    as_of: date | None = None


# --- the contract's three ------------------------------------------------------------------------

@bp.get("/supervision/dormant")
@documented("Dormant accounts (rule 5), longest first; include=warning adds the 7-10 day band",
            tag="supervision",
            query={"as_of": "string", "include": {"type": "string", "enum": ["warning"]},
                   "unit_id": "integer", "limit": "integer", "offset": "integer"},
            responses={200: "list", 403: "forbidden"})
def dormant():
    user = api_user()
    include = query_choice("include", ("warning",))
    limit, offset = page_params()
    items, total = services.dormant_list(user, query_as_of(), include_warning=include == "warning",
                                         unit_id=query_int("unit_id"), limit=limit, offset=offset)
    return jsonify({"items": items, "total": total, "as_of": query_as_of().isoformat()})


@bp.get("/supervision/duplicates")
@documented("Units holding more than one counted account on a platform (rule 3), and likely "
            "duplicates: near-same names, one verified subject, low-use clean-up candidates",
            tag="supervision", query={"unit_id": "integer"},
            responses={200: "items and similar", 403: "forbidden"})
def duplicates():
    body = services.duplicates(api_user(), unit_id=query_int("unit_id"))
    db.session.commit()   # the refreshed name index
    return jsonify(body)


@bp.get("/supervision/summary")
@documented("Accounts by status, filings by status, filing rate, dormant and warning counts; "
            "totals over every unit in sight, and per unit one page of units by id "
            "(limit default 50, max 500; units_total)", tag="supervision",
            query={"as_of": "string", "unit_id": "integer", "limit": "integer",
                   "offset": "integer"},
            responses={200: "summary", 403: "forbidden"})
def summary():
    limit, offset = page_params()
    return jsonify(services.summary(api_user(), query_as_of(), unit_id=query_int("unit_id"),
                                    limit=limit, offset=offset))


@bp.get("/supervision/levels")
@documented("One level of the unit tree (issue 16): the node `under` (default: the top of the "
            "caller's reach), its own accounts' figures (own), one row per child with the "
            "child's whole subtree rolled up (children, units = units in it), their sum (total) "
            "and the path from the top of the reach (path); children_total counts the "
            "children, of which `limit` from `offset` are listed when asked (default: all)",
            tag="supervision",
            query={"as_of": "string", "under": "integer", "limit": "integer",
                   "offset": "integer"},
            responses={200: "level", 403: "forbidden"})
def levels_view():
    as_of = query_as_of()
    limit = query_int("limit")
    return jsonify({"as_of": as_of.isoformat(),
                    **levels.level(api_user(), as_of, query_int("under"),
                                   limit=None if limit is None else max(0, limit),
                                   offset=max(0, query_int("offset") or 0))})


@bp.get("/supervision/trend")
@documented("Week by week back from as_of: dormant, warning, filing rate, posts",
            tag="supervision", query={"as_of": "string", "weeks": "integer", "unit_id": "integer"},
            responses={200: "weeks"})
def trend():
    weeks = query_int("weeks")
    if weeks is not None and not 1 <= weeks <= MAX_TREND_WEEKS:
        raise Invalid(_("weeks must be from 1 to %(max)s", max=MAX_TREND_WEEKS),
                      fields={"weeks": f"1 to {MAX_TREND_WEEKS}"})
    items = services.trend(api_user(), query_as_of(), weeks, unit_id=query_int("unit_id"))
    return listing(items, len(items))


# --- post logs ---------------------------------------------------------------------------------

@bp.post("/supervision/post-logs")
@documented("Import a post log exported by a platform back-end (multipart: file, account_id?); "
            "all or nothing", tag="supervision",
            responses={201: "created and skipped counts", 400: "invalid, with errors by row and "
                                                               "column", 403: "forbidden"})
def post_log():
    user = api_user()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid(_("Choose a file to import"), fields={"file": "required"})
    account = None
    if (request.form.get("account_id") or "").strip():
        raw = request.form["account_id"].strip()
        if ascii_int(raw) is None:
            raise Invalid(_("account_id must be a whole number"),
                          fields={"account_id": "expected an integer"})
        account = get_account(user, int(raw))
    result = import_post_log(user, upload.filename, upload.read(), account)
    if result.errors:
        db.session.rollback()
        message = _("Problems found: %(count)s; nothing imported", count=len(result.errors))
        return jsonify({"error": {"code": "invalid", "message": message,
                                  "errors": result.errors}}), 400
    db.session.commit()
    return jsonify({"created": result.created, "skipped": result.skipped,
                    "accounts": result.accounts}), 201


# --- rectification orders ------------------------------------------------------------------------

@bp.get("/supervision/rectifications")
@documented("Rectification orders (整改)", tag="supervision",
            query={"unit_id": "integer", "status": {"type": "string",
                                                    "enum": list(RECTIFICATION_STATUSES)},
                   "overdue": "boolean", "as_of": "string", "limit": "integer",
                   "offset": "integer"}, responses={200: "list"})
def list_rectifications():
    user = api_user()
    as_of = query_as_of()
    overdue = (request.args.get("overdue") or "").lower() in ("1", "true", "yes")
    query = services.rectifications_query(user, unit_id=query_int("unit_id"),
                                          status=query_choice("status", RECTIFICATION_STATUSES),
                                          overdue_on=as_of if overdue else None)
    page = paginate(query, window=page_params())
    return listing([services.rectification_json(o, as_of) for o in page.items], page.total)


@bp.post("/supervision/rectifications")
@documented("Hand a finding to a unit for rectification; the deadline defaults to "
            "SUPERVISION_RECTIFICATION_WORKDAYS working days (5)",
            body=RectificationIn, tag="supervision",
            responses={201: "order", 403: "forbidden"})
@api_roles("supervisor")
def create_rectification():
    data = parse_body(RectificationIn)
    order = services.create_rectification(api_user(), data.unit_id, data.kind, data.finding,
                                          account_id=data.account_id, deadline=data.deadline)
    db.session.commit()
    return jsonify(services.rectification_json(order, query_as_of())), 201


@bp.get("/supervision/rectifications/<int:order_id>")
@documented("One rectification order", tag="supervision",
            responses={200: "order", 403: "forbidden", 404: "not_found"})
def get_rectification(order_id):
    order = services.get_rectification(api_user(), order_id)
    return jsonify(services.rectification_json(order, query_as_of()))


@bp.post("/supervision/rectifications/<int:order_id>/answer")
@documented("The unit answers with what it did", body=AnswerIn, tag="supervision",
            responses={200: "order", 403: "forbidden", 409: "invalid_transition"})
def answer_rectification(order_id):
    user = api_user()
    order = services.get_rectification(user, order_id)
    data = parse_body(AnswerIn)
    services.answer_rectification(user, order, data.answer)
    db.session.commit()
    return jsonify(services.rectification_json(order, query_as_of()))


@bp.post("/supervision/rectifications/<int:order_id>/close")
@documented("A supervisor closes an order", body=DecisionIn, tag="supervision",
            responses={200: "order", 403: "forbidden", 409: "invalid_transition"})
@api_roles("supervisor")
def close_rectification(order_id):
    user = api_user()
    order = services.get_rectification(user, order_id)
    data = parse_body(DecisionIn)
    services.decide_rectification(user, order, True, data.note or "")
    db.session.commit()
    return jsonify(services.rectification_json(order, query_as_of()))


@bp.post("/supervision/rectifications/<int:order_id>/reopen")
@documented("A supervisor reopens an order with a new deadline (default: "
            "SUPERVISION_RECTIFICATION_WORKDAYS working days, 5)",
            body=DecisionIn, tag="supervision",
            responses={200: "order", 403: "forbidden", 409: "invalid_transition"})
@api_roles("supervisor")
def reopen_rectification(order_id):
    user = api_user()
    order = services.get_rectification(user, order_id)
    data = parse_body(DecisionIn)
    services.decide_rectification(user, order, False, data.note or "", data.deadline)
    db.session.commit()
    return jsonify(services.rectification_json(order, query_as_of()))


# --- quarterly reports ------------------------------------------------------------------------------

@bp.post("/supervision/reports")
@documented("Generate a quarterly inspection report; it is kept as generated", body=ReportIn,
            tag="supervision", responses={201: "report", 403: "forbidden"})
@api_roles("supervisor")
def create_report():
    data = parse_body(ReportIn)
    report = reports.generate(api_user(), data.year, data.quarter, data.as_of)
    db.session.commit()
    return jsonify(reports.report_json(report)), 201


@bp.get("/supervision/reports")
@documented("Generated quarterly reports", tag="supervision",
            query={"limit": "integer", "offset": "integer"}, responses={200: "list"})
@api_roles("supervisor")
def list_reports():
    page = paginate(reports.reports_query(api_user()), window=page_params())
    return listing([reports.report_json(r) for r in page.items], page.total)


@bp.get("/supervision/reports/<int:report_id>")
@documented("One report with its rows, as generated", tag="supervision",
            responses={200: "report", 404: "not_found"})
@api_roles("supervisor")
def get_report(report_id):
    return jsonify(reports.report_json(reports.get_report(api_user(), report_id), with_data=True))


@bp.get("/supervision/reports/<int:report_id>/xlsx")
@documented("The report as XLSX (formatted for printing, Chinese headers)", tag="supervision",
            responses={200: "file", 404: "not_found"})
@api_roles("supervisor")
def download_report_xlsx(report_id):
    return report_file(reports.get_report(api_user(), report_id), "xlsx")


@bp.get("/supervision/reports/<int:report_id>/csv")
@documented("The report as CSV (UTF-8 with BOM)", tag="supervision",
            responses={200: "file", 404: "not_found"})
@api_roles("supervisor")
def download_report_csv(report_id):
    return report_file(reports.get_report(api_user(), report_id), "csv")


def report_file(report, ext: str) -> Response:
    body = report.xlsx if ext == "xlsx" else report.csv
    mime = XLSX_MIME if ext == "xlsx" else "text/csv"  # werkzeug adds the charset
    name = reports.filename(report, ext)
    response = Response(body, mimetype=mime)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=report-{report.id}.{ext}; filename*=UTF-8''{quote(name)}")
    return response


# --- notifications --------------------------------------------------------------------------------

@bp.get("/notifications")
@documented("My reminders, newest first", tag="supervision",
            query={"unread": "boolean", "limit": "integer", "offset": "integer"},
            responses={200: "list with unread count"})
def notifications():
    user = api_user()
    unread_only = (request.args.get("unread") or "").lower() in ("1", "true", "yes")
    page = paginate(reminders.notifications_query(user, unread_only=unread_only),
                    window=page_params())
    return jsonify({"items": [reminders.notification_json(n) for n in page.items],
                    "total": page.total, "unread": reminders.unread_count(user)})


@bp.post("/notifications/<int:note_id>/read")
@documented("Mark a reminder read", tag="supervision", responses={200: "notification",
                                                                  404: "not_found"})
def read_notification(note_id):
    note = reminders.mark_read(api_user(), note_id)
    db.session.commit()
    return jsonify(reminders.notification_json(note))
