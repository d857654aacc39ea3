"""The account_changes outbox: what supervision's derived figures must follow, written explicitly."""
from sqlalchemy import insert

from govmedia.bulk import COPY_FROM, copy_rows
from govmedia.extensions import db
from govmedia.types import utcnow

from .models import Account, AccountChange

# What the derived figures read of an account: rule 5's band days follow the status and the
# reopening day, the name index the name and the platform.
_FOLLOWED = ("status", "reopened_on", "name", "platform")


def account_changed(account: Account, before: dict | None) -> None:
    """Record in the caller's transaction that `account` was created (`before` None) or changed
    from `before`: its account_snapshot taken before the change, or just the fields that
    changed ({"status": "deregistering"}). Nothing is written when none of the followed fields
    moved. registry.supervision.pending.apply_pending applies it."""
    if before is None:
        if account.id is None:
            db.session.flush()
        accounts_created([account.id])
        return
    was = {f: before.get(f, getattr(account, f)) for f in _FOLLOWED}
    if all(was[f] == getattr(account, f) for f in _FOLLOWED):
        return
    db.session.add(AccountChange(
        account_id=account.id, new_account=False, status_before=was["status"],
        reopened_on_before=was["reopened_on"],
        renamed=(was["name"], was["platform"]) != (account.name, account.platform)))


def accounts_created(account_ids) -> None:
    """Record new accounts (one statement, for the inventory import's bulk path too)."""
    now = utcnow()
    rows = [{"account_id": account_id, "new_account": True, "status_before": None,
             "reopened_on_before": None, "renamed": True, "created_at": now}
            for account_id in sorted(set(account_ids))]
    if len(rows) > COPY_FROM:
        copy_rows(AccountChange.__table__, rows)
    elif rows:
        db.session.execute(insert(AccountChange), rows)
