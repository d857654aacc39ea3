"""The searchable account picker: a few accounts matching what was typed, instead of a
drop-down of every account (a county has hundreds)."""
from sqlalchemy.orm import selectinload

from govmedia.extensions import db
from govmedia.listing import Sort, sorted_by

from . import services
from .labels import label
from .models import Account

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
