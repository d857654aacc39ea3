"""Passwords, sessions, bearer tokens, login throttling and unit-scoped permission checks."""
import hashlib
import secrets
from datetime import timedelta
from functools import wraps

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import ARRAY, Integer, any_, cast, column, delete, func, select, table, true, update
from werkzeug.security import check_password_hash, generate_password_hash

from .context import scoped_cache
from .errors import DomainError, Forbidden, Invalid, NotFound, Unauthenticated
from .extensions import db, login_manager
from .models import ApiToken, LoginFailure, User
from .types import utcnow

MIN_PASSWORD_LENGTH = 8


def check_password_policy(password: str) -> None:
    """At least 8 characters with both letters and digits; raises Invalid naming the field."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(_("Password: at least %(n)s characters", n=MIN_PASSWORD_LENGTH),
                      fields={"password": f"at least {MIN_PASSWORD_LENGTH} characters"})
    if not (any(c.isalpha() for c in password) and any(c.isdigit() for c in password)):
        raise Invalid(_("The password needs letters and digits"),
                      fields={"password": "must contain letters and digits"})


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_attempts"


def authenticate(username: str, password: str) -> User:
    """Check a login; throttles after repeated failures for that username."""
    window = timedelta(minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"])
    since = utcnow() - window
    failures = db.session.scalar(
        select(func.count()).select_from(LoginFailure)
        .where(LoginFailure.username == username, LoginFailure.at >= since))
    if failures >= current_app.config["LOGIN_MAX_FAILURES"]:
        raise TooManyAttempts(_("Too many failed logins, try later"))
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        db.session.add(LoginFailure(username=username))
        db.session.commit()
        raise Unauthenticated(_("Invalid username or password"),
                              code="invalid_credentials")
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(user: User) -> tuple[str, ApiToken]:
    token = secrets.token_urlsafe(32)
    hours = current_app.config["API_TOKEN_HOURS"]
    row = ApiToken(user_id=user.id, token_hash=_digest(token),
                   expires_at=utcnow() + timedelta(hours=hours))
    db.session.add(row)
    return token, row


def revoke_user_tokens(user: User) -> None:
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id,
                                              ApiToken.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))


def end_all_sessions(user: User) -> None:
    """A disabled user or a reset password ends every session and token at once."""
    user.session_version = (user.session_version or 1) + 1
    revoke_user_tokens(user)


def token_from_request() -> ApiToken | None:
    header = request.headers.get("Authorization", "")
    scheme, _space, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token.strip())))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    if not row.user.active:
        return None
    return row


def api_user() -> User:
    """The user behind this API request's bearer token; 401 otherwise."""
    cache = scoped_cache()
    if "api_token" not in cache:
        cache["api_token"] = token_from_request()
    if cache["api_token"] is None:
        raise Unauthenticated(_("A valid bearer token is required"))
    return cache["api_token"].user


def current_api_token() -> ApiToken:
    api_user()
    return scoped_cache()["api_token"]


def current_actor() -> User | None:
    """Whoever acts in this request: the API token's user, or the logged-in page user."""
    if request.path.startswith("/api/"):
        return api_user()
    return current_user if current_user.is_authenticated else None


@login_manager.user_loader
def load_user(user_id: str):
    ident, _colon, version = user_id.partition(":")
    if not ident.isdigit():
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.active or str(user.session_version) != version:
        return None
    return user


def require_roles(user: User, *roles: str) -> None:
    if not user.has_role("admin", *roles):
        raise Forbidden(_("Your roles do not allow this"))


# The units table belongs to the registry; the core reads only its tree (id, parent_id).
_UNITS = table("units", column("id"), column("parent_id"))


def subtree_query(root_ids):
    """SELECT id of the units `root_ids` and every unit below them: one recursive CTE."""
    tree = select(_UNITS.c.id).where(_UNITS.c.id.in_(root_ids)).cte("subtree", recursive=True)
    below = tree.alias("above")
    tree = tree.union(select(_UNITS.c.id).join(below, _UNITS.c.parent_id == below.c.id))
    return select(tree.c.id)


def subtree_ids(unit_id: int) -> list[int]:
    """The unit and every unit below it (UNION, not UNION ALL: a cycle cannot loop forever)."""
    return list(db.session.scalars(subtree_query([unit_id])))


def unit_parents() -> dict:
    """{unit_id: parent_id} for the whole tree, once per request (a few thousand pairs)."""
    cache = scoped_cache()
    if "unit_parents" not in cache:
        cache["unit_parents"] = dict(db.session.execute(select(_UNITS.c.id, _UNITS.c.parent_id)).all())
    return cache["unit_parents"]


def reaches_all_units(user: User) -> bool:
    """An admin or supervisor held at no unit reaches every unit (API.md, Auth and users)."""
    return bool(user.sees_all_units)


def visible_unit_ids(user: User) -> list[int] | None:
    """The units this user's roles reach: its unit's subtree; None means every unit.
    Computed once per request (or job) for each user and unit."""
    if reaches_all_units(user):
        return None
    if not user.unit_id:
        return []
    return _reach(user)[0]


def _reach(user: User) -> tuple[list[int], frozenset]:
    """The user's subtree as a list (for queries) and a set (for membership), cached."""
    cache = scoped_cache().setdefault("unit_reach", {})
    key = (getattr(user, "id", None), user.unit_id)
    if key not in cache:
        ids = subtree_ids(user.unit_id)
        cache[key] = (ids, frozenset(ids))
    return cache[key]


def forget_unit_reach() -> None:
    """After the tree changed (a unit created or moved) the cached reaches are stale."""
    for key in ("unit_reach", "unit_parents", "rule_profile_maps"):
        scoped_cache().pop(key, None)


def reaches_unit(user: User, unit_id: int | None) -> bool:
    units = visible_unit_ids(user)
    return units is None or (unit_id is not None and bool(units) and unit_id in _reach(user)[1])


def require_unit_access(user: User, unit_id: int | None) -> None:
    """A user acts on the units its roles reach only: its unit's subtree (403 otherwise)."""
    if not reaches_unit(user, unit_id):
        raise Forbidden(_("This belongs to another unit"))


def require_all_units(user: User) -> None:
    """What covers every unit at once (the quarterly report) is for those who reach them all."""
    if not reaches_all_units(user):
        raise Forbidden(_("Only a supervisor of every unit may do this"))


def unit_scope(user: User, unit_id: int | None = None) -> list[int] | None:
    """Units this user may see (None: all); a unit_id narrows it to that one unit, 403 if the
    user does not reach it."""
    units = visible_unit_ids(user)
    if unit_id is not None:
        if units is not None and unit_id not in units:
            raise Forbidden(_("Only your own unit's data can be viewed"))
        return [unit_id]
    return units


def in_units(unit_column, ids):
    """A filter on these units (None: every unit): one array parameter, whatever their number.
    A province's reach is thousands of units, and an IN list of thousands of parameters costs
    more to build and send than the query takes to run."""
    return true() if ids is None else unit_column == any_(cast(list(ids), ARRAY(Integer)))


def scope_query(query, unit_column, user: User, unit_id: int | None = None):
    """Limit a query to the units the user may see, optionally to one of them."""
    units = unit_scope(user, unit_id)
    return query if units is None else query.where(in_units(unit_column, units))


def api_roles(*roles: str):
    """Decorator for API handlers: authenticate by bearer token and check roles."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = api_user()
            if roles:
                require_roles(user, *roles)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def get_in_unit(actor: User, model, ident: int, not_found: str, unit_of=None):
    """The row `ident` of `model` if the actor may reach its unit: 404 with `not_found` when
    there is none, 403 when it belongs to another unit. `unit_of(row)` gives the row's unit
    (default: its `unit_id`)."""
    row = db.session.get(model, ident)
    if row is None:
        raise NotFound(not_found)
    require_unit_access(actor, unit_of(row) if unit_of else row.unit_id)
    return row
