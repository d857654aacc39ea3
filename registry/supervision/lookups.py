"""What the supervision pages show beside their figures: unit names, accounts, choice lists."""
from sqlalchemy import select

from govmedia.extensions import db

from ..models import Account, Unit
# The units in reach as choices live in the registry (the inbox's pages use them too).
from ..services import UNIT_CHOICES_MAX, reaches_several_units, unit_choices  # noqa: F401

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
