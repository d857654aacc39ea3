"""The rule profile page (issue 16): the numbers in force at a node with the legal basis of
each, the node's versions, and (admins) a new version. Same blueprint as views.py."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from govmedia import profiles
from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.rules import FIELD_LABELS, PROFILE_FIELDS, WINDOW_UNITS
from govmedia.types import today_shanghai

from . import annual, lookups
from .export import as_percent
from .views import UNIT_CHOICES_MAX, actor, bp


def shown(field: str, value) -> str:
    """A profile's number as a reader reads it."""
    if field == "window_unit":
        return _("Working days") if value == "workdays" else _("Calendar days")
    if field == "spot_check_share":
        return as_percent(value)
    return str(value)



@bp.route("/supervision/rule-profiles", methods=["GET", "POST"])
@login_required
def rule_profiles():
    user = actor()
    source = request.form if request.method == "POST" else request.args
    unit_id = annual.node_of(source.get("unit_id"), user)
    annual.require_reader(user, unit_id)
    error, fields, submitted = None, {}, {}
    if request.method == "POST":
        submitted = request.form.to_dict()
        try:
            if submitted.get("action") == "inherit":
                profiles.inherit_again(user, unit_id, valid_from=submitted.get("valid_from"))
            else:
                profiles.set_profile(
                    user, unit_id, {f: submitted.get(f, "") for f in PROFILE_FIELDS},
                    {f: submitted.get(f"basis_{f}", "") for f in PROFILE_FIELDS},
                    valid_from=submitted.get("valid_from"), note=submitted.get("note", ""))
            db.session.commit()
            flash(_("The rule profile was saved."), "success")
            return redirect(url_for("supervision.rule_profiles", unit_id=unit_id or ""))
        except DomainError as err:
            if err.status in (403, 404):
                raise
            db.session.rollback()
            error, fields = err.message, err.fields or {}
    held = profiles.described(unit_id)
    names = lookups.unit_names([n for n in (unit_id, held["set_at"]) if n])
    return render_template(
        "supervision/rule_profiles.html", held=held, unit_id=unit_id, error=error,
        fields=fields, submitted=submitted, labels=FIELD_LABELS, field_names=PROFILE_FIELDS,
        window_units=WINDOW_UNITS, history=profiles.history(unit_id), names=names,
        today=today_shanghai(), can_change=user.has_role("admin"),
        unit_choices=lookups.unit_choices(user, UNIT_CHOICES_MAX),
        all_units=user.sees_all_units, shown=shown)
