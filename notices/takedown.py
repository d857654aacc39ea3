"""The take-down checklist of apps and mini programs (rule 6): every store and link, ticked off."""
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from govmedia import audit
from govmedia.auth import require_roles, require_unit_access
from govmedia.errors import Invalid, NotFound
from govmedia.extensions import db
from govmedia.types import today_shanghai
from registry.models import Account

from .models import CHECKLIST_PLATFORMS, TAKEDOWN_KINDS, Notice, TakedownItem


def iso(value):
    return value.isoformat() if value is not None else None


def checklist(account_id: int) -> list[TakedownItem]:
    return db.session.scalars(select(TakedownItem).where(TakedownItem.account_id == account_id)
                              .order_by(TakedownItem.id)).all()


def completion_blocked(notice: Notice) -> dict | None:
    """Why a deregistration cannot complete by itself (apps and mini programs only)."""
    if notice.platform not in CHECKLIST_PLATFORMS:
        return None
    items = checklist(notice.account_id)
    if not items:
        return {"code": "checklist_empty",
                "message": _("List every app store and portal link first")}
    open_items = [item.label for item in items if item.done_on is None]
    if open_items:
        return {"code": "checklist_incomplete",
                "message": _("Not yet taken down everywhere: %(items)s",
                             items="、".join(open_items))}
    return None


def takedown_json(item: TakedownItem) -> dict:
    return {"id": item.id, "account_id": item.account_id, "kind": item.kind,
            "label": item.label, "done_on": iso(item.done_on)}


def require_checklist_platform(account, field: str) -> None:
    if account.platform not in CHECKLIST_PLATFORMS:
        raise Invalid(_("A take-down checklist is for apps and mini programs only"),
                      fields={field: "only for app and miniprogram"})


def add_takedown_item(actor, account, kind: str, label: str) -> TakedownItem:
    require_roles(actor, "sponsor")
    require_unit_access(actor, account.unit_id)
    require_checklist_platform(account, "platform")
    if kind not in TAKEDOWN_KINDS:
        raise Invalid(_("Kind: store or link"), fields={"kind": "store or link"})
    label = (label or "").strip()
    if not label or len(label) > 500:
        raise Invalid(_("Enter the app store's name or the link (1 to 500 characters)"),
                      fields={"label": "1 to 500 characters"})
    item = TakedownItem(account_id=account.id, kind=kind, label=label, created_by_id=actor.id)
    db.session.add(item)
    db.session.flush()
    audit.record("takedown.add", "account", account.id, after={"kind": kind, "label": label},
                 unit_id=account.unit_id, user=actor)
    return item


def tick_takedown_item(actor, item: TakedownItem, done_on: date,
                       today: date | None = None) -> TakedownItem:
    account = db.session.get(Account, item.account_id)
    require_roles(actor, "sponsor")
    require_unit_access(actor, account.unit_id)
    if done_on > (today or today_shanghai()):
        raise Invalid(_("The take-down date is in the future"),
                      fields={"done_on": "in the future"})
    before = {"done_on": item.done_on}
    item.done_on = done_on
    item.done_by_id = actor.id
    db.session.flush()
    audit.record("takedown.done", "account", account.id, before=before,
                 after={"label": item.label, "done_on": done_on}, unit_id=account.unit_id,
                 user=actor)
    return item


def get_takedown_item(actor, item_id: int) -> TakedownItem:
    item = db.session.get(TakedownItem, item_id)
    if item is None:
        raise NotFound(_("Checklist item not found"))
    require_unit_access(actor, db.session.get(Account, item.account_id).unit_id)
    return item
