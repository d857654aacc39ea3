"""Writing a checked inventory: units, accounts, opening events and filings, audit entries."""
import time
from types import SimpleNamespace

from sqlalchemy import text

from govmedia import audit
from govmedia.bulk import copy_rows
from govmedia.extensions import db
from govmedia.types import utcnow

from ..changes import accounts_created
from ..filings import filing_values
from ..models import Account, AccountEvent, Filing, Unit
from ..services import account_snapshot, unit_snapshot
from .plan import Plan


def _insert_with_ids(model, values: list[dict]) -> list[int]:
    """Insert the rows in order and return their ids in the same order."""
    if not values:
        return []
    # Take the ids from the table's sequence first, then insert without RETURNING: a sorted
    # RETURNING over thousands of rows costs psycopg seconds of query rewriting.
    ids = list(db.session.scalars(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
             "FROM generate_series(1, :n)"), {"table": model.__table__.name, "n": len(values)}))
    for row_values, new_id in zip(values, ids):
        row_values["id"] = new_id
    copy_rows(model.__table__, values)
    return ids


def write_plan(actor, plan: Plan, filename: str) -> tuple[int, int, float]:
    """(accounts created, units created, seconds spent on the audit entries)."""
    now = utcnow()
    unit_rows = [{"name": u["name"], "code": u["code"], "parent_id": u["parent_id"],
                  "contacts": [], "created_at": now} for u in plan.new_units]
    new_unit_ids = _insert_with_ids(Unit, unit_rows)

    def unit_id(key):
        return key[1] if key[0] == "db" else new_unit_ids[key[1]]

    accounts = []
    for row, key in plan.rows:
        accounts.append({
            "unit_id": unit_id(key), "platform": row.platform, "name": row.name,
            "handle": row.handle, "status": "active", "opened_on": row.opened_on,
            "reopened_on": None, "verified_subject": row.verified_subject,
            "verification_expires_on": row.verification_expires_on, "office": row.office,
            "staff": row.staff, "last_post_at": None, "created_at": now, "updated_at": now})
    account_ids = _insert_with_ids(Account, accounts)
    accounts_created(account_ids)  # the outbox that supervision's figures follow
    actor_id = getattr(actor, "id", None)
    event_ids = _insert_with_ids(AccountEvent, [
        {"account_id": account_id, "kind": "open", "event_date": values["opened_on"],
         "reason": "", "changes": None, "created_by_id": actor_id, "created_at": now}
        for account_id, values in zip(account_ids, accounts)])
    filings = filing_values([
        {"account_id": account_id, "event_id": event_id, "unit_id": values["unit_id"],
         "event": "open", "event_date": row.opened_on, "filed_on": row.filed_on,
         "reference": row.filing_reference, "completed_by_id": actor_id if row.filed_on else None}
        for (row, _key), account_id, event_id, values in zip(plan.rows, account_ids, event_ids,
                                                             accounts)])
    copy_rows(Filing.__table__, filings)
    items = []
    for unit_row, new_id in zip(unit_rows, new_unit_ids):
        snapshot = unit_snapshot(SimpleNamespace(leader=None, deputy_leader=None, office=None,
                                                 **unit_row))
        items.append(("unit.create", "unit", new_id, None,
                      snapshot | {"import": {"filename": filename}}, new_id))
    for (row, _key), account_id, values in zip(plan.rows, account_ids, accounts):
        after = account_snapshot(SimpleNamespace(**values)) | {
            "filed_on": row.filed_on, "filing_reference": row.filing_reference,
            "import": {"filename": filename, "row": row.number}}
        items.append(("account.open", "account", account_id, None, after, values["unit_id"]))
    audit_started = time.perf_counter()
    audit.record_many(items, user=actor)
    return len(account_ids), len(new_unit_ids), time.perf_counter() - audit_started


def lock_registry() -> None:
    # Between this import's checks and its commit no other transaction may add or change an
    # account (register_account locks one unit and one handle; an import touches thousands,
    # more than PostgreSQL's lock table holds as advisory locks).
    db.session.execute(text("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE"))


