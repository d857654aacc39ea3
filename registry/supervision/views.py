"""Supervision pages: dashboard, dormant and duplicate lists, orders, reports, post logs, notifications."""
import json
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from govmedia.auth import require_roles
from govmedia.errors import DomainError, NotFound
from govmedia.extensions import db
from govmedia.profiles import profile_for
from govmedia.pagination import PER_PAGE, Page, paginate, requested_page
from govmedia.types import ascii_int, date_in_range, today_shanghai

from .. import forms, picker
from ..services import get_account
from . import levels, lookups, notifications as reminders, reports, services
from .api import report_file
from .models import RECTIFICATION_STATUSES
from .postlog import import_post_log

bp = Blueprint("supervision", __name__)
UNIT_CHOICES_MAX = lookups.UNIT_CHOICES_MAX


def actor():
    return current_user._get_current_object()


@bp.app_context_processor
def _helpers():
    def notification_count():
        if not current_user.is_authenticated:
            return 0
        return reminders.unread_count(current_user)

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


# The dormant list and the per-unit summary are paged by their services, which count the
# total in the same pass as the page (a second count would scan the band again).
def _window() -> tuple[int, int]:
    """(limit, offset) of the requested page (?page=N)."""
    return PER_PAGE, (requested_page() - 1) * PER_PAGE


def _page_of(items: list, total: int) -> Page:
    return Page(items=items, total=total, page=requested_page(), per_page=PER_PAGE)


@bp.get("/supervision")
@login_required
def dashboard():
    as_of, error = _as_of()
    unit_id = _int_arg("unit_id")
    limit, offset = _window()
    summary = services.summary(actor(), as_of, unit_id=unit_id, limit=limit, offset=offset,
                               worst_first=True)
    page = _page_of(summary["units"], summary["units_total"])
    weeks = services.trend(actor(), as_of, unit_id=unit_id)
    chart = {"labels": [w["week_end"] for w in weeks],
             "dormant": [w["dormant"] for w in weeks], "warning": [w["warning"] for w in weeks],
             "filing_rate": [None if w["filing_rate"] is None else round(100 * w["filing_rate"], 1)
                             for w in weeks],
             "posts": [w["posts"] for w in weeks],
             "names": {"dormant": _("Dormant"), "warning": _("Warning band"),
                       "filing_rate": _("Filing rate (%)"), "posts": _("Updates")}}
    # The level's children a page at a time (?level_page=N): a flat registry's top has
    # thousands of units, and its figures are the per-unit table's.
    level_page = requested_page("level_page")
    level = levels.level(actor(), as_of, _int_arg("under"), limit=PER_PAGE,
                         offset=(level_page - 1) * PER_PAGE)
    # A drop-down of units only while the list stays short; otherwise the unit id is typed
    # (the per-unit table links to each unit's view).
    return render_template("supervision/dashboard.html", summary=summary, weeks=weeks,
                           units=page.items, page=page.page, pages=page.pages,
                           unit_input=lookups.reaches_several_units(actor()), as_of=as_of,
                           error=error, unit_id=unit_id,
                           chart_json=json.dumps(chart, ensure_ascii=False),
                           unit_choices=lookups.unit_choices(actor(), UNIT_CHOICES_MAX),
                           level=level, level_page=level_page,
                           level_pages=Page(items=level["children"], total=level["children_total"],
                                            page=level_page, per_page=PER_PAGE).pages,
                           message_accounts=services.overdue_message_accounts(
                               actor(), as_of, unit_id=unit_id),
                           profile=profile_for(unit_id if unit_id is not None
                                               else actor().unit_id, as_of))


@bp.get("/supervision/dormant")
@login_required
def dormant():
    as_of, error = _as_of()
    include = request.args.get("include") == "warning"
    limit, offset = _window()
    page = _page_of(*services.dormant_list(actor(), as_of, include_warning=include,
                                           unit_id=_int_arg("unit_id"), limit=limit,
                                           offset=offset))
    unit_id = _int_arg("unit_id")
    return render_template("supervision/dormant.html", items=page.items, **page.nav,
                           as_of=as_of, error=error, include=include,
                           names=lookups.unit_names(i["unit_id"] for i in page.items),
                           profile=profile_for(unit_id if unit_id is not None
                                               else actor().unit_id, as_of))


@bp.get("/supervision/duplicates")
@login_required
def duplicates():
    body = services.duplicates(actor(), unit_id=_int_arg("unit_id"))
    db.session.commit()
    accounts = lookups.accounts_by_id(
        {a for g in body["items"] for a in g["account_ids"]}
        | {a for s in body["similar"] for a in s["account_ids"]})
    names = lookups.unit_names([g["unit_id"] for g in body["items"]]
                               + [a.unit_id for a in accounts.values()])
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
            errors = forms.domain_field_errors(err) | {"form": err.message}
    as_of = today_shanghai()
    overdue = request.args.get("overdue") == "1"
    status = request.args.get("status")
    page = paginate(services.rectifications_query(
        user, unit_id=_int_arg("unit_id"),
        status=status if status in RECTIFICATION_STATUSES else None,
        overdue_on=as_of if overdue else None))
    prefill = {"unit_id": request.args.get("new_unit_id", ""),
               "account_id": request.args.get("new_account_id", ""),
               "kind": request.args.get("new_kind", ""),
               "finding": request.args.get("new_finding", "")} | values
    return render_template("supervision/rectifications.html", orders=page.items, **page.nav,
                           as_of=as_of, names=lookups.unit_names(o.unit_id for o in page.items),
                           errors=errors, values=prefill, kinds=services.RECTIFICATION_KINDS,
                           unit_choices=lookups.unit_choices(user), overdue=overdue), \
        400 if errors else 200


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
                           as_of=today_shanghai(), error=error, unit=order.unit), \
        400 if error else 200


# --- quarterly reports -------------------------------------------------------------------------------

@bp.route("/supervision/reports", methods=["GET", "POST"])
@login_required
def report_list():
    user = actor()
    reports.require_report_reader(user)
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
    page = paginate(reports.reports_query(user))
    shown = reports.find_report(_int_arg("shown")) if _int_arg("shown") else None
    return render_template("supervision/reports.html", reports=page.items, **page.nav,
                           error=error, today=today, this_quarter=(today.month - 1) // 3 + 1,
                           shown=shown, columns=reports.COLUMNS), 400 if error else 200


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
    # The searchable picker lists a few matches, never every account (a county has hundreds).
    q = request.values.get("account_q") or ""
    chosen = ascii_int((request.form.get("account_id") or "").strip())
    accounts = picker.account_matches(user, q, include_id=chosen)
    return render_template("supervision/post_logs.html", accounts=accounts, result=result,
                           error=error, q=q, chosen=chosen), \
        400 if (error or (result and result.errors)) else 200


# --- notifications -------------------------------------------------------------------------------------

@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications():
    user = actor()
    if request.method == "POST":
        try:
            if request.form.get("action") == "read_all":
                reminders.mark_all_read(user)
            elif request.form.get("action") == "read":
                note_id = ascii_int(request.form.get("note_id") or "")
                if note_id is None:
                    raise NotFound(_("Notification not found"))
                reminders.mark_read(user, note_id)
            elif request.form.get("action") == "email":
                reminders.set_notification_email(user, request.form.get("email") or "")
            db.session.commit()
            flash(_("Saved"), "success")
        except DomainError as err:
            db.session.rollback()
            flash(err.message, "error")
        return redirect(url_for("supervision.notifications"))
    page = paginate(reminders.notifications_query(user))
    return render_template("supervision/notifications.html", rows=page.items, **page.nav,
                           address=reminders.notification_address(user))
