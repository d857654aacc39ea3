"""Supervision pages: dashboard, dormant and duplicate lists, orders, reports, post logs, notifications."""
import json
import math
from datetime import UTC, date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select, update

from govmedia.auth import require_roles, visible_unit_ids
from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.types import ascii_int, date_in_range, today_shanghai

from ..labels import GROUPS, N_
from ..models import Account, Unit
from ..services import get_account
from . import reports, services
from .api import report_file
from .jobs import unread_count
from .models import Notification, NotificationAddress, QuarterlyReport, Rectification
from .postlog import import_post_log

bp = Blueprint("supervision", __name__)
PER_PAGE = 50
UNIT_CHOICES_MAX = 300

# Display names of this package's codes, shown through registry.labels.label().
GROUPS["rectification"] = {"open": N_("Awaiting rectification"), "answered": N_("Answered"),
                           "closed": N_("Closed")}
GROUPS["finding"] = {"dormant": N_("Not updated (rule 5)"),
                     "overdue_filing": N_("Filing overdue (rule 4)"),
                     "duplicate": N_("Duplicate accounts (rule 3)"),
                     "naming": N_("Naming (rule 2)"),
                     "prerequisites": N_("Opening prerequisites (rule 1)"),
                     "content": N_("Content"), "other": N_("Other")}


def actor():
    return current_user._get_current_object()


@bp.app_context_processor
def _helpers():
    def notification_count():
        if not current_user.is_authenticated:
            return 0
        return unread_count(current_user)

    return {"notification_count": notification_count}


def _as_of() -> tuple[date, str | None]:
    raw = (request.args.get("as_of") or "").strip()
    if not raw:
        return today_shanghai(), None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return today_shanghai(), _("Enter a date as YYYY-MM-DD")
    if not date_in_range(day):  # year 1 or 9999: the week windows leave the calendar
        return today_shanghai(), _("Enter a date as YYYY-MM-DD")
    return day, None


def _int_arg(name: str) -> int | None:
    return ascii_int((request.args.get(name) or "").strip())


def _page() -> int:
    return ascii_int(request.args.get("page", "1"), 10**6) or 1


def _unit_names(ids) -> dict:
    ids = sorted(set(ids))
    names = {}
    for start in range(0, len(ids), 900):
        names.update(dict(db.session.execute(select(Unit.id, Unit.name).where(
            Unit.id.in_(ids[start:start + 900]))).all()))
    return names


@bp.get("/supervision")
@login_required
def dashboard():
    as_of, error = _as_of()
    unit_id = _int_arg("unit_id")
    page = _page()
    summary = services.summary(actor(), as_of, unit_id=unit_id, limit=PER_PAGE,
                               offset=(page - 1) * PER_PAGE, worst_first=True)
    weeks = services.trend(actor(), as_of, unit_id=unit_id)
    units = summary["units"]
    pages = max(1, math.ceil(summary["units_total"] / PER_PAGE))
    chart = {"labels": [w["week_end"] for w in weeks],
             "dormant": [w["dormant"] for w in weeks], "warning": [w["warning"] for w in weeks],
             "filing_rate": [None if w["filing_rate"] is None else round(100 * w["filing_rate"], 1)
                             for w in weeks],
             "posts": [w["posts"] for w in weeks],
             "names": {"dormant": _("Dormant"), "warning": _("Warning band"),
                       "filing_rate": _("Filing rate (%)"), "posts": _("Updates")}}
    # A drop-down of every unit only while it stays short; otherwise the unit id is typed (the
    # per-unit table links to each unit's view).
    unit_choices = db.session.execute(select(Unit.id, Unit.name).order_by(Unit.name)
                                      .limit(UNIT_CHOICES_MAX + 1)).all() \
        if actor().sees_all_units else []
    if len(unit_choices) > UNIT_CHOICES_MAX:
        unit_choices = []
    return render_template("supervision/dashboard.html", summary=summary, weeks=weeks,
                           units=units, page=page, unit_input=actor().sees_all_units,
                           pages=pages, as_of=as_of, error=error, unit_id=unit_id,
                           chart_json=json.dumps(chart, ensure_ascii=False),
                           unit_choices=unit_choices)


@bp.get("/supervision/dormant")
@login_required
def dormant():
    as_of, error = _as_of()
    include = request.args.get("include") == "warning"
    page = _page()
    items, total = services.dormant_list(actor(), as_of, include_warning=include,
                                         unit_id=_int_arg("unit_id"), limit=PER_PAGE,
                                         offset=(page - 1) * PER_PAGE)
    return render_template("supervision/dormant.html", items=items, total=total, page=page,
                           pages=max(1, math.ceil(total / PER_PAGE)), as_of=as_of, error=error,
                           include=include, names=_unit_names(i["unit_id"] for i in items))


@bp.get("/supervision/duplicates")
@login_required
def duplicates():
    body = services.duplicates(actor(), unit_id=_int_arg("unit_id"))
    db.session.commit()
    ids = {a for g in body["items"] for a in g["account_ids"]} | {
        a for s in body["similar"] for a in s["account_ids"]}
    accounts = {}
    id_list = sorted(ids)
    for start in range(0, len(id_list), 900):
        for account in db.session.scalars(select(Account).where(
                Account.id.in_(id_list[start:start + 900]))):
            accounts[account.id] = account
    names = _unit_names([g["unit_id"] for g in body["items"]] + [a.unit_id for a in accounts.values()])
    return render_template("supervision/duplicates.html", body=body, accounts=accounts,
                           names=names)


# --- rectification orders ----------------------------------------------------------------------

@bp.route("/supervision/rectifications", methods=["GET", "POST"])
@login_required
def rectifications():
    user = actor()
    errors, values = {}, {}
    if request.method == "POST":
        require_roles(user, "supervisor")
        values = request.form.to_dict()
        try:
            deadline = date.fromisoformat(values["deadline"]) if values.get("deadline") else None
            unit_id = int(values.get("unit_id") or 0)
            account_id = int(values["account_id"]) if (values.get("account_id") or "").strip() \
                else None
            order = services.create_rectification(user, unit_id, values.get("kind", ""),
                                                  values.get("finding", ""),
                                                  account_id=account_id, deadline=deadline)
            db.session.commit()
            flash(_("Rectification order issued; deadline %(d)s", d=order.deadline.isoformat()),
                  "success")
            return redirect(url_for("supervision.rectification", order_id=order.id))
        except ValueError:
            errors = {"form": _("Enter a date as YYYY-MM-DD")}
        except DomainError as err:
            if err.status in (403, 404):
                raise
            db.session.rollback()
            errors = dict(err.fields or {}) | {"form": err.message}
    as_of = today_shanghai()
    overdue = request.args.get("overdue") == "1"
    query = services.rectifications_query(user, unit_id=_int_arg("unit_id"),
                                          status=request.args.get("status") or None
                                          if request.args.get("status") in ("open", "answered",
                                                                             "closed") else None,
                                          overdue_on=as_of if overdue else None)
    orders = db.session.scalars(query.order_by(Rectification.deadline, Rectification.id)
                                .limit(500)).all()
    prefill = {"unit_id": request.args.get("new_unit_id", ""),
               "account_id": request.args.get("new_account_id", ""),
               "kind": request.args.get("new_kind", ""),
               "finding": request.args.get("new_finding", "")} | values
    unit_choices = db.session.execute(select(Unit.id, Unit.name).order_by(Unit.name)).all() \
        if user.sees_all_units else []
    return render_template("supervision/rectifications.html", orders=orders, as_of=as_of,
                           names=_unit_names(o.unit_id for o in orders), errors=errors,
                           values=prefill, kinds=services.RECTIFICATION_KINDS,
                           unit_choices=unit_choices, overdue=overdue), 400 if errors else 200


@bp.route("/supervision/rectifications/<int:order_id>", methods=["GET", "POST"])
@login_required
def rectification(order_id):
    user = actor()
    order = services.get_rectification(user, order_id)
    error = None
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "answer":
                services.answer_rectification(user, order, request.form.get("answer", ""))
            elif action in ("close", "reopen"):
                raw = (request.form.get("deadline") or "").strip()
                deadline = date.fromisoformat(raw) if raw else None
                services.decide_rectification(user, order, action == "close",
                                              request.form.get("note", ""), deadline)
            else:
                abort(400)
            db.session.commit()
            flash(_("Saved"), "success")
            return redirect(url_for("supervision.rectification", order_id=order.id))
        except ValueError:
            error = _("Enter a date as YYYY-MM-DD")
        except DomainError as err:
            if err.status in (403, 404):
                raise
            db.session.rollback()
            error = err.message
        order = services.get_rectification(user, order_id)
    return render_template("supervision/rectification.html", order=order,
                           as_of=today_shanghai(), error=error,
                           unit=db.session.get(Unit, order.unit_id)), 400 if error else 200


# --- quarterly reports -------------------------------------------------------------------------------

@bp.route("/supervision/reports", methods=["GET", "POST"])
@login_required
def report_list():
    user = actor()
    require_roles(user, "supervisor")
    error = None
    today = today_shanghai()
    if request.method == "POST":
        try:
            year, quarter = int(request.form.get("year", "")), int(request.form.get("quarter", ""))
            report = reports.generate(user, year, quarter)
            db.session.commit()
            flash(_("Report generated"), "success")
            return redirect(url_for("supervision.report_list", shown=report.id))
        except ValueError:
            error = _("Choose a year and a quarter")
        except DomainError as err:
            if err.status in (403, 404):
                raise
            db.session.rollback()
            error = err.message
    rows = db.session.scalars(select(QuarterlyReport).order_by(QuarterlyReport.id.desc())
                              .limit(100)).all()
    shown = None
    if _int_arg("shown"):
        shown = db.session.get(QuarterlyReport, _int_arg("shown"))
    return render_template("supervision/reports.html", reports=rows, error=error, today=today,
                           this_quarter=(today.month - 1) // 3 + 1, shown=shown,
                           columns=reports.COLUMNS), 400 if error else 200


@bp.get("/supervision/reports/<int:report_id>.<any(xlsx, csv):ext>")
@login_required
def report_download(report_id, ext):
    return report_file(reports.get_report(actor(), report_id), ext)


# --- post logs ---------------------------------------------------------------------------------------

@bp.route("/supervision/post-logs", methods=["GET", "POST"])
@login_required
def post_logs():
    user = actor()
    require_roles(user, "sponsor", "editor")
    result, error = None, None
    units = visible_unit_ids(user)
    query = select(Account).where(Account.status != "deregistered").order_by(Account.name)
    if units is not None:
        query = query.where(Account.unit_id.in_(units))
    accounts = db.session.scalars(query.limit(1000)).all()
    if request.method == "POST":
        upload = request.files.get("file")
        raw = (request.form.get("account_id") or "").strip()
        try:
            account = get_account(user, ascii_int(raw)) if ascii_int(raw) else None
            if upload is None or not upload.filename:
                error = _("Choose a file to import")
            else:
                result = import_post_log(user, upload.filename, upload.read(), account)
                if result.errors:
                    db.session.rollback()
                else:
                    db.session.commit()
                    flash(_("%(n)s posts recorded, %(s)s already recorded", n=result.created,
                            s=result.skipped), "success")
        except DomainError as err:
            if err.status in (403, 404):
                raise
            db.session.rollback()
            error = err.message
    return render_template("supervision/post_logs.html", accounts=accounts, result=result,
                           error=error), 400 if (error or (result and result.errors)) else 200


# --- notifications -------------------------------------------------------------------------------------

@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications():
    user = actor()
    address = db.session.get(NotificationAddress, user.id)
    if request.method == "POST":
        if request.form.get("action") == "read_all":
            db.session.execute(update(Notification).where(
                Notification.user_id == user.id, Notification.read_at.is_(None))
                .values(read_at=datetime.now(UTC)))
        elif request.form.get("action") == "email":
            email = (request.form.get("email") or "").strip()
            if email and ("@" not in email or len(email) > 254):
                flash(_("Enter a valid e-mail address"), "error")
                return redirect(url_for("supervision.notifications"))
            if email:
                if address is None:
                    address = NotificationAddress(user_id=user.id, email=email)
                    db.session.add(address)
                address.email = email
            elif address is not None:
                db.session.delete(address)
        db.session.commit()
        flash(_("Saved"), "success")
        return redirect(url_for("supervision.notifications"))
    page = _page()
    query = select(Notification).where(Notification.user_id == user.id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Notification.id.desc()).limit(PER_PAGE)
                              .offset((page - 1) * PER_PAGE)).all()
    return render_template("supervision/notifications.html", rows=rows, total=total, page=page,
                           pages=max(1, math.ceil(total / PER_PAGE)), address=address)
