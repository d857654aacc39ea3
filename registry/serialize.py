"""JSON shapes of registry objects, as API.md names their fields."""
from datetime import date

from govmedia.models import User

from . import wechat
from .models import Account, Filing, Unit
from .posts import dormancy


def iso(value):
    return value.isoformat() if value is not None else None


def unit_json(unit: Unit) -> dict:
    return {"id": unit.id, "name": unit.name, "code": unit.code, "parent_id": unit.parent_id,
            "leader": unit.leader, "deputy_leader": unit.deputy_leader, "office": unit.office,
            "contacts": unit.contacts or [], "created_at": iso(unit.created_at)}


def user_json(user: User) -> dict:
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "roles": list(user.roles or []), "unit_id": user.unit_id, "active": user.active,
            "created_at": iso(user.created_at)}


def filing_json(filing: Filing, as_of: date) -> dict:
    return {"id": filing.id, "account_id": filing.account_id, "unit_id": filing.unit_id,
            "event": filing.event, "event_date": iso(filing.event_date),
            "due_on": iso(filing.due_on), "status": filing.status_on(as_of),
            "filed_on": iso(filing.filed_on), "reference": filing.reference,
            "provisional": filing.provisional}


def account_json(account: Account, as_of: date, *, with_filings: bool = True,
                 warnings: list | None = None) -> dict:
    state = dormancy(account, as_of)
    data = {"id": account.id, "unit_id": account.unit_id, "unit_name": account.unit.name,
            "platform": account.platform, "name": account.name, "handle": account.handle,
            "status": account.status, "opened_on": iso(account.opened_on),
            "reopened_on": iso(account.reopened_on),
            "verified_subject": account.verified_subject,
            "verification_expires_on": iso(account.verification_expires_on),
            "office": account.office, "staff": account.staff or [], "flags": account.flags,
            "last_post_at": iso(account.last_post_at), "dormant": state["dormant"],
            "last_update_on": iso(state["last_update_on"]),
            "days_since_update": state["days_since_update"], "band": state["band"],
            "created_at": iso(account.created_at)}
    if account.platform == "app":   # issue 16: optional fields, on mobile clients only
        data["app_filing_number"] = account.app_filing_number
        data["app_version"] = account.app_version
    if account.platform == "wechat":   # issue 15: 发布 or 群发, 订阅号 or 服务号
        data.update(wechat.snapshot(account))
    if with_filings:
        data["filings"] = [filing_json(f, as_of) for f in account.filings]
    if warnings is not None:
        data["warnings"] = warnings
    return data


def event_json(event) -> dict:
    return {"id": event.id, "account_id": event.account_id, "kind": event.kind,
            "event_date": iso(event.event_date), "reason": event.reason,
            "changes": event.changes, "created_at": iso(event.created_at)}
