"""What a supervisor does with a long list: export it, order rectification for many dormant
accounts at once, and decide that a pair of near-same names is not a duplicate."""
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from govmedia import audit
from govmedia.auth import require_roles, require_unit_access
from govmedia.errors import Invalid, NotFound
from govmedia.extensions import db

from ..labels import N_, label
from ..models import Account
from .dormancy import dormant_list
from .duplicates import duplicates
from .export import Column
from .lookups import accounts_by_id, unit_names
from .models import DuplicateDismissal, NamePair, Rectification
from .rectification import create_rectification

EXPORT_MAX = 100_000     # rows in one file; a list longer than that is filtered first
BULK_MAX = 500           # accounts in one bulk order (a page or ten)


# --- "not a duplicate" -----------------------------------------------------------------------

def dismiss_pair(actor, first_id: int, second_id: int, reason: str) -> DuplicateDismissal:
    """Keep a near-same-name pair off the duplicates list for good, with the reason, audited."""
    require_roles(actor, "supervisor")
    low, high = sorted((first_id, second_id))
    accounts = accounts_by_id([low, high])
    if low == high or len(accounts) != 2:
        raise Invalid(_("Choose two different accounts"), fields={"account_ids": "two accounts"})
    for account in accounts.values():
        require_unit_access(actor, account.unit_id)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Say why the two accounts are not duplicates"),
                      fields={"reason": "required"})
    existing = db.session.scalar(select(DuplicateDismissal).where(
        DuplicateDismissal.low_id == low, DuplicateDismissal.high_id == high))
    if existing is not None:
        return existing
    decision = DuplicateDismissal(low_id=low, high_id=high, reason=reason[:2000],
                                  decided_by_id=actor.id)
    db.session.add(decision)
    db.session.flush()
    audit.record("duplicate.dismiss", "duplicate_pair", decision.id,
                 after={"account_ids": [low, high], "reason": decision.reason},
                 unit_id=accounts[low].unit_id, user=actor)
    return decision


def require_reach(actor, account_ids) -> None:
    """403 unless the actor reaches the unit of each of these accounts."""
    for account in accounts_by_id(account_ids).values():
        require_unit_access(actor, account.unit_id)


def is_name_pair(first_id: int, second_id: int) -> bool:
    low, high = sorted((first_id, second_id))
    return db.session.scalar(select(NamePair.id).where(
        NamePair.low_id == low, NamePair.high_id == high)) is not None


# --- bulk rectification from the dormant list -------------------------------------------------

def bulk_dormant_orders(actor, account_ids, as_of: date,
                        deadline: date | None = None) -> tuple[list[Rectification], list[int]]:
    """One rectification order (kind "dormant") per chosen account, its finding worded from
    the dormant list; an account that already has an open dormant order is skipped.
    Returns (orders made, ids skipped)."""
    require_roles(actor, "supervisor")
    ids = sorted({int(i) for i in account_ids})
    if not ids:
        raise Invalid(_("Choose at least one account"), fields={"account_ids": "required"})
    if len(ids) > BULK_MAX:
        raise Invalid(_("At most %(n)s accounts at once", n=BULK_MAX),
                      fields={"account_ids": f"at most {BULK_MAX}"})
    accounts = accounts_by_id(ids)
    missing = [i for i in ids if i not in accounts]
    if missing:
        raise NotFound(_("Account %(id)s not found", id=missing[0]))
    for account in accounts.values():   # every one, the skipped ones too
        require_unit_access(actor, account.unit_id)
    open_already = set(db.session.scalars(select(Rectification.account_id).where(
        Rectification.account_id.in_(ids), Rectification.kind == "dormant",
        Rectification.status != "closed")))
    gaps = _dormant_days(actor, as_of, ids)
    made, skipped = [], []
    for account_id in ids:
        if account_id in open_already:
            skipped.append(account_id)
            continue
        account = accounts[account_id]
        made.append(create_rectification(actor, account.unit_id, "dormant",
                                         _dormant_finding(account, gaps.get(account_id)),
                                         account_id=account_id, deadline=deadline,
                                         issued_on=as_of))
    return made, skipped


def _dormant_days(actor, as_of: date, ids: list[int]) -> dict[int, dict]:
    items, _total = dormant_list(actor, as_of, include_warning=True, limit=EXPORT_MAX)
    wanted = set(ids)
    return {i["account_id"]: i for i in items if i["account_id"] in wanted}


def _dormant_finding(account: Account, gap: dict | None) -> str:
    if gap is None:
        return _("%(name)s: updates to be checked (rule 5)", name=account.name)
    return _("%(name)s: no update for %(days)s days (last %(last)s)", name=account.name,
             days=gap["days_since_update"], last=gap["last_update_on"])


# --- the lists as rows for a file --------------------------------------------------------------

DORMANT_COLUMNS = (("name", N_("Account"), 24, False), ("platform", N_("Platform"), 12, False),
                   ("unit", N_("Unit"), 28, False),
                   ("last_update_on", N_("Last update"), 12, True),
                   ("days_since_update", N_("Days without update"), 10, False),
                   ("band", N_("Band"), 12, False))
DUPLICATE_COLUMNS = (("reason", N_("Reason"), 20, False), ("platform", N_("Platform"), 12, False),
                     ("accounts", N_("Accounts"), 48, False), ("units", N_("Units"), 40, False))
RECTIFICATION_COLUMNS = (("id", N_("Order"), 8, False), ("unit", N_("Unit"), 28, False),
                         ("account", N_("Account"), 24, False), ("kind", N_("Kind"), 16, False),
                         ("finding", N_("Finding"), 40, False),
                         ("issued_on", N_("Issued on"), 12, True),
                         ("deadline", N_("Deadline"), 12, True),
                         ("status", N_("Status"), 12, False), ("answer", N_("Answer"), 40, False))


def columns(spec) -> list[Column]:
    """The columns with their headings in the reader's language."""
    return [Column(key, _(heading), width, is_date) for key, heading, width, is_date in spec]


def dormant_rows(actor, as_of: date, include_warning: bool, unit_id=None) -> list[dict]:
    items, _total = dormant_list(actor, as_of, include_warning=include_warning,
                                 unit_id=unit_id, limit=EXPORT_MAX)
    names = unit_names(i["unit_id"] for i in items)
    return [{"name": i["name"], "platform": label("platform", i["platform"]),
             "unit": names.get(i["unit_id"], ""), "last_update_on": i["last_update_on"],
             "days_since_update": i["days_since_update"],
             "band": _("Dormant") if i["band"] == "dormant" else _("Warning band")}
            for i in items]


def duplicate_rows(actor, unit_id=None) -> list[dict]:
    body = duplicates(actor, unit_id=unit_id)
    ids = {a for g in body["items"] for a in g["account_ids"]} | {
        a for s in body["similar"] for a in s["account_ids"]}
    accounts = accounts_by_id(ids)
    names = unit_names(a.unit_id for a in accounts.values())
    reasons = {"similar_name": _("Near-same names"),
               "same_verified_subject": _("One verified subject"),
               "low_use": _("Low audience and use")}

    def row(reason, platform, account_ids):
        shown = [accounts[a] for a in account_ids if a in accounts]
        return {"reason": reason, "platform": label("platform", platform) if platform else "",
                "accounts": _("; ").join(a.name for a in shown),
                "units": _("; ").join(dict.fromkeys(names.get(a.unit_id, "") for a in shown))}

    rows = [row(_("More than one account on one platform"), g["platform"], g["account_ids"])
            for g in body["items"]]
    rows += [row(reasons[s["reason"]], s.get("platform"), s["account_ids"])
             for s in body["similar"]]
    return rows


def rectification_rows(orders) -> list[dict]:
    orders = list(orders)
    names = unit_names(o.unit_id for o in orders)
    accounts = accounts_by_id(o.account_id for o in orders if o.account_id)
    return [{"id": o.id, "unit": names.get(o.unit_id, ""),
             "account": accounts[o.account_id].name if o.account_id in accounts else "",
             "kind": label("finding", o.kind), "finding": o.finding,
             "issued_on": o.issued_on.isoformat(), "deadline": o.deadline.isoformat(),
             "status": label("rectification", o.status), "answer": o.answer or ""}
            for o in orders]
