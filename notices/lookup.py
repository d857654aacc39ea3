"""The registry as the public may see it: lookup, `verify`, account pages and open data (rule 15)."""
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select

from govmedia.errors import NotFound
from govmedia.extensions import db
from govmedia.types import today_shanghai
from registry.models import Account, AccountEvent, Unit

from .models import Notice
from .services import notice_json


def public_notices_query():
    return select(Notice).order_by(Notice.starts_on.desc(), Notice.id.desc())


def public_notices_count():
    return select(func.count(Notice.id))


def _like(q: str) -> str:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _public_columns():
    return (Account.id, Account.name, Account.platform, Account.handle, Account.status,
            Account.opened_on, Unit.name.label("unit_name"))


def public_row(row) -> dict:
    return {"id": row.id, "name": row.name, "platform": row.platform, "handle": row.handle,
            "unit_name": row.unit_name, "status": row.status,
            "opened_on": row.opened_on.isoformat()}


def search(q: str | None, platform: str | None):
    """(rows, count) statements of a lookup by a part of the name, the handle or the unit's
    name, filtered by platform: exact matches first, deregistered accounts last."""
    where = []
    if platform:
        where.append(Account.platform == platform)
    q = (q or "").strip()
    if q:
        pattern = _like(q)
        # Units are few: match their names once, then accounts by unit id.
        units = select(Unit.id).where(func.lower(Unit.name).like(pattern, escape="\\"))
        where.append(or_(func.lower(Account.name).like(pattern, escape="\\"),
                         func.lower(Account.handle).like(pattern, escape="\\"),
                         Account.unit_id.in_(units.scalar_subquery())))
    exact = case((or_(Account.name == q, Account.handle == q), 0), else_=1)
    gone = case((Account.status == "deregistered", 1), else_=0)
    rows = (select(*_public_columns()).join(Unit, Unit.id == Account.unit_id).where(*where)
            .order_by(exact, gone, Account.name, Account.id))
    return rows, select(func.count(Account.id)).where(*where)


def search_accounts(q: str | None, platform: str | None, limit: int, offset: int):
    rows, count = search(q, platform)
    total = db.session.scalar(count)
    found = db.session.execute(rows.limit(limit).offset(offset)).all()
    return [public_row(r) for r in found], total


def running_notice(account_id: int, today: date) -> Notice | None:
    return db.session.scalar(select(Notice).where(
        Notice.account_id == account_id, Notice.withdrawn_at.is_(None),
        Notice.starts_on <= today, Notice.ends_on >= today).order_by(Notice.id.desc()).limit(1))


def verify(platform: str, handle: str, today: date | None = None) -> dict:
    """Is this account official? Registered and not deregistered: yes (with its notice while it
    is deregistering); deregistered: no, but it was (`former`); otherwise no."""
    today = today or today_shanghai()
    rows = db.session.execute(
        select(*_public_columns()).join(Unit, Unit.id == Account.unit_id)
        .where(Account.platform == platform, Account.handle == handle)
        .order_by(case((Account.status == "deregistered", 1), else_=0), Account.id.desc())
    ).all()
    if not rows:
        return {"official": False}
    row = rows[0]
    account = public_row(row)
    if row.status == "deregistered":
        deregistered_on = db.session.scalar(select(Notice.completed_at).where(
            Notice.account_id == row.id, Notice.kind == "deregister",
            Notice.completed_at.is_not(None)).order_by(Notice.id.desc()).limit(1))
        account["deregistered_on"] = (deregistered_on.date().isoformat()
                                      if deregistered_on else None)
        return {"official": False, "former": account}
    notice = running_notice(row.id, today)
    if row.status == "deregistering" and notice is None:
        notice = db.session.scalar(select(Notice).where(
            Notice.account_id == row.id, Notice.kind == "deregister",
            Notice.withdrawn_at.is_(None)).order_by(Notice.id.desc()).limit(1))
    if notice is not None:
        account["notice"] = notice_json(notice, today)
    return {"official": True, "account": account}


def _history(account_id: int) -> list[dict]:
    events = db.session.execute(select(AccountEvent.kind, AccountEvent.event_date,
                                       AccountEvent.changes)
                                .where(AccountEvent.account_id == account_id)
                                .order_by(AccountEvent.event_date, AccountEvent.id)).all()
    unit_ids = {uid for e in events for uid in ((e.changes or {}).get("unit_id") or [])
                if uid is not None}
    names = dict(db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids)))
                 .all()) if unit_ids else {}
    history = []
    for e in events:
        entry = {"kind": e.kind, "date": e.event_date.isoformat()}
        changes = {}
        for field, pair in (e.changes or {}).items():
            if field in ("name", "handle"):
                changes[field] = list(pair)
            elif field == "unit_id":
                changes["unit_name"] = [names.get(pair[0]), names.get(pair[1])]
        if changes:
            entry["changes"] = changes
        history.append(entry)
    return history


def public_account(account_id: int, today: date | None = None) -> dict:
    """An account's public page: sponsor, status, the history of its names, its notices."""
    today = today or today_shanghai()
    row = db.session.execute(select(*_public_columns()).join(Unit, Unit.id == Account.unit_id)
                             .where(Account.id == account_id)).first()
    if row is None:
        raise NotFound(_("Not in the registry"))
    data = public_row(row)
    data["history"] = history = _history(account_id)
    data["former_names"] = [h["changes"]["name"][0] for h in history
                            if "name" in h.get("changes", {})]
    notices = db.session.scalars(select(Notice).where(Notice.account_id == account_id)
                                 .order_by(Notice.id.desc())).all()
    data["notices"] = [notice_json(n, today) for n in notices]
    return data


def open_data_rows():
    """The registry as open data (rule 15): no contacts, credentials, staff or internal notes."""
    former = {}
    for account_id, changes in db.session.execute(
            select(AccountEvent.account_id, AccountEvent.changes)
            .where(AccountEvent.kind == "change").order_by(AccountEvent.id)):
        if changes and "name" in changes:
            former.setdefault(account_id, []).append(changes["name"][0])
    rows = db.session.execute(select(*_public_columns()).join(Unit, Unit.id == Account.unit_id)
                              .order_by(Account.id))
    for row in rows:
        item = public_row(row)
        item["former_names"] = former.get(row.id, [])
        yield item
