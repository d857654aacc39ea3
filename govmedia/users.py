"""People: creating and changing users (admins), and each user's own password and sessions."""
from flask_babel import gettext as _
from sqlalchemy import column, select, table, update
from werkzeug.security import check_password_hash
from sqlalchemy.orm import selectinload

from . import audit
from .auth import (check_password_policy, end_all_sessions, hash_password, require_all_units,
                   require_roles, require_unit_access, visible_unit_ids)
from .errors import Invalid, NotFound, RuleConflict
from .extensions import db
from .models import ApiToken, User
from .types import utcnow

# Roles that act for one unit: a user holding any of them belongs to a unit.
NEEDS_UNIT = {"sponsor", "editor", "reviewer", "signer", "source"}
# The registry owns the units table; users.unit_id only has to name a row of it.
_UNITS = table("units", column("id"))


def user_snapshot(user: User) -> dict:
    return {"username": user.username, "roles": list(user.roles or []), "unit_id": user.unit_id,
            "active": user.active, "display_name": user.display_name}


def system_admin() -> User | None:
    """Commands act as the first active admin (None at bootstrap)."""
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
    return next((u for u in users if u.has_role("admin")), None)


def require_user_reach(actor: User, unit_id: int | None) -> None:
    """An admin held at a unit manages the users of its subtree only; a user held at no unit
    (who may reach every unit) is for an admin who reaches every unit (issue 16)."""
    if unit_id is None:
        require_all_units(actor)
    else:
        require_unit_access(actor, unit_id)


def get_user(user_id: int, actor: User | None = None) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("User not found"))
    if actor is not None:
        require_user_reach(actor, user.unit_id)
    return user


def _in_reach(query, actor: User | None):
    units = visible_unit_ids(actor) if actor is not None else None
    return query if units is None else query.where(User.unit_id.in_(units))


def users_query(unit_id: int | None = None, actor: User | None = None):
    query = _in_reach(select(User), actor)
    if unit_id is not None:
        query = query.where(User.unit_id == unit_id)
    return query


def all_users(actor: User | None = None) -> list[User]:
    """Every user in the actor's reach with their unit loaded (the admin's list)."""
    return db.session.scalars(_in_reach(select(User), actor).options(selectinload(User.unit))
                              .order_by(User.username)).all()


def _check_roles_unit(roles: list[str], unit_id: int | None) -> None:
    if unit_id is not None and db.session.scalar(
            select(_UNITS.c.id).where(_UNITS.c.id == unit_id)) is None:
        raise Invalid(_("Unit not found"), fields={"unit_id": "not found"})
    if unit_id is None and NEEDS_UNIT.intersection(roles):
        raise Invalid(_("These roles are scoped to a unit"),
                      fields={"unit_id": "required for roles " + ", ".join(
                          sorted(NEEDS_UNIT.intersection(roles)))})


def create_user(actor: User, data) -> User:
    require_roles(actor)  # admin only
    require_user_reach(actor, data.unit_id)
    if db.session.scalar(select(User).where(User.username == data.username)):
        raise RuleConflict(_("Username taken"), code="username_taken",
                           fields={"username": "already taken"})
    check_password_policy(data.password)
    roles = sorted(set(data.roles))
    _check_roles_unit(roles, data.unit_id)
    user = User(username=data.username, password_hash=hash_password(data.password), roles=roles,
                unit_id=data.unit_id, display_name=data.display_name, active=True,
                session_version=1)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", user.id, after=user_snapshot(user), unit_id=user.unit_id,
                 user=actor)
    return user


def update_user(actor: User, user: User, data) -> User:
    require_roles(actor)
    before = user_snapshot(user)
    fields = data.model_fields_set
    roles = sorted(set(data.roles)) if data.roles is not None else list(user.roles or [])
    unit_id = data.unit_id if "unit_id" in fields else user.unit_id
    require_user_reach(actor, user.unit_id)
    require_user_reach(actor, unit_id)
    _check_roles_unit(roles, unit_id)
    if user.id == actor.id and (("active" in fields and data.active is False)
                                or "admin" not in roles):
        raise Invalid(_("You cannot lock yourself out"),
                      fields={"active" if "active" in fields else "roles": "would lock you out"})
    user.roles = roles
    user.unit_id = unit_id
    if "display_name" in fields:
        user.display_name = data.display_name
    ends_sessions = False
    if data.password is not None:
        check_password_policy(data.password)
        user.password_hash = hash_password(data.password)
        ends_sessions = True
    if "active" in fields and data.active is not None:
        if user.active and not data.active:
            ends_sessions = True
        user.active = data.active
    # A changed role takes effect on the next request anyway (permissions are read per
    # request); tokens of a moved user are ended so nothing acts for the old unit.
    if before["unit_id"] != unit_id:
        ends_sessions = True
    if ends_sessions:
        end_all_sessions(user)
    db.session.flush()
    after = user_snapshot(user)
    if data.password is not None:
        after["password"] = "reset"
    audit.record("user.update", "user", user.id, before=before, after=after,
                 unit_id=user.unit_id, user=actor)
    return user


# --- one's own account (the profile page and /api/v1/me) ---------------------------------------

def change_own_password(user: User, current: str, new: str) -> bool:
    """A user's own change: the current password first, then the policy. A new password ends
    the user's other sessions and tokens (the caller keeps its own); True when it changed."""
    if not check_password_hash(user.password_hash, current or ""):
        raise Invalid(_("The current password is not correct"),
                      fields={"current_password": "not correct"})
    try:
        check_password_policy(new)
    except Invalid as err:
        raise Invalid(err.message, fields={"new_password": err.fields["password"]}) from None
    if new == current:
        return False   # nothing changes, nothing to end
    user.password_hash = hash_password(new)
    audit.record("user.password", "user", user.id, after={"password": "changed"},
                 unit_id=user.unit_id, user=user)
    return True


def end_other_sessions(user: User, keep_token_id: int | None = None) -> int:
    """Every web session of the user (a new session version) and every API token but
    `keep_token_id` end at once; the caller's own web session is renewed by the view."""
    user.session_version = (user.session_version or 1) + 1
    query = update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if keep_token_id is not None:
        query = query.where(ApiToken.id != keep_token_id)
    ended = db.session.execute(query.values(revoked_at=utcnow())).rowcount
    audit.record("user.sessions_ended", "user", user.id, after={"tokens_revoked": ended},
                 unit_id=user.unit_id, user=user)
    return ended
