"""Rule profiles per jurisdiction (issue 16): which numbers hold for a unit on a day.

A profile is set at a node of the unit tree (or at the root: the whole registry) and holds for
the node's subtree unless a node below sets its own. Versions are never changed, only added,
so the numbers in force on any past day stay known: every "as of" figure asks for that day's.
The tree itself is read as it is now (a unit moved under another county follows that county's
profile, for past days too).
"""
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from . import audit
from .auth import require_roles, require_unit_access, subtree_ids, unit_parents
from .context import scoped_cache
from .errors import Forbidden, Invalid, NotFound
from .extensions import db
from .models import RuleProfileVersion, User
from .rules import DEFAULT, DEFAULT_BASIS, FIELD_LABELS, PROFILE_FIELDS, RuleProfile, profile_from
from .types import today_shanghai

_BASIS_MAX = 500


@dataclass(frozen=True)
class InForce:
    """The profile that holds for a unit on a day, and the node that set it (None: the
    registry's own, or the seeds' defaults when nobody set one)."""
    profile: RuleProfile
    node_id: int | None
    version: RuleProfileVersion | None


def _versions() -> list[RuleProfileVersion]:
    """Every version, oldest first (there are a handful per jurisdiction), once per request."""
    cache = scoped_cache()
    if "rule_profiles" not in cache:
        cache["rule_profiles"] = list(db.session.scalars(
            select(RuleProfileVersion).order_by(RuleProfileVersion.valid_from,
                                                RuleProfileVersion.id)))
    return cache["rule_profiles"]


def forget_profiles() -> None:
    scoped_cache().pop("rule_profiles", None)
    scoped_cache().pop("rule_profile_maps", None)


def _profile_of(version: RuleProfileVersion) -> RuleProfile:
    profile, _errors = profile_from(version.values or {})
    return profile


def own_versions_on(on: date) -> dict:
    """{node_id (None = root): the version in force there on `on`}, nodes that inherit left out."""
    latest = {}
    for version in _versions():
        if version.valid_from <= on:
            latest[version.unit_id] = version
    return {node: v for node, v in latest.items() if not v.inherit}


def in_force(unit_id: int | None, on: date | None = None) -> InForce:
    """The profile that holds for this unit on this day: its own, else its nearest ancestor's,
    else the registry's, else the seeds' defaults."""
    on = on or today_shanghai()
    own = own_versions_on(on)
    node, seen = unit_id, set()
    if len(own) > (1 if None in own else 0):
        parents = unit_parents()
        while node is not None and node not in seen:
            if node in own:
                return InForce(_profile_of(own[node]), node, own[node])
            seen.add(node)
            node = parents.get(node)
    if None in own:
        return InForce(_profile_of(own[None]), None, own[None])
    return InForce(DEFAULT, None, None)


def profile_for(unit_id: int | None, on: date | None = None) -> RuleProfile:
    return in_force(unit_id, on).profile


def unit_profiles(on: date, units=None) -> tuple[RuleProfile, dict[int, RuleProfile]]:
    """The root's profile on `on`, and {unit_id: profile} for every unit (within `units` when
    given) under a node with a profile of its own that day. Empty when every unit follows the
    root: the set-based figures then need no per-unit numbers."""
    own = own_versions_on(on)
    root = _profile_of(own[None]) if None in own else DEFAULT
    nodes = [n for n in own if n is not None]
    if not nodes:
        return root, {}
    cache = scoped_cache().setdefault("rule_profile_maps", {})
    if on not in cache:
        subtrees = {n: subtree_ids(n) for n in nodes}
        mapping = {}
        # A node below another has the smaller subtree: assign the largest first, so the
        # nearest node's profile is the one left.
        for node in sorted(nodes, key=lambda n: -len(subtrees[n])):
            profile = _profile_of(own[node])
            for unit in subtrees[node]:
                mapping[unit] = profile
        cache[on] = mapping
    mapping = cache[on]
    if units is not None:
        wanted = set(units)
        mapping = {u: p for u, p in mapping.items() if u in wanted}
    return root, mapping


def differs_somewhere(days) -> bool:
    """Whether any unit's update window differs from the seeds' default on any of these days
    (when none does, the precomputed day totals answer the figures)."""
    for day in days:
        root, mapping = unit_profiles(day)
        if not root.same_window(DEFAULT) or any(not p.same_window(DEFAULT)
                                               for p in mapping.values()):
            return True
    return False


def _require_node(actor: User, unit_id: int | None) -> None:
    require_roles(actor, "admin")
    if unit_id is not None and unit_id not in unit_parents():
        raise NotFound(_("Unit not found"))
    if unit_id is None:
        if not actor.sees_all_units:
            raise Forbidden(_("Only an administrator of every unit may change the registry's "
                              "profile"))
    else:
        require_unit_access(actor, unit_id)


def _valid_from(raw) -> date:
    today = today_shanghai()
    if raw in (None, ""):
        return today
    try:
        day = raw if isinstance(raw, date) else date.fromisoformat(str(raw).strip())
    except ValueError:
        raise Invalid(_("Enter the date as YYYY-MM-DD"), fields={"valid_from": "date"})
    if day < today:
        # What was figured and reported under the old numbers stays true.
        raise Invalid(_("A change takes effect today or later, never in the past"),
                      fields={"valid_from": "past"})
    return day


def set_profile(actor: User, unit_id: int | None, values: dict, basis: dict | None = None, *,
                valid_from=None, note: str = "") -> RuleProfileVersion:
    """A new version of the profile at this node (root when unit_id is None), from valid_from
    (default today). Values not given keep those in force at the node that day."""
    _require_node(actor, unit_id)
    start = _valid_from(valid_from)
    current = in_force(unit_id, start)
    profile, errors = profile_from(values, current.profile)
    if errors:
        field = next(iter(errors))
        raise Invalid(_("%(field)s: %(error)s", field=_field_label(field), error=errors[field]),
                      fields={k: str(v) for k, v in errors.items()})
    basis = {k: str(v).strip() for k, v in (basis or {}).items() if k in PROFILE_FIELDS}
    too_long = [k for k, v in basis.items() if len(v) > _BASIS_MAX]
    if too_long:
        raise Invalid(_("A legal basis is at most %(n)s characters", n=_BASIS_MAX),
                      fields={k: "too_long" for k in too_long})
    kept = dict(current.version.basis or {}) if current.version is not None and \
        current.node_id == unit_id else {}
    kept.update({k: v for k, v in basis.items() if v})
    version = RuleProfileVersion(unit_id=unit_id, valid_from=start, inherit=False,
                                 values=profile.as_dict(), basis=kept,
                                 note=(note or "").strip()[:500], created_by_id=actor.id)
    db.session.add(version)
    db.session.flush()
    audit.record("rule_profile.set", "rule_profile", version.id, unit_id=unit_id, user=actor,
                 before={"node": current.node_id, **current.profile.as_dict()},
                 after={"valid_from": start.isoformat(), **profile.as_dict(), "basis": kept})
    forget_profiles()
    return version


def inherit_again(actor: User, unit_id: int | None, *, valid_from=None) -> RuleProfileVersion:
    """End the node's own profile from valid_from: it follows its parent's again."""
    _require_node(actor, unit_id)
    start = _valid_from(valid_from)
    current = in_force(unit_id, start)
    if current.node_id != unit_id or current.version is None:
        raise Invalid(_("This unit has no profile of its own to end"), fields={"unit_id": "inherits"})
    version = RuleProfileVersion(unit_id=unit_id, valid_from=start, inherit=True, values={},
                                 basis={}, created_by_id=actor.id)
    db.session.add(version)
    db.session.flush()
    audit.record("rule_profile.inherit", "rule_profile", version.id, unit_id=unit_id, user=actor,
                 before=current.profile.as_dict(), after={"valid_from": start.isoformat()})
    forget_profiles()
    return version


def history(unit_id: int | None) -> list[RuleProfileVersion]:
    """Every version set at this node, newest first."""
    return list(db.session.scalars(
        select(RuleProfileVersion).where(
            RuleProfileVersion.unit_id.is_(None) if unit_id is None
            else RuleProfileVersion.unit_id == unit_id)
        .order_by(RuleProfileVersion.valid_from.desc(), RuleProfileVersion.id.desc())))


def _field_label(field: str) -> str:
    return str(FIELD_LABELS.get(field, field))


def described(unit_id: int | None, on: date | None = None) -> dict:
    """The numbers in force, where they come from and the legal basis of each, for pages and
    the API."""
    on = on or today_shanghai()
    held = in_force(unit_id, on)
    basis = dict(held.version.basis or {}) if held.version is not None else {}
    values = held.profile.as_dict()
    return {
        "unit_id": unit_id, "as_of": on.isoformat(), "set_at": held.node_id,
        "version_id": held.version.id if held.version is not None else None,
        "valid_from": held.version.valid_from.isoformat() if held.version is not None else None,
        "defaults": held.version is None,
        "values": values,
        "basis": {f: basis.get(f) or (str(DEFAULT_BASIS[f])
                                      if values[f] == DEFAULT.as_dict()[f] else "")
                  for f in PROFILE_FIELDS},
    }
