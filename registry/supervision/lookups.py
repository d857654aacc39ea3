"""What the supervision pages show beside their figures: unit names, accounts, choice lists."""
from sqlalchemy import select

from govmedia.auth import visible_unit_ids
from govmedia.extensions import db

from ..models import Account, Unit

CHUNK = 900                   # ids per IN (...) list


def _chunks(ids) -> list[list[int]]:
    ids = sorted(set(ids))
    return [ids[start:start + CHUNK] for start in range(0, len(ids), CHUNK)]


def unit_names(ids) -> dict[int, str]:
    """{unit id: name} for these units."""
    names = {}
    for chunk in _chunks(ids):
        names.update(dict(db.session.execute(select(Unit.id, Unit.name).where(
            Unit.id.in_(chunk))).all()))
    return names


def accounts_by_id(ids) -> dict[int, Account]:
    accounts = {}
    for chunk in _chunks(ids):
        for account in db.session.scalars(select(Account).where(Account.id.in_(chunk))):
            accounts[account.id] = account
    return accounts


def reaches_several_units(actor) -> bool:
    units = visible_unit_ids(actor)
    return units is None or len(units) > 1


# A drop-down of units up to this many; beyond it the unit id is typed (a province: 5,000).
UNIT_CHOICES_MAX = 300


def unit_choices(actor, limit: int | None = None) -> list[tuple[int, str]]:
    """(id, name) of every unit in the actor's reach, by name, for a drop-down: only for those
    who reach more than their own unit, and none when there are more than `limit` (the unit id
    is typed instead)."""
    units = visible_unit_ids(actor)
    if units is not None and len(units) < 2:
        return []
    query = select(Unit.id, Unit.name).order_by(Unit.name)
    if units is not None:
        query = query.where(Unit.id.in_(units))
    if limit is not None:
        query = query.limit(limit + 1)
    rows = [tuple(row) for row in db.session.execute(query).all()]
    return [] if limit is not None and len(rows) > limit else rows
