"""The supervisors' check lists and severities (rule 9), and the rules as the checks run them."""
import uuid

from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from govmedia import audit
from govmedia.auth import require_all_units, require_roles
from govmedia.errors import Invalid
from govmedia.extensions import db
from govmedia.models import User
from govmedia.types import utcnow

from . import checks
from .models import TERM_LISTS, CheckConfig, CheckTerm

MAX_TERM_LENGTH = 100


def check_config() -> CheckConfig | None:
    return db.session.get(CheckConfig, 1)


def load_terms() -> dict[str, list[str]]:
    """The supervisors' lists; the built-in defaults until a supervisor first edits them."""
    if check_config() is None:
        return {"banned": [], "caution": [], "advertising": list(checks.DEFAULT_ADVERTISING),
                "domain": list(checks.DEFAULT_DOMAINS)}
    terms: dict[str, list[str]] = {name: [] for name in TERM_LISTS}
    for name, term in db.session.execute(select(CheckTerm.list, CheckTerm.term)):
        terms.setdefault(name, []).append(term)
    return terms


def current_rules() -> tuple[str, checks.Matcher, dict]:
    """(version, compiled matcher, severities): one small query when the matcher is cached."""
    config = check_config()
    version = config.version if config else "defaults"
    severities = dict(checks.DEFAULT_SEVERITIES)
    if config is not None:
        severities.update(config.severities or {})
    return version, checks.compiled_matcher(version, load_terms), severities


def ensure_config(actor: User) -> CheckConfig:
    """The settings row, created with the default lists on a supervisor's first change."""
    require_roles(actor, "supervisor")
    require_all_units(actor)   # the lists apply to every unit's articles
    config = db.session.get(CheckConfig, 1, with_for_update=True)
    if config is None:
        config = CheckConfig(id=1, version=uuid.uuid4().hex, severities={},
                             updated_by_id=actor.id)
        db.session.add(config)
        db.session.flush()
        rows = [{"list": "advertising", "term": t, "created_by_id": actor.id}
                for t in checks.DEFAULT_ADVERTISING]
        rows += [{"list": "domain", "term": t, "created_by_id": actor.id}
                 for t in checks.DEFAULT_DOMAINS]
        db.session.execute(CheckTerm.__table__.insert(), rows)
    return config


def _clean_term(list_name: str, term: str) -> str:
    term = term.strip()
    if list_name == "domain":
        term = term.lower().removeprefix("http://").removeprefix("https://").split("/")[0]
        term = term.lstrip(".").rstrip(".")
    return term


def update_terms(actor: User, list_name: str, add=(), remove=()) -> dict:
    """Add and remove words (or domains) on one list; returns the counts changed."""
    if list_name not in TERM_LISTS:
        raise Invalid(_("Unknown list"), fields={"list": "one of " + ", ".join(TERM_LISTS)})
    config = ensure_config(actor)
    wanted = {_clean_term(list_name, t) for t in add} - {""}
    too_long = sorted(t for t in wanted if len(t) > MAX_TERM_LENGTH)
    if too_long:
        raise Invalid(_("A term may have at most %(n)s characters", n=MAX_TERM_LENGTH),
                      fields={"add": "too long: " + too_long[0][:20]})
    existing = set(db.session.scalars(select(CheckTerm.term).where(CheckTerm.list == list_name)))
    new = sorted(wanted - existing)
    if new:
        db.session.execute(CheckTerm.__table__.insert(), [
            {"list": list_name, "term": t, "created_by_id": actor.id, "created_at": utcnow()}
            for t in new])
    gone = sorted(({_clean_term(list_name, t) for t in remove} & existing) - set(new))
    for start in range(0, len(gone), 500):
        db.session.execute(delete(CheckTerm).where(CheckTerm.list == list_name,
                                                   CheckTerm.term.in_(gone[start:start + 500])))
    if new or gone:
        config.version = uuid.uuid4().hex
        config.updated_by_id = actor.id
        db.session.flush()
        audit.record("checks.terms", "check_list", None, user=actor,
                     after={"list": list_name, "added": len(new), "removed": len(gone),
                            "sample_added": new[:20], "sample_removed": gone[:20]})
    return {"added": len(new), "removed": len(gone)}


def set_severities(actor: User, severities: dict[str, str]) -> dict:
    config = ensure_config(actor)
    unknown = sorted(set(severities) - set(checks.RULES))
    if unknown:
        raise Invalid(_("Unknown check rule"),
                      fields={"severities": "unknown: " + ", ".join(unknown)})
    bad = sorted(r for r, s in severities.items() if s not in checks.SEVERITIES)
    if bad:
        raise Invalid(_("A severity is block or warn"),
                      fields={"severities": "block or warn: " + ", ".join(bad)})
    fixed = sorted(r for r in checks.FIXED_BLOCK if severities.get(r, "block") != "block")
    if fixed:
        raise Invalid(_("A platform's own limit always blocks"),
                      fields={"severities": "always block: " + ", ".join(fixed)})
    before = dict(config.severities or {})
    merged = dict(before)
    merged.update(severities)
    merged = {r: s for r, s in merged.items() if s != checks.DEFAULT_SEVERITIES[r]}
    if merged != before:
        config.severities = merged
        config.version = uuid.uuid4().hex
        config.updated_by_id = actor.id
        db.session.flush()
        audit.record("checks.severities", "check_list", None, before=before, after=merged,
                     user=actor)
    return effective_severities()


def effective_severities() -> dict[str, str]:
    return current_rules()[2]


def term_counts() -> dict[str, int]:
    if check_config() is None:
        return {name: len(terms) for name, terms in load_terms().items()}
    counts = dict(db.session.execute(select(CheckTerm.list, func.count())
                                     .group_by(CheckTerm.list)).all())
    return {name: counts.get(name, 0) for name in TERM_LISTS}


def list_terms(name: str, q: str = "") -> list[str]:
    """One list's terms, sorted, those containing `q` (any case) when given."""
    terms = load_terms().get(name, [])
    if q:
        terms = [t for t in terms if q.lower() in t.lower()]
    return sorted(terms)
