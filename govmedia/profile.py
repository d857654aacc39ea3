"""Each user's own account: the profile page and /api/v1/me (password, roles and unit, sessions).

Thin: the rules are govmedia.users.change_own_password / end_other_sessions. The page keeps
the caller's own session alive by logging it in again under the new session version.
"""
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from .api import documented, parse_body
from .auth import api_user, current_api_token
from .errors import DomainError
from .extensions import csrf, db
from .notify import KINDS, muted_kinds, set_muted_kinds
from .schemas import NotificationSettings, PasswordChange
from .users import change_own_password, end_other_sessions

bp = Blueprint("profile", __name__)
api = Blueprint("profile_api", __name__, url_prefix="/api/v1")
csrf.exempt(api)  # bearer tokens, not cookies


def me_json(user) -> dict:
    unit = user.unit
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "roles": list(user.roles or []),
            "unit": {"id": unit.id, "name": unit.name} if unit is not None else None,
            "notifications_off": sorted(muted_kinds(user))}


def _page(errors=None, refusal=None, status=200):
    user = current_user._get_current_object()
    return render_template("profile.html", user=user, errors=errors or {},
                           refusal=refusal, kinds=KINDS, muted=muted_kinds(user)), status


@bp.get("/profile")
@login_required
def profile():
    return _page()


@bp.post("/profile/password")
@login_required
def password():
    user = current_user._get_current_object()
    try:
        changed = change_own_password(user, request.form.get("current_password", ""),
                                      request.form.get("new_password", ""))
        if changed:
            end_other_sessions(user)
    except DomainError as err:
        db.session.rollback()
        return _page({name: err.message for name in (err.fields or {})}, err, err.status)
    db.session.commit()
    if changed:
        login_user(user)   # this session goes on under the new version; the others end
    flash(_("Your password was changed; your other sessions were ended.") if changed
          else _("The new password is the current one: nothing changed."), "success")
    return redirect(url_for("profile.profile"))


@bp.post("/profile/sessions")
@login_required
def sessions():
    user = current_user._get_current_object()
    end_other_sessions(user)
    db.session.commit()
    login_user(user)
    flash(_("Your other sessions and API tokens were ended."), "success")
    return redirect(url_for("profile.profile"))


@bp.post("/profile/notifications")
@login_required
def notifications():
    user = current_user._get_current_object()
    # The form lists every kind with a box ticked while it is on.
    set_muted_kinds(user, [k for k in KINDS if k not in request.form.getlist("on")])
    db.session.commit()
    flash(_("Your notification settings were saved."), "success")
    return redirect(url_for("profile.profile") + "#notifications")


@api.get("/me")
@documented("The caller: username, roles and unit", tag="auth",
            responses={200: "{id, username, display_name, roles, unit: {id, name}}"})
def me():
    return jsonify(me_json(api_user()))


@api.post("/me/password")
@documented("Change one's own password (the current one required; the policy applies); the "
            "caller's other tokens and web sessions end", body=PasswordChange, tag="auth",
            responses={204: "changed", 400: "invalid (current_password or new_password)"})
def me_password():
    user = api_user()
    data = parse_body(PasswordChange)
    if change_own_password(user, data.current_password, data.new_password):
        end_other_sessions(user, keep_token_id=current_api_token().id)
    db.session.commit()
    return "", 204


@api.post("/me/sessions/end-others")
@documented("End the caller's web sessions and every API token but this one", tag="auth",
            responses={204: "ended"})
def me_end_others():
    user = api_user()
    end_other_sessions(user, keep_token_id=current_api_token().id)
    db.session.commit()
    return "", 204


@api.put("/me/notification-settings")
@documented("Turn kinds of notifications off (`off`: every other kind is on)",
            body=NotificationSettings, tag="auth", responses={200: "the caller, as GET /me"})
def me_notification_settings():
    user = api_user()
    data = parse_body(NotificationSettings)
    set_muted_kinds(user, data.off)
    db.session.commit()
    return jsonify(me_json(user))
