"""The registry's rules as checks over many registrations at once (rules 2-4).

One rule, one place: a single registration asks about one row, the inventory import about
thousands, and both go through these functions. Each returns what clashes; the caller words
the refusal for its reader (an API error, or a row and column of the uploaded file).
"""
from datetime import date
from typing import Any, Hashable, Iterable, NamedTuple

from flask_babel import gettext as _
from sqlalchemy import ARRAY, Integer, String, any_, cast, func, select
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError

from govmedia.errors import Invalid, RuleConflict
from govmedia.extensions import db

from .models import COUNTED_STATUSES, Account, PlatformException, Unit

class Clash(NamedTuple):
    """Why an entry may not be registered: an account already registered (its id), or an
    earlier entry of the same batch (its key)."""
    account_id: int | None = None
    earlier: Any = None


def any_of(column, values, type_=String):
    """column = ANY(array): one bound parameter however many values (a whole inventory)."""
    return column == any_(cast(list(values), ARRAY(type_)))


def pairs_table(first: list, second: list, names: tuple[str, str], types=(String, String)):
    """Two arrays as a table of pairs (unnest), to join on both columns at once."""
    return func.unnest(cast(first, ARRAY(types[0])), cast(second, ARRAY(types[1]))).table_valued(
        *names).render_derived(name="pairs")


# --- rule 1: the unit's unified social credit code ----------------------------------------------

def validate_credit_code(code: str | None) -> str | None:
    """统一社会信用代码: 18 characters with a GB 32100-2015 check character."""
    if not code:
        return None
    try:
        return uscc.validate(code)
    except StdnumError as exc:
        # python-stdnum words its errors in English only: say the same in the reader's language.
        reason = credit_code_problem(exc)
        raise Invalid(_("Invalid unified social credit code: %(reason)s", reason=reason),
                      fields={"code": reason}) from None


def credit_code_problem(exc: StdnumError) -> str:
    if isinstance(exc, InvalidLength):
        return _("it must have 18 characters")
    if isinstance(exc, InvalidChecksum):
        return _("the check character (the last) does not match the first 17")
    if isinstance(exc, InvalidFormat):
        return _("it may hold only digits and capital letters other than I, O, S, V and Z")
    return _("it is not a valid code")


# --- handles: one registration per platform handle ------------------------------------------------

def handle_clashes(entries: Iterable[tuple[Hashable, str, str]],
                   exclude_id: int | None = None) -> dict:
    """entries: (key, platform, handle). A handle is taken by an account that is not
    deregistered, or by an earlier entry of the batch. Returns key -> Clash."""
    entries = list(entries)
    taken: dict[tuple, int] = {}
    wanted = list({(platform, handle) for _key, platform, handle in entries})
    if wanted:
        # One query for the whole batch, through the (platform, handle) index.
        pairs = pairs_table([p for p, _h in wanted], [h for _p, h in wanted],
                            ("platform", "handle"))
        query = (select(Account.platform, Account.handle, Account.id)
                 .join(pairs, (Account.platform == pairs.c.platform)
                       & (Account.handle == pairs.c.handle))
                 .where(Account.status != "deregistered").order_by(Account.id))
        if exclude_id is not None:
            query = query.where(Account.id != exclude_id)
        for platform, handle, account_id in db.session.execute(query):
            taken.setdefault((platform, handle), account_id)
    clashes, seen = {}, {}
    for key, platform, handle in entries:
        pair = (platform, handle)
        if pair in taken:
            clashes[key] = Clash(account_id=taken[pair])
        elif pair in seen:
            clashes[key] = Clash(earlier=seen[pair])
        else:
            seen[pair] = key
    return clashes


def check_handle_free(platform: str, handle: str, exclude_id: int | None = None) -> None:
    clash = handle_clashes([(None, platform, handle)], exclude_id).get(None)
    if clash is not None:
        raise RuleConflict(_("Handle %(handle)s is already registered (account %(id)s)",
                             handle=handle, id=clash.account_id), code="handle_taken",
                           extra={"conflicting_account_id": clash.account_id})


# --- rule 3: one counted account per unit and platform, unless excepted ---------------------------

def one_per_platform_clashes(entries: Iterable[tuple[Hashable, Hashable, str]],
                             exclude_id: int | None = None) -> dict:
    """entries: (key, unit, platform), `unit` an existing unit's id or, for a unit created in
    the same batch, any other value standing for it. "other" platforms and units a supervisor
    excepted for that platform are free. Returns key -> Clash."""
    entries = [e for e in entries if e[2] != "other"]
    unit_ids = {unit for _key, unit, _platform in entries if isinstance(unit, int)}
    counted, excepted = {}, set()
    if unit_ids:
        query = (select(Account.unit_id, Account.platform, func.min(Account.id))
                 .where(any_of(Account.unit_id, unit_ids, Integer),
                        Account.status.in_(COUNTED_STATUSES))
                 .group_by(Account.unit_id, Account.platform))
        if exclude_id is not None:
            query = query.where(Account.id != exclude_id)
        for unit_id, platform, account_id in db.session.execute(query):
            counted[(unit_id, platform)] = account_id
        excepted.update(db.session.execute(
            select(PlatformException.unit_id, PlatformException.platform)
            .where(any_of(PlatformException.unit_id, unit_ids, Integer))).all())
    clashes, seen = {}, {}
    for key, unit, platform in entries:
        pair = (unit, platform)
        if pair in excepted:
            continue
        if pair in counted:
            clashes[key] = Clash(account_id=counted[pair])
        elif pair in seen:
            clashes[key] = Clash(earlier=seen[pair])
        else:
            seen[pair] = key
    return clashes


def check_one_per_platform(unit_id: int, platform: str, exclude_id: int | None = None) -> None:
    """Rule 3 for one registration: RuleConflict naming the account already there."""
    clash = one_per_platform_clashes([(None, unit_id, platform)], exclude_id).get(None)
    if clash is not None:
        raise RuleConflict(
            _("The unit already has account %(id)s on this platform: a unit opens one account "
              "per platform", id=clash.account_id),
            code="one_account_per_platform", extra={"conflicting_account_id": clash.account_id})


# --- rule 4: an earlier filing of the opening -------------------------------------------------------

def opening_filing_problems(opened_on: date | None, filed_on: date | None,
                            reference: str | None, today: date) -> dict[str, str]:
    """What is wrong with an opening and its earlier filing: field -> "required" (a reference
    needs its date), "before_opened_on" or "in_future" (a date after `today`)."""
    problems = future_dates(today, opened_on=opened_on, filed_on=filed_on)
    if reference and not filed_on:
        problems["filed_on"] = "required"
    elif filed_on and opened_on and filed_on < opened_on:
        problems["filed_on"] = "before_opened_on"
    return problems


def future_dates(today: date, **dates: date | None) -> dict[str, str]:
    """The named dates that lie after `today`: an event or a filing cannot have happened yet."""
    return {name: "in_future" for name, value in dates.items() if value and value > today}


def check_not_future(today: date, **dates: date | None) -> None:
    """Invalid naming the first date after `today` (an event or a filing yet to come)."""
    for name in future_dates(today, **dates):
        raise Invalid(_("The date %(date)s is in the future: it can only be entered once it "
                        "has passed", date=dates[name].isoformat()),
                      fields={name: "in_future (after " + today.isoformat() + ")"})


# --- units: one name per parent ----------------------------------------------------------------

def unit_name_clashes(entries: Iterable[tuple[Hashable, int | None, str]],
                      exclude_id: int | None = None) -> dict:
    """entries: (key, parent_id, name). Two units under one parent (or two at the top) may
    not share a name: taken by a unit already there, or by an earlier entry of the batch.
    Returns key -> Clash (its `account_id` holds the unit's id)."""
    entries = list(entries)
    taken: dict[tuple, int] = {}
    names = {name for _key, _parent, name in entries}
    if names:
        query = select(Unit.parent_id, Unit.name, Unit.id).where(any_of(Unit.name, names))
        if exclude_id is not None:
            query = query.where(Unit.id != exclude_id)
        for parent_id, name, unit_id in db.session.execute(query):
            taken.setdefault((parent_id, name), unit_id)
    clashes, seen = {}, {}
    for key, parent_id, name in entries:
        pair = (parent_id, name)
        if pair in taken:
            clashes[key] = Clash(account_id=taken[pair])
        elif pair in seen:
            clashes[key] = Clash(earlier=seen[pair])
        else:
            seen[pair] = key
    return clashes


def check_unit_name_free(name: str, parent_id: int | None, exclude_id: int | None = None) -> None:
    """400 on the name field: a unit of that name already sits under the same parent."""
    clash = unit_name_clashes([(None, parent_id, name)], exclude_id).get(None)
    if clash is not None:
        raise Invalid(_("A unit named %(name)s already exists under this parent (unit %(id)s)",
                        name=name, id=clash.account_id),
                      fields={"name": "already used by another unit under the same parent"},
                      extra={"conflicting_unit_id": clash.account_id})
