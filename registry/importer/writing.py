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


def _new_ids(model, count: int) -> list[int]:
    """`count` new ids from the table's sequence, in order. Taken first, then the rows are
    copied with them: a sorted INSERT … RETURNING over thousands of rows costs seconds."""
    if not count:
        return []
    return list(db.session.scalars(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
        {"table": model.__table__.name, "n": count}))


def write_plan(actor, plan: Plan, filename: str) -> tuple[int, int, float]:
    """(accounts created, units created, seconds spent on the audit entries)."""
    now = utcnow()
    unit_rows = [{"name": u["name"], "code": u["code"], "parent_id": u["parent_id"],
                  "contacts": [], "created_at": now} for u in plan.new_units]
    new_unit_ids = _new_ids(Unit, len(unit_rows))
    for unit_row, new_id in zip(unit_rows, new_unit_ids):
        unit_row["id"] = new_id
    copy_rows(Unit.__table__, unit_rows)

    def unit_id(key):
        return key[1] if key[0] == "db" else new_unit_ids[key[1]]

    account_ids = _new_ids(Account, len(plan.rows))
    accounts = [{
        "id": account_id, "unit_id": unit_id(key), "platform": row.platform, "name": row.name,
        "handle": row.handle, "status": "active", "opened_on": row.opened_on,
        "reopened_on": None, "verified_subject": row.verified_subject,
        "verification_expires_on": row.verification_expires_on, "office": row.office,
        "staff": row.staff, "last_post_at": None, "created_at": now, "updated_at": now}
        for (row, key), account_id in zip(plan.rows, account_ids)]
    copy_rows(Account.__table__, accounts)
    accounts_created(account_ids)  # the outbox that supervision's figures follow
    actor_id = getattr(actor, "id", None)
    event_ids = _new_ids(AccountEvent, len(accounts))
    copy_rows(AccountEvent.__table__, (
        {"id": event_id, "account_id": values["id"], "kind": "open",
         "event_date": values["opened_on"], "reason": "", "changes": None,
         "created_by_id": actor_id, "created_at": now}
        for event_id, values in zip(event_ids, accounts)))
    copy_rows(Filing.__table__, filing_values(
        {"account_id": values["id"], "event_id": event_id, "unit_id": values["unit_id"],
         "event": "open", "event_date": row.opened_on, "filed_on": row.filed_on,
         "reference": row.filing_reference, "completed_by_id": actor_id if row.filed_on else None}
        for (row, _key), event_id, values in zip(plan.rows, event_ids, accounts)))
    audit_started = time.perf_counter()
    audit.record_many(_audit_items(plan, unit_rows, accounts, filename), user=actor)
    return len(account_ids), len(new_unit_ids), time.perf_counter() - audit_started


def _audit_items(plan: Plan, unit_rows: list, accounts: list, filename: str):
    """One entry per unit and account created, made as they are written (not all at once)."""
    for unit_row in unit_rows:
        snapshot = unit_snapshot(SimpleNamespace(leader=None, deputy_leader=None, office=None,
                                                 **unit_row))
        yield ("unit.create", "unit", unit_row["id"], None,
               snapshot | {"import": {"filename": filename}}, unit_row["id"])
    for (row, _key), values in zip(plan.rows, accounts):
        after = account_snapshot(SimpleNamespace(**values)) | {
            "filed_on": row.filed_on, "filing_reference": row.filing_reference,
            "import": {"filename": filename, "row": row.number}}
        yield ("account.open", "account", values["id"], None, after, values["unit_id"])


def lock_registry() -> None:
    # Between this import's checks and its commit no other transaction may add or change an
    # account (register_account locks one unit and one handle; an import touches thousands,
    # more than PostgreSQL's lock table holds as advisory locks).
    db.session.execute(text("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE"))


