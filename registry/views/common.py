"""The registry pages' blueprint and plumbing: template helpers, form submission, query args.

Forms are validated with the API's own pydantic models (registry/schemas.py, through
registry/forms.py); services raise DomainError subclasses: Forbidden and NotFound become
the HTML error page, every other refusal is shown on the form with what the user typed.
"""
import json
from datetime import date, datetime

from flask import Blueprint, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from govmedia.auth import visible_unit_ids
from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.models import ROLES, User
from govmedia.types import SHANGHAI, ascii_int, date_in_range

from .. import forms
from ..labels import label
from ..models import FILING_STATUSES, PLATFORMS, STATUSES, Account

bp = Blueprint("registry", __name__)


def actor() -> User:
    return current_user._get_current_object()


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


def refusal_of(err: DomainError) -> DomainError:
    """A refusal to show on the form; Forbidden/NotFound go to the error page instead."""
    if err.status in (401, 403, 404):
        raise err
    db.session.rollback()
    return err


def submit(model, values: dict, call):
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
        return None, forms.domain_field_errors(err) or {"form": err.message}, refusal_of(err)
    db.session.commit()
    return result, {}, None


def form_status(errors, refusal) -> int:
    return refusal.status if refusal else (400 if errors else 200)


def arg_choice(name: str, choices) -> str | None:
    value = request.args.get(name) or None
    return value if value in choices else None


def arg_int(name: str) -> int | None:
    return ascii_int((request.args.get(name) or "").strip())


def arg_date(name: str) -> tuple[date | None, str | None]:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None, None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None, _("Enter a date as YYYY-MM-DD")
    # Far outside the calendar the deadline arithmetic overflows: treat it as a typo.
    return (day, None) if date_in_range(day) else (None, _("Enter a date as YYYY-MM-DD"))


def sees_account(account_id) -> bool:
    if account_id is None:
        return False
    account = db.session.get(Account, account_id)
    units = visible_unit_ids(actor())
    return account is not None and (units is None or account.unit_id in units)
