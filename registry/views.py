"""Registry pages: thin views that parse forms, call registry.services and render.

Forms are validated with the API's own pydantic models (registry/schemas.py, through
registry/forms.py); services raise DomainError subclasses: Forbidden and NotFound become
the HTML error page, every other refusal is shown on the form with what the user typed.
"""
import csv
import io
import json
import math
from datetime import date, datetime

from flask import (Blueprint, Response, abort, flash, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from govmedia import audit
from govmedia.auth import require_roles, visible_unit_ids
from govmedia.errors import DomainError, Forbidden
from govmedia.extensions import db
from govmedia.holidays import enter_schedule
from govmedia.models import ROLES, AuditEntry, HolidayOverride, HolidayYear, User
from govmedia.types import SHANGHAI, ascii_int, date_in_range, today_shanghai
from govmedia.workdays import ScheduleError, library_knows, parse_schedule, statutory_holidays
from notices.models import Notice
from notices.services import PLATFORM_NAMES

from . import forms, services
from .labels import label
from .models import (FILING_STATUSES, PLATFORMS, STATUSES, Account, Filing, PlatformException,
                     Unit)
from .schemas import (AccountIn, EventIn, FilingComplete, PlatformExceptionIn, UnitIn, UserIn,
                      UserPatch)

bp = Blueprint("registry", __name__)

PER_PAGE = 50
STAFF_FIELDS = ("name", "phone", "platform_role")
CONTACT_FIELDS = ("name", "phone", "title")


# --- plumbing -------------------------------------------------------------------------------

def actor() -> User:
    return current_user._get_current_object()


def _locale_is_en() -> bool:
    return str(get_locale() or "zh").startswith("en")


def _section() -> str:
    path = request.path
    if path.startswith("/accounts/new"):
        return "register"
    for prefix in ("/accounts", "/filings", "/units", "/audit", "/users", "/holidays",
                   "/imports"):
        if path.startswith(prefix):
            return prefix[1:]
    return "home" if path == "/" else ""


def _url_with(**changes) -> str:
    """This page's URL with some query arguments replaced (None removes one)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def _shanghai(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    return value.isoformat() if isinstance(value, date) else str(value)


@bp.app_context_processor
def _template_helpers():
    return {"get_locale": get_locale, "label": label, "section": _section,
            "url_with": _url_with, "platforms": PLATFORMS, "statuses": STATUSES,
            "filing_statuses": FILING_STATUSES, "all_roles": ROLES}


@bp.app_template_filter("shanghai")
def _shanghai_filter(value):
    return _shanghai(value)


@bp.app_template_filter("json_text")
def _json_text(value):
    """JSON as people read it: Chinese characters as themselves, not \\u escapes."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _page_number() -> int:
    page = request.args.get("page", "1")
    return ascii_int(page, 10**6) or 1


def _paged(query, page: int):
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).unique().all()
    return rows, total, max(1, math.ceil(total / PER_PAGE))


def _visible_units() -> list[Unit]:
    return db.session.scalars(services.units_query(actor()).order_by(Unit.name, Unit.id)).all()


def _all_units() -> list[Unit]:
    return db.session.scalars(select(Unit).order_by(Unit.name, Unit.id)).all()


def _refusal(err: DomainError) -> DomainError:
    """A refusal to show on the form; Forbidden/NotFound go to the error page instead."""
    if err.status in (401, 403, 404):
        raise err
    db.session.rollback()
    return err


def _submit(model, values: dict, call):
    """Validate form values with the API's model and run the service with them.

    Returns (result, errors, refusal); success is `not errors`. On success the transaction is
    committed; a refusal is rolled back and shown on the form (403/404 go to the error page).
    """
    data, errors = forms.validate(model, values)
    if data is None:
        return None, errors, None
    try:
        result = call(data)
    except DomainError as err:
        return None, forms.domain_field_errors(err) or {"form": err.message}, _refusal(err)
    db.session.commit()
    return result, {}, None


def _arg_choice(name: str, choices) -> str | None:
    value = request.args.get(name) or None
    return value if value in choices else None


def _arg_int(name: str) -> int | None:
    return ascii_int((request.args.get(name) or "").strip())


def _arg_date(name: str) -> tuple[date | None, str | None]:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None, None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None, _("Enter a date as YYYY-MM-DD")
    # Far outside the calendar the deadline arithmetic overflows: treat it as a typo.
    return (day, None) if date_in_range(day) else (None, _("Enter a date as YYYY-MM-DD"))


def _sees_account(account_id) -> bool:
    if account_id is None:
        return False
    account = db.session.get(Account, account_id)
    units = visible_unit_ids(actor())
    return account is not None and (units is None or account.unit_id in units)


# --- home -----------------------------------------------------------------------------------

@bp.get("/")
@login_required
def home():
    user = actor()
    today = today_shanghai()
    units = visible_unit_ids(user)
    query = select(Account.status, func.count()).group_by(Account.status)
    if units is not None:
        query = query.where(Account.unit_id.in_(units))
    by_status = {status: 0 for status in STATUSES}
    by_status.update(dict(db.session.execute(query).all()))
    filings = {}
    for status in ("pending", "overdue"):
        q = services.filings_query(user, status=status, as_of=today)
        filings[status] = db.session.scalar(select(func.count()).select_from(q.subquery()))
    q = services.filings_query(user, as_of=today).where(Filing.provisional.is_(True),
                                                        Filing.filed_on.is_(None))
    provisional = db.session.scalar(select(func.count()).select_from(q.subquery()))
    return render_template("home.html", by_status=by_status, filings=filings,
                           provisional=provisional, today=today,
                           total_accounts=sum(by_status.values()))


# --- units ----------------------------------------------------------------------------------

@bp.get("/units")
@login_required
def units():
    visible = _visible_units()
    counts = dict(db.session.execute(select(Account.unit_id, func.count())
                                     .where(Account.status.in_(("active", "closed")))
                                     .group_by(Account.unit_id)).all())
    can_edit = actor().has_role("admin", "supervisor")
    return render_template("registry/units.html", units=visible, counts=counts,
                           can_edit=can_edit)


def _unit_form_data() -> dict:
    data = {
        "name": forms.text(request.form, "name"),
        "code": forms.text(request.form, "code"),
        "parent_id": forms.integer(request.form, "parent_id"),
        "leader": forms.text(request.form, "leader"),
        "deputy_leader": forms.text(request.form, "deputy_leader"),
        "office": forms.text(request.form, "office"),
        "contacts": [{k: (v or None) if k == "title" else v for k, v in row.items()}
                     for row in forms.rows(request.form, "contacts", CONTACT_FIELDS,
                                           ("name", "phone", "title"))],
    }
    return data


def _unit_values(unit: Unit | None) -> dict:
    if unit is None:
        return {"contacts": []}
    return {"name": unit.name, "code": unit.code, "parent_id": unit.parent_id,
            "leader": unit.leader, "deputy_leader": unit.deputy_leader, "office": unit.office,
            "contacts": list(unit.contacts or [])}


def _unit_form(unit: Unit | None):
    user = actor()
    require_roles(user, "supervisor")
    values, errors, refusal = _unit_values(unit), {}, None
    if request.method == "POST":
        values = _unit_form_data()
        saved, errors, refusal = _submit(UnitIn, values,
                                         lambda data: services.save_unit(user, data, unit))
        if not errors:
            flash(_("Unit saved."), "success")
            return redirect(url_for("registry.unit", unit_id=saved.id))
    parents = [u for u in _all_units() if unit is None or u.id != unit.id]
    status = refusal.status if refusal else (400 if errors else 200)
    return render_template("registry/unit_form.html", unit=unit, values=values, errors=errors,
                           refusal=refusal, parents=parents), status


@bp.route("/units/new", methods=["GET", "POST"])
@login_required
def unit_new():
    return _unit_form(None)


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@login_required
def unit_edit(unit_id):
    return _unit_form(services.get_unit(actor(), unit_id))


def _unit_page(unit: Unit, *, exception_values=None, errors=None, refusal=None, status=200):
    user = actor()
    people = db.session.scalars(select(User).where(User.unit_id == unit.id)
                                .order_by(User.username)).all()
    exceptions = db.session.scalars(select(PlatformException)
                                    .where(PlatformException.unit_id == unit.id)
                                    .order_by(PlatformException.platform)).all()
    children = db.session.scalars(select(Unit).where(Unit.parent_id == unit.id)
                                  .order_by(Unit.name)).all()
    return render_template(
        "registry/unit.html", unit=unit, people=people, exceptions=exceptions,
        children=children, can_edit=user.has_role("admin", "supervisor"),
        can_register=user.has_role("admin") or (user.has_role("sponsor")
                                                 and user.unit_id == unit.id),
        exception_values=exception_values or {}, errors=errors or {},
        refusal=refusal), status


@bp.get("/units/<int:unit_id>")
@login_required
def unit(unit_id):
    return _unit_page(services.get_unit(actor(), unit_id))


@bp.post("/units/<int:unit_id>/platform-exceptions")
@login_required
def unit_exception(unit_id):
    user = actor()
    unit = services.get_unit(user, unit_id)
    require_roles(user, "supervisor")
    values = {"platform": forms.text(request.form, "platform"),
              "reason": forms.text(request.form, "reason")}
    row, errors, refusal = _submit(PlatformExceptionIn, values, lambda data: (
        services.add_platform_exception(user, unit, data.platform, data.reason)))
    if not errors:
        flash(_("Exception recorded: this unit may hold more than one account on %(platform)s.",
                platform=label("platform", row.platform)), "success")
        return redirect(url_for("registry.unit", unit_id=unit.id) + "#exceptions")
    return _unit_page(unit, exception_values=values, errors=errors, refusal=refusal,
                      status=refusal.status if refusal else 400)


# --- accounts -------------------------------------------------------------------------------

@bp.get("/accounts")
@login_required
def accounts():
    user = actor()
    unit_id, platform = _arg_int("unit_id"), _arg_choice("platform", PLATFORMS)
    status = _arg_choice("status", STATUSES)
    query = services.accounts_query(user, unit_id=unit_id, platform=platform, status=status)
    query = query.options(joinedload(Account.unit)).order_by(Account.unit_id, Account.platform,
                                                             Account.id)
    page = _page_number()
    rows, total, pages = _paged(query, page)
    return render_template("registry/accounts.html", accounts=rows, total=total, page=page,
                           pages=pages, units=_visible_units(),
                           filters={"unit_id": unit_id, "platform": platform,
                                    "status": status},
                           can_register=user.has_role("admin", "sponsor"))


def _account_form_data(user: User) -> dict:
    unit_id = forms.integer(request.form, "unit_id") if user.sees_all_units else user.unit_id
    return {
        "unit_id": unit_id,
        "platform": forms.text(request.form, "platform"),
        "name": forms.text(request.form, "name"),
        "handle": forms.text(request.form, "handle"),
        "opened_on": forms.text(request.form, "opened_on"),
        "verified_subject": forms.text(request.form, "verified_subject"),
        "verification_expires_on": forms.text(request.form, "verification_expires_on"),
        "office": forms.text(request.form, "office"),
        "staff": forms.rows(request.form, "staff", STAFF_FIELDS, ("name", "phone")),
        "filed_on": forms.text(request.form, "filed_on"),
        "filing_reference": forms.text(request.form, "filing_reference"),
    }


def _warning_text(warning: dict) -> str:
    """Services word warnings in Chinese with the details; English pages explain them first."""
    if _locale_is_en():
        return f"{label('warning', warning['code'])} ({warning['message']})"
    return warning["message"]


@bp.route("/accounts/new", methods=["GET", "POST"])
@login_required
def account_new():
    user = actor()
    require_roles(user, "sponsor")
    if not user.sees_all_units and user.unit_id is None:
        raise Forbidden(_("Your user is not attached to a unit."))
    values = {"platform": "wechat", "opened_on": today_shanghai().isoformat(), "staff": [],
              "unit_id": _arg_int("unit_id") if user.sees_all_units else user.unit_id}
    errors, refusal, conflict_link = {}, None, None
    if request.method == "POST":
        values = _account_form_data(user)
        data, errors = forms.validate(AccountIn, values)
        if data is not None:
            try:
                account, warnings = services.register_account(user, data)
            except DomainError as err:
                refusal = _refusal(err)
                errors = forms.domain_field_errors(err)
                conflicting = err.extra.get("conflicting_account_id")
                if _sees_account(conflicting):
                    conflict_link = url_for("registry.account", account_id=conflicting)
            else:
                db.session.commit()
                [filing] = account.filings
                if filing.filed_on is None:
                    flash(_("Account registered. Its opening must be filed by %(due)s.",
                            due=filing.due_on.isoformat()), "success")
                else:
                    flash(_("Account registered with its earlier filing."), "success")
                for warning in warnings:
                    flash(_warning_text(warning), "warning")
                return redirect(url_for("registry.account", account_id=account.id))
    units = _all_units() if user.sees_all_units else [user.unit]
    status = refusal.status if refusal else (400 if errors else 200)
    return render_template("registry/account_form.html", values=values, errors=errors,
                           refusal=refusal, conflict_link=conflict_link, units=units,
                           choose_unit=user.sees_all_units), status


def _account_page(account: Account, *, event_values=None, event_errors=None, event_refusal=None,
                  filing_id=None, filing_values=None, filing_errors=None, filing_refusal=None,
                  status=200):
    user = actor()
    today = today_shanghai()
    can_act = user.has_role("admin") or (user.has_role("sponsor")
                                         and user.unit_id == account.unit_id)
    allowed_kinds = [kind for kind, (statuses, _target) in services.TRANSITIONS.items()
                     if account.status in statuses]
    notices = db.session.scalars(select(Notice).where(Notice.account_id == account.id)
                                 .order_by(Notice.id.desc())).all()
    # Transfers record unit ids; show the units' names.
    unit_ids = {uid for event in account.events
                for uid in ((event.changes or {}).get("unit_id") or []) if uid is not None}
    unit_names = dict(db.session.execute(select(Unit.id, Unit.name)
                                         .where(Unit.id.in_(unit_ids))).all()) if unit_ids else {}
    transfer_units = [u for u in _all_units() if u.id != account.unit_id] if can_act else []
    return render_template(
        "registry/account.html", account=account, today=today,
        state=services.dormancy(account, today), notices=notices, can_act=can_act,
        allowed_kinds=allowed_kinds, transfer_units=transfer_units, unit_names=unit_names,
        event_values=event_values or {"event_date": today.isoformat()},
        event_errors=event_errors or {}, event_refusal=event_refusal,
        filing_id=filing_id, filing_values=filing_values or {},
        filing_errors=filing_errors or {}, filing_refusal=filing_refusal), status


@bp.get("/accounts/<int:account_id>")
@login_required
def account(account_id):
    return _account_page(services.get_account(actor(), account_id))


@bp.post("/accounts/<int:account_id>/events")
@login_required
def account_event(account_id):
    user = actor()
    account = services.get_account(user, account_id)
    require_roles(user, "sponsor")
    kind = forms.text(request.form, "kind")
    values = {"kind": kind, "event_date": forms.text(request.form, "event_date"),
              "reason": forms.text(request.form, "reason") or "",
              "new_name": forms.text(request.form, "new_name"),
              "new_handle": forms.text(request.form, "new_handle"),
              "new_unit_id": forms.integer(request.form, "new_unit_id"),
              "reason_category": forms.text(request.form, "reason_category"),
              "successor": forms.text(request.form, "successor"),
              "contact": forms.text(request.form, "contact")}
    data = {"kind": kind, "event_date": values["event_date"], "reason": values["reason"]}
    if kind in ("deregister", "close"):
        # The decision's details go into the public notice (rule 6).
        data.update({k: values[k] for k in ("reason_category", "successor", "contact")
                     if values[k] is not None})
    if kind == "change":
        changes = {"name": values["new_name"], "handle": values["new_handle"],
                   "unit_id": values["new_unit_id"]}
        data["changes"] = {k: v for k, v in changes.items() if v is not None}
    parsed, errors = forms.validate(EventIn, data)
    refusal = None
    if parsed is not None:
        try:
            event, filing, notice = services.record_event(user, account, parsed)
        except DomainError as err:
            refusal = _refusal(err)
            errors = forms.domain_field_errors(err)
        else:
            db.session.commit()
            flash(_("%(event)s recorded. It must be filed by %(due)s.",
                    event=label("event", event.kind), due=filing.due_on.isoformat()), "success")
            if notice is not None:
                flash(_("A public notice runs from %(start)s to %(end)s.",
                        start=notice.starts_on.isoformat(), end=notice.ends_on.isoformat()),
                      "success")
            if not _sees_account(account.id):  # transferred to a unit this user cannot see
                return redirect(url_for("registry.accounts"))
            return redirect(url_for("registry.account", account_id=account.id))
    # Field names of the form: changes.name -> new_name, and so on.
    renamed = {("new_" + k.split(".", 1)[1]) if k.startswith("changes.") else k: v
               for k, v in errors.items()}
    return _account_page(account, event_values=values, event_errors=renamed,
                         event_refusal=refusal, status=refusal.status if refusal else 400)


@bp.post("/filings/<int:filing_id>/complete")
@login_required
def filing_complete(filing_id):
    user = actor()
    filing = services.get_filing(user, filing_id)
    require_roles(user, "sponsor")
    values = {"filed_on": forms.text(request.form, "filed_on"),
              "reference": forms.text(request.form, "reference")}
    _done, errors, refusal = _submit(FilingComplete, values, lambda data: (
        services.complete_filing(user, filing, data.filed_on, data.reference)))
    if not errors:
        status = filing.status_on(max(today_shanghai(), filing.filed_on))
        flash(_("Filing recorded: %(status)s.", status=label("filing", status)), "success")
        return redirect(url_for("registry.account", account_id=filing.account_id) + "#filings")
    return _account_page(filing.account, filing_id=filing.id, filing_values=values,
                         filing_errors=errors, filing_refusal=refusal,
                         status=refusal.status if refusal else 400)


# --- filings --------------------------------------------------------------------------------

def _filings_filters():
    user = actor()
    as_of, as_of_error = _arg_date("as_of")
    as_of = as_of or today_shanghai()
    status = _arg_choice("status", FILING_STATUSES)
    unit_id = _arg_int("unit_id")
    query = services.filings_query(user, status=status, unit_id=unit_id, as_of=as_of)
    query = query.options(joinedload(Filing.account).joinedload(Account.unit)).order_by(
        Filing.due_on, Filing.id)
    return query, {"status": status, "unit_id": unit_id, "as_of": as_of,
                   "as_of_error": as_of_error}


@bp.get("/filings")
@login_required
def filings():
    query, filters = _filings_filters()
    page = _page_number()
    rows, total, pages = _paged(query, page)
    return render_template("registry/filings.html", filings=rows, total=total, page=page,
                           pages=pages, filters=filters, units=_visible_units())


CSV_HEADERS = ["备案编号", "账号", "平台", "账号ID", "主办单位", "事项", "事项日期", "备案截止日期",
               "状态", "截止日期为暂定", "备案日期", "备案文号"]
CSV_STATUS = {"pending": "待备案", "overdue": "逾期未备案", "filed": "按时备案", "late": "逾期备案"}
CSV_EVENT = {"open": "开设", "change": "变更", "close": "关停", "reopen": "恢复开通",
             "deregister": "注销"}


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    # Excel runs a cell that starts with = + - @ as a formula: keep names inert.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.get("/filings/export.csv")
@login_required
def filings_csv():
    query, filters = _filings_filters()
    as_of = filters["as_of"]

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # the BOM makes Excel read UTF-8
        writer.writerow(CSV_HEADERS)
        for filing in db.session.scalars(query.execution_options(yield_per=500)):
            account = filing.account
            writer.writerow([_csv_cell(v) for v in (
                filing.id, account.name, PLATFORM_NAMES.get(account.platform, account.platform),
                account.handle, account.unit.name, CSV_EVENT.get(filing.event, filing.event),
                filing.event_date.isoformat(), filing.due_on.isoformat(),
                CSV_STATUS[filing.status_on(as_of)], "是" if filing.provisional else "否",
                filing.filed_on.isoformat() if filing.filed_on else "", filing.reference)])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    filename = f"filings-{as_of.isoformat()}.csv"
    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Content-Type": "text/csv; charset=utf-8"})


# --- audit ----------------------------------------------------------------------------------

def _diff(before, after) -> list[tuple[str, object, object]]:
    if not isinstance(before, dict) and not isinstance(after, dict):
        return []
    before, after = before or {}, after or {}
    keys = list(before) + [k for k in after if k not in before]
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


@bp.get("/audit")
@login_required
def audit_trail():
    require_roles(actor(), "supervisor")
    object_type = (request.args.get("object_type") or "").strip() or None
    object_id = _arg_int("object_id")
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == object_id)
    page = _page_number()
    rows, total, pages = _paged(query, page)
    types = db.session.scalars(select(AuditEntry.object_type).distinct()
                               .order_by(AuditEntry.object_type)).all()
    verified = audit.verify() if request.args.get("verify") == "1" else None
    return render_template("registry/audit.html", entries=rows, total=total, page=page,
                           pages=pages, types=types, diff=_diff, verified=verified,
                           filters={"object_type": object_type, "object_id": object_id})


# --- users ----------------------------------------------------------------------------------

def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users", methods=["GET", "POST"])
@login_required
def users():
    admin = actor()
    require_roles(admin)
    values, errors, refusal = {"roles": []}, {}, None
    if request.method == "POST":
        values = {"username": forms.text(request.form, "username"),
                  "password": request.form.get("password") or None,
                  "roles": request.form.getlist("roles"),
                  "unit_id": forms.integer(request.form, "unit_id"),
                  "display_name": forms.text(request.form, "display_name")}
        user, errors, refusal = _submit(UserIn, values,
                                        lambda data: services.create_user(admin, data))
        if not errors:
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("registry.users"))
        values["password"] = None  # never echo a password back
    rows = db.session.scalars(select(User).options(selectinload(User.unit))
                              .order_by(User.username)).all()
    return render_template("registry/users.html", users=rows, units=_all_units(),
                           values=values, errors=errors, refusal=refusal), (
        refusal.status if refusal else (400 if errors else 200))


def _user_page(user: User, *, form=None, values=None, errors=None, refusal=None, status=200):
    return render_template("registry/user.html", user=user, units=_all_units(), form=form,
                           form_values=values or {}, errors=errors or {},
                           refusal=refusal), status


@bp.get("/users/<int:user_id>")
@login_required
def user_detail(user_id):
    require_roles(actor())
    return _user_page(_user_or_404(user_id))


def _patch_user(user: User, form_name: str, data: dict, done: str):
    admin = actor()
    require_roles(admin)
    _done, errors, refusal = _submit(UserPatch, data,
                                     lambda patch: services.update_user(admin, user, patch))
    if not errors:
        flash(done, "success")
        return redirect(url_for("registry.user_detail", user_id=user.id))
    values = {k: v for k, v in data.items() if k != "password"}
    return _user_page(user, form=form_name, values=values, errors=errors, refusal=refusal,
                      status=refusal.status if refusal else 400)


@bp.post("/users/<int:user_id>")
@login_required
def user_update(user_id):
    require_roles(actor())
    user = _user_or_404(user_id)
    return _patch_user(user, "roles", {"roles": request.form.getlist("roles"),
                                       "unit_id": forms.integer(request.form, "unit_id"),
                                       "display_name": forms.text(request.form, "display_name")},
                       _("Roles and unit saved."))


@bp.post("/users/<int:user_id>/active")
@login_required
def user_active(user_id):
    require_roles(actor())
    user = _user_or_404(user_id)
    active = request.form.get("active") == "1"
    return _patch_user(user, "active", {"active": active},
                       _("User enabled.") if active else
                       _("User disabled; their sessions and tokens ended."))


@bp.post("/users/<int:user_id>/password")
@login_required
def user_password(user_id):
    require_roles(actor())
    user = _user_or_404(user_id)
    return _patch_user(user, "password", {"password": request.form.get("password") or None},
                       _("Password reset; the user's sessions and tokens ended."))


# --- holidays -------------------------------------------------------------------------------

def _schedule_text(overrides) -> str:
    return "\n".join(f"{o.day.isoformat()},{'workday' if o.workday else 'holiday'},{o.name}"
                     .rstrip(",") for o in overrides)


def _decode_upload(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # files saved on Chinese Windows are often GBK
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("undecodable")


@bp.route("/holidays", methods=["GET", "POST"])
@login_required
def holidays():
    user = actor()
    today = today_shanghai()
    year_arg = (request.form.get("year") if request.method == "POST"
                else request.args.get("year")) or ""
    valid_year = 1950 <= (ascii_int(year_arg) or 0) <= 2200
    year = int(year_arg) if valid_year else today.year
    error, text, confirm = None, None, False
    if request.method == "POST":
        require_roles(user)  # admin only: enter_schedule itself does not check
        if not valid_year:
            abort(400)
        confirm = request.form.get("confirm") == "1"
        text = request.form.get("schedule") or ""
        upload = request.files.get("schedule_file")
        if upload is not None and upload.filename:
            try:
                text = _decode_upload(upload.read())
            except ValueError:
                error = _("The file is not UTF-8 or GB18030 text.")
        if error is None:
            try:
                entries = parse_schedule(text)
            except ScheduleError as exc:
                error = exc.message
            else:
                if not entries and confirm:
                    error = _("Enter the year's schedule before confirming it as complete.")
                else:
                    try:
                        result = enter_schedule(user, year, entries, confirm=confirm)
                    except DomainError as err:
                        error = _refusal(err).message
                    else:
                        db.session.commit()
                        flash(_("Schedule for %(year)s saved (%(days)s days). "
                                "Deadlines recomputed: %(changed)s.", year=year,
                                days=result["entries"], changed=result["deadlines_changed"]),
                              "success")
                        return redirect(url_for("registry.holidays", year=year))
    overrides = db.session.scalars(select(HolidayOverride).where(
        HolidayOverride.day >= date(year, 1, 1), HolidayOverride.day <= date(year, 12, 31))
        .order_by(HolidayOverride.day)).all()
    confirmed = db.session.get(HolidayYear, year)
    years = sorted(set(db.session.scalars(select(HolidayYear.year)).all())
                   | {d.year for d in db.session.scalars(select(HolidayOverride.day))}
                   | {today.year, today.year + 1})
    q = services.filings_query(user, as_of=today).where(Filing.provisional.is_(True),
                                                        Filing.filed_on.is_(None))
    provisional_count = db.session.scalar(select(func.count()).select_from(q.subquery()))
    knows = library_knows(year)
    return render_template(
        "registry/holidays.html", year=year, years=years, knows=knows,
        statutory=statutory_holidays(year) if not knows else {}, overrides=overrides,
        confirmed=confirmed, provisional_year=not knows and confirmed is None,
        can_edit=user.has_role("admin"), error=error,
        schedule=text if text is not None else _schedule_text(overrides),
        confirm=confirm if request.method == "POST" else confirmed is not None,
        provisional_count=provisional_count), (400 if error else 200)
