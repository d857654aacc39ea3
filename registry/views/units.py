"""Registry pages: units, their page, creating and editing one, platform exceptions."""
from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from govmedia.auth import reaches_unit, require_roles
from govmedia.listing import requested_sort
from govmedia.pagination import paginate

from .. import forms, picker, services
from ..labels import label
from ..models import Unit
from ..schemas import PlatformExceptionIn, UnitIn
from .common import actor, bp, form_status, submit

CONTACT_FIELDS = ("name", "phone", "title")


@bp.get("/units")
@login_required
def units():
    q = (request.args.get("q") or "").strip()
    sort = requested_sort(services.UNIT_SORTS, "name")
    page = paginate(services.units_list_query(actor(), q, sort))
    return render_template("registry/units.html", units=page.items, **page.nav, q=q, sort=sort,
                           counts=services.counted_accounts_by_unit(u.id for u in page.items),
                           can_edit=actor().has_role("admin", "supervisor"))


def _unit_form_data() -> dict:
    return {
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
        saved, errors, refusal = submit(UnitIn, values,
                                        lambda data: services.save_unit(user, data, unit))
        if not errors:
            flash(_("Unit saved."), "success")
            return redirect(url_for("registry.unit", unit_id=saved.id))
    parents = [u for u in picker.unit_matches(user, request.args.get("parent_id_q") or "",
                                              include_id=values.get("parent_id"))
               if unit is None or u.id != unit.id]
    # The top unit of a supervisor's reach keeps a parent it may not see or choose.
    keep_parent = (unit.parent_id if unit is not None and unit.parent_id is not None
                   and not reaches_unit(user, unit.parent_id) else None)
    return render_template("registry/unit_form.html", unit=unit, values=values, errors=errors,
                           refusal=refusal, parents=parents, keep_parent=keep_parent), \
        form_status(errors, refusal)


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
    return render_template(
        "registry/unit.html", unit=unit, **services.unit_relations(unit),
        can_edit=user.has_role("admin", "supervisor"),
        parent_in_reach=reaches_unit(user, unit.parent_id),
        can_register=user.has_role("admin", "sponsor") and reaches_unit(user, unit.id),
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
    row, errors, refusal = submit(PlatformExceptionIn, values, lambda data: (
        services.add_platform_exception(user, unit, data.platform, data.reason)))
    if not errors:
        flash(_("Exception recorded: this unit may hold more than one account on %(platform)s.",
                platform=label("platform", row.platform)), "success")
        return redirect(url_for("registry.unit", unit_id=unit.id) + "#exceptions")
    return _unit_page(unit, exception_values=values, errors=errors, refusal=refusal,
                      status=refusal.status if refusal else 400)


@bp.get("/units/picker.json")
@login_required
def unit_picker():
    """What the searchable unit picker lists for ?q=: units in the caller's reach, or with
    reach=all every unit (an account's transfer target, for those who may transfer one)."""
    user = actor()
    everywhere = request.args.get("reach") == "all" and user.has_role("admin", "sponsor")
    matches = picker.unit_matches(user, request.args.get("q") or "", everywhere=everywhere)
    return jsonify({"items": [picker.unit_choice(u) for u in matches],
                    "limit": picker.PICKER_LIMIT})
