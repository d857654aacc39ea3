"""The searchable pickers: a few accounts or units matching what was typed, instead of a
drop-down of every account (a county has hundreds) or unit (a province: thousands)."""
from sqlalchemy.orm import selectinload

from sqlalchemy import select

from govmedia.extensions import db
from govmedia.listing import Sort, search, sorted_by

from . import services
from .labels import label
from .models import Account, Unit

PICKER_LIMIT = 20


def account_matches(actor, q: str = "", limit: int = PICKER_LIMIT,
                    include_id: int | None = None) -> list[Account]:
    """Accounts in the actor's reach that are not deregistered and whose name or handle holds
    q, in natural order; `include_id` (the one already chosen) is kept in the list."""
    query = services.accounts_query(actor, q=q).where(Account.status != "deregistered")
    query = sorted_by(query.options(selectinload(Account.unit)), Sort("name", False),
                      services.ACCOUNT_SORTS, Account.id)
    found = list(db.session.scalars(query.limit(limit)))
    if include_id and all(a.id != include_id for a in found):
        chosen = db.session.scalars(services.accounts_query(actor).where(
            Account.id == include_id).options(selectinload(Account.unit))).first()
        if chosen is not None:
            found.insert(0, chosen)
    return found


def account_choice(account: Account) -> dict:
    """One option as the picker shows it (the JSON the page's script reads)."""
    return {"id": account.id, "name": account.name, "platform": account.platform,
            "text": f"{account.name} · {label('platform', account.platform)} · "
                    f"{account.unit.name if account.unit else ''}"}


def unit_matches(actor, q: str = "", limit: int = PICKER_LIMIT, include_id: int | None = None,
                 *, everywhere: bool = False) -> list[Unit]:
    """Units whose name holds q, in natural order: those in the actor's reach, or every unit
    (`everywhere`: an account's transfer may go to any unit); `include_id` (the one already
    chosen) is kept in the list."""
    base = select(Unit) if everywhere else services.units_query(actor)
    query = sorted_by(search(base, q, Unit.name), Sort("name", False), services.UNIT_SORTS,
                      Unit.id)
    found = list(db.session.scalars(query.limit(limit)))
    if include_id and all(u.id != include_id for u in found):
        chosen = db.session.scalars(base.where(Unit.id == include_id)).first()
        if chosen is not None:
            found.insert(0, chosen)
    return found


def unit_choice(unit: Unit) -> dict:
    return {"id": unit.id, "name": unit.name, "text": unit.name}
