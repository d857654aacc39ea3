"""Administration pages: the audit trail (supervisors) and users (admins)."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from govmedia import audit, users
from govmedia.auth import require_roles, visible_unit_ids
from govmedia.pagination import paginate
from govmedia.schemas import UserIn, UserPatch

from .. import audit_words, forms, picker
from .common import actor, arg_int, bp, form_status, submit


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
    object_id = arg_int("object_id")
    page = paginate(audit.entries_query(object_type, object_id, visible_unit_ids(actor())))
    verified = audit.verify() if request.args.get("verify") == "1" else None
    return render_template("registry/audit.html", entries=page.items, **page.nav,
                           types=audit.object_types(), diff=_diff, verified=verified,
                           words=audit_words, names=audit_words.names_on(page.items),
                           filters={"object_type": object_type, "object_id": object_id})


@bp.route("/users", methods=["GET", "POST"], endpoint="users")
@login_required
def users_page():
    admin = actor()
    require_roles(admin)
    values, errors, refusal = {"roles": []}, {}, None
    if request.method == "POST":
        values = {"username": forms.text(request.form, "username"),
                  "password": request.form.get("password") or None,
                  "roles": request.form.getlist("roles"),
                  "unit_id": forms.integer(request.form, "unit_id"),
                  "display_name": forms.text(request.form, "display_name")}
        user, errors, refusal = submit(UserIn, values,
                                       lambda data: users.create_user(admin, data))
        if not errors:
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("registry.users"))
        values["password"] = None  # never echo a password back
    return render_template("registry/users.html", users=users.all_users(actor()),
                           units=_unit_choices(values.get("unit_id")), values=values,
                           errors=errors,
                           refusal=refusal), form_status(errors, refusal)


def _unit_choices(chosen: int | None) -> list:
    """The user form's unit picker: the units matching what was typed, and the one chosen."""
    return picker.unit_matches(actor(), request.args.get("unit_id_q") or "", include_id=chosen)


def _user_page(user, *, form=None, values=None, errors=None, refusal=None, status=200):
    chosen = (values or {}).get("unit_id", user.unit_id)
    return render_template("registry/user.html", user=user, units=_unit_choices(chosen),
                           form=form, form_values=values or {}, errors=errors or {},
                           refusal=refusal), status


@bp.get("/users/<int:user_id>")
@login_required
def user_detail(user_id):
    require_roles(actor())
    return _user_page(users.get_user(user_id, actor()))


def _patch_user(user, form_name: str, data: dict, done: str):
    admin = actor()
    _done, errors, refusal = submit(UserPatch, data,
                                    lambda patch: users.update_user(admin, user, patch))
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
    user = users.get_user(user_id, actor())
    return _patch_user(user, "roles", {"roles": request.form.getlist("roles"),
                                       "unit_id": forms.integer(request.form, "unit_id"),
                                       "display_name": forms.text(request.form, "display_name")},
                       _("Roles and unit saved."))


@bp.post("/users/<int:user_id>/active")
@login_required
def user_active(user_id):
    require_roles(actor())
    user = users.get_user(user_id, actor())
    active = request.form.get("active") == "1"
    return _patch_user(user, "active", {"active": active},
                       _("User enabled.") if active else
                       _("User disabled; their sessions and tokens ended."))


@bp.post("/users/<int:user_id>/password")
@login_required
def user_password(user_id):
    require_roles(actor())
    user = users.get_user(user_id, actor())
    return _patch_user(user, "password", {"password": request.form.get("password") or None},
                       _("Password reset; the user's sessions and tokens ended."))
