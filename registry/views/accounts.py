"""Registry pages: the home page, the accounts list, registering an account, an account's page."""
from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.orm import selectinload

from govmedia.auth import reaches_unit, require_roles, visible_unit_ids
from govmedia.errors import DomainError, Forbidden
from govmedia.extensions import db
from govmedia.listing import requested_sort, sorted_by
from govmedia.models import User
from govmedia.profiles import profile_for
from govmedia.pagination import paginate
from govmedia.types import today_shanghai

from .. import apps, filings, forms, picker, posts, services, wechat
from ..models import PLATFORMS, STATUSES, Account
from ..schemas import AccountIn, AppDetailsIn, WechatOptionsIn
from .common import actor, arg_choice, arg_int, bp, form_status, refusal_of, sees_account

STAFF_FIELDS = ("name", "phone", "platform_role")
UNIT_SELECT_MAX = 300   # more units than this: the filter asks for part of the unit's name


@bp.get("/")
@login_required
def home():
    user = actor()
    today = today_shanghai()
    by_status = services.accounts_by_status(user)
    counts = {status: filings.count(filings.filings_query(user, status=status, as_of=today))
              for status in ("pending", "overdue")}
    return render_template("home.html", by_status=by_status, filings=counts,
                           provisional=filings.provisional_unfiled(user, today), today=today,
                           total_accounts=sum(by_status.values()),
                           profile=profile_for(user.unit_id, today))


@bp.get("/accounts")
@login_required
def accounts():
    user = actor()
    unit_id, platform = arg_int("unit_id"), arg_choice("platform", PLATFORMS)
    status = arg_choice("status", STATUSES)
    q = (request.args.get("q") or "").strip()
    unit_q = (request.args.get("unit_q") or "").strip()
    sort = requested_sort(services.ACCOUNT_SORTS, "unit")
    query = services.accounts_query(user, unit_id=unit_id, platform=platform, status=status, q=q,
                                    unit_q=unit_q)
    page = paginate(sorted_by(query.options(selectinload(Account.unit)), sort,
                              services.ACCOUNT_SORTS, Account.id))
    return render_template("registry/accounts.html", accounts=page.items, **page.nav,
                           units=services.unit_filter_choices(user, UNIT_SELECT_MAX), sort=sort,
                           filters={"unit_id": unit_id, "platform": platform, "status": status,
                                    "q": q, "unit_q": unit_q},
                           can_register=user.has_role("admin", "sponsor"))


def _chooses_unit(user: User) -> bool:
    """Whoever reaches more than its own unit picks the account's unit on the form."""
    units = visible_unit_ids(user)
    return units is None or len(units) > 1
@bp.get("/accounts/picker.json")
@login_required
def account_picker():
    """What the searchable account picker lists for ?q= (the page works without it)."""
    matches = picker.account_matches(actor(), request.args.get("q") or "")
    return jsonify({"items": [picker.account_choice(a) for a in matches],
                    "limit": picker.PICKER_LIMIT})


def _account_form_data(user: User) -> dict:
    unit_id = forms.integer(request.form, "unit_id") if _chooses_unit(user) else user.unit_id
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
        "app_filing_number": forms.text(request.form, "app_filing_number"),
        "app_version": forms.text(request.form, "app_version"),
        "wechat_mode": forms.text(request.form, "wechat_mode"),
        "wechat_type": forms.text(request.form, "wechat_type"),
    }


def _registered(account, warnings):
    [filing] = account.filings
    if filing.filed_on is None:
        flash(_("Account registered. Its opening must be filed by %(due)s.",
                due=filing.due_on.isoformat()), "success")
    else:
        flash(_("Account registered with its earlier filing."), "success")
    for warning in warnings:
        flash(warning["message"], "warning")
    return redirect(url_for("registry.account", account_id=account.id))


@bp.route("/accounts/new", methods=["GET", "POST"])
@login_required
def account_new():
    user = actor()
    require_roles(user, "sponsor")
    if not user.sees_all_units and user.unit_id is None:
        raise Forbidden(_("Your user is not attached to a unit."))
    choose_unit = _chooses_unit(user)
    values = {"platform": "wechat", "opened_on": today_shanghai().isoformat(), "staff": [],
              "unit_id": arg_int("unit_id") if choose_unit else user.unit_id}
    errors, refusal, conflict_link = {}, None, None
    if request.method == "POST":
        values = _account_form_data(user)
        data, errors = forms.validate(AccountIn, values)
        if data is not None:
            try:
                account, warnings = services.register_account(user, data)
            except DomainError as err:
                refusal = refusal_of(err)
                errors = forms.domain_field_errors(err)
                conflicting = err.extra.get("conflicting_account_id")
                if sees_account(conflicting):
                    conflict_link = url_for("registry.account", account_id=conflicting)
            else:
                db.session.commit()
                return _registered(account, warnings)
    units = (picker.unit_matches(user, request.args.get("unit_id_q") or "",
                                 include_id=values.get("unit_id"))
             if choose_unit else [user.unit])
    return render_template("registry/account_form.html", values=values, errors=errors,
                           refusal=refusal, conflict_link=conflict_link, units=units,
                           choose_unit=choose_unit), form_status(errors, refusal)


def account_page(account: Account, *, event_values=None, event_errors=None, event_refusal=None,
                 filing_id=None, filing_values=None, filing_errors=None, filing_refusal=None,
                 app_values=None, app_errors=None, wechat_values=None, wechat_errors=None,
                 status=200):
    """An account's page; the event and filing forms show what was typed and what was wrong."""
    user = actor()
    today = today_shanghai()
    can_act = user.has_role("admin", "sponsor") and reaches_unit(user, account.unit_id)
    allowed_kinds = [kind for kind, (statuses, _target) in services.TRANSITIONS.items()
                     if account.status in statuses]
    # Transfers record unit ids; show the units' names.
    unit_names = services.unit_names(uid for event in account.events
                                     for uid in ((event.changes or {}).get("unit_id") or [])
                                     if uid is not None)
    transfer_units = ([u for u in picker.unit_matches(
        user, request.args.get("new_unit_id_q") or "",
        include_id=(event_values or {}).get("new_unit_id"), everywhere=True)
        if u.id != account.unit_id] if can_act else [])
    return render_template(
        "registry/account.html", account=account, today=today,
        profile=profile_for(account.unit_id, today),
        state=posts.dormancy(account, today), can_act=can_act,
        allowed_kinds=allowed_kinds,
        recordable={f.id for f in account.filings if filings.may_record(user, f)}, transfer_units=transfer_units, unit_names=unit_names,
        event_values=event_values or {"event_date": today.isoformat()},
        event_errors=event_errors or {}, event_refusal=event_refusal,
        filing_id=filing_id, filing_values=filing_values or {},
        filing_errors=filing_errors or {}, filing_refusal=filing_refusal,
        app_values=app_values or {"app_filing_number": account.app_filing_number,
                                  "app_version": account.app_version},
        app_errors=app_errors or {},
        wechat_values=wechat_values or wechat.snapshot(account),
        wechat_errors=wechat_errors or {}), status


@bp.get("/accounts/<int:account_id>")
@login_required
def account(account_id):
    return account_page(services.get_account(actor(), account_id))


def _account_section(account_id: int, fields: tuple, schema, update, prefix: str):
    """One section of the account page posted on its own: validate, call the service, and
    either go back to the page or show the section with the fields named."""
    user = actor()
    account = services.get_account(user, account_id)
    values = {name: forms.text(request.form, name) for name in fields}
    data, errors = forms.validate(schema, values)
    if data is not None:
        try:
            update(user, account, data)
        except DomainError as err:
            if err.status in (403, 404):
                raise
            db.session.rollback()
            errors = forms.domain_field_errors(err)
        else:
            db.session.commit()
            flash(_("Saved"), "success")
            return redirect(url_for("registry.account", account_id=account.id))
    return account_page(account, status=400,
                        **{f"{prefix}_values": values, f"{prefix}_errors": errors})


@bp.post("/accounts/<int:account_id>/app")
@login_required
def account_app(account_id):
    """A mobile client's filing number (网信备案号) and version (issue 16)."""
    return _account_section(account_id, ("app_filing_number", "app_version"), AppDetailsIn,
                            apps.update_details, "app")


@bp.post("/accounts/<int:account_id>/wechat")
@login_required
def account_wechat(account_id):
    """A WeChat account's publishing mode (发布 or 群发) and type (订阅号 or 服务号), issue 15."""
    return _account_section(account_id, ("wechat_mode", "wechat_type"), WechatOptionsIn,
                            wechat.update_options, "wechat")
