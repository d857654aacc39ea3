"""WeChat 群发 (mass send) as well as 发布 (issue 15): which mode a WeChat target is sent in,
and the mass-send quota, one rule for the sign-off page, the API and the delivery job.

An article published with `freepublish` reaches no follower; a mass send (`message/mass/
sendall`) does, within WeChat's quota: a subscription account (订阅号) one mass send a day, a
service account (服务号) four a month (Beijing calendar day and month). The quota counts this
product's mass sends already made or still under way in the period (deliveries queued in mass
mode; a withdrawn one was sent and counts).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time as dtime

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select

from govmedia.errors import RuleConflict
from govmedia.extensions import db
from govmedia.types import SHANGHAI, utcnow
from registry.models import Account

from .models import Article, Delivery

MODES = ("publish", "mass")
TYPES = ("subscription", "service")
# type -> (mass sends allowed, period)
QUOTA = {"subscription": (1, "day"), "service": (4, "month")}
# Before the sign-off: the quota each WeChat target in mass mode would use is shown.
QUOTA_SHOWN = ("draft", "returned", "pending_review", "pending_signoff")
# Deliveries that used a mass send or are about to: sent (or since withdrawn), or in flight.
COUNTED = ("sent", "withdrawn", "queued", "sending", "retrying", "unconfirmed")


def account_mode(account: Account) -> str:
    return account.wechat_mode if account.wechat_mode in MODES else "publish"


def account_type(account: Account) -> str:
    return account.wechat_type if account.wechat_type in TYPES else "subscription"


def delivery_mode(article: Article, account: Account) -> str | None:
    """The mode a delivery of `article` to `account` goes out in: the article's override,
    else the account's own mode; None for other platforms."""
    if account.platform != "wechat":
        return None
    return article.wechat_mode if article.wechat_mode in MODES else account_mode(account)


@dataclass
class QuotaUse:
    account_id: int
    account_name: str
    account_type: str
    limit: int
    period: str          # "day" or "month"
    period_label: str    # 2026-12-05 or 2026-12 (Beijing)
    used: int            # mass sends made or under way in the period, this one not counted
    exceeded: bool       # this send would go beyond the quota

    @property
    def message(self) -> str:
        return quota_message(self)

    def as_json(self) -> dict:
        return {"account_id": self.account_id, "account_name": self.account_name,
                "account_type": self.account_type, "limit": self.limit,
                "period": self.period, "period_label": self.period_label,
                "used": self.used, "exceeded": self.exceeded, "message": self.message}


def quota_message(use: QuotaUse) -> str:
    if use.account_type == "service":
        text = _("WeChat account %(account)s is a service account: four mass sends a month; "
                 "%(used)s made or under way in %(period)s",
                 account=use.account_name, used=use.used, period=use.period_label)
    else:
        text = _("WeChat account %(account)s is a subscription account: one mass send a day; "
                 "%(used)s made or under way on %(period)s",
                 account=use.account_name, used=use.used, period=use.period_label)
    if use.exceeded:
        return _("%(quota)s. This mass send would exceed the quota: publish it instead, or "
                 "sign off in the next period", quota=text)
    return text


def _bounds(at: datetime, period: str) -> tuple[datetime, datetime, str]:
    local = at.astimezone(SHANGHAI)
    if period == "day":
        start = datetime.combine(local.date(), dtime(0), tzinfo=SHANGHAI)
        day = local.date()
        following = datetime.fromordinal(day.toordinal() + 1).date()
        end = datetime.combine(following, dtime(0), tzinfo=SHANGHAI)
        return start, end, day.isoformat()
    start = datetime(local.year, local.month, 1, tzinfo=SHANGHAI)
    end = datetime(local.year + (local.month == 12), local.month % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, end, f"{local.year:04d}-{local.month:02d}"


def quota_use(account: Account, at: datetime, *, article_id: int | None = None,
              delivery_id: int | None = None) -> QuotaUse:
    """The account's mass-send quota in the period of `at`, leaving out the send being
    decided (the article's deliveries at sign-off, the delivery itself in the job)."""
    limit, period = QUOTA[account_type(account)]
    start, end, label = _bounds(at, period)
    # When a send used (or will use) the quota: sent → its time; in flight → when it is due.
    when = case((Delivery.sent_at.is_not(None), Delivery.sent_at),
                else_=func.coalesce(Delivery.next_attempt_at, Delivery.created_at))
    query = (select(func.count()).select_from(Delivery)
             .where(Delivery.account_id == account.id, Delivery.mode == "mass",
                    or_(*(Delivery.status == s for s in COUNTED)),
                    and_(when >= start, when < end)))
    if article_id is not None:
        query = query.where(Delivery.article_id != article_id)
    if delivery_id is not None:
        query = query.where(Delivery.id != delivery_id)
    used = int(db.session.scalar(query) or 0)
    return QuotaUse(account.id, account.name, account_type(account), limit, period, label,
                    used, used + 1 > limit)


def send_time(article: Article) -> datetime:
    """When the article's deliveries go out: its publish time if still ahead, else now."""
    now = utcnow()
    return article.publish_at if article.publish_at and article.publish_at > now else now


def mass_targets(article: Article, *, lock: bool = False) -> list[Account]:
    """The article's WeChat targets that a sign-off would send in mass mode and that have
    not received this article yet (a fixed revision goes only to the others)."""
    targets = [i for i in article.target_account_ids or [] if isinstance(i, int)]
    if not targets:
        return []
    query = select(Account).where(Account.id.in_(targets), Account.platform == "wechat")
    if lock:  # two sign-offs at once for one account: the second counts the first's send
        query = query.order_by(Account.id).with_for_update()
    accounts = db.session.scalars(query).all()
    reached = set(db.session.scalars(select(Delivery.account_id).where(
        Delivery.article_id == article.id, Delivery.status.in_(("sent", "withdrawn")))))
    return [a for a in accounts if delivery_mode(article, a) == "mass" and a.id not in reached]


def article_quota(article: Article, *, lock: bool = False) -> list[QuotaUse]:
    """Every mass-mode WeChat target's quota for this article's send (shown before the
    sign-off, checked at it)."""
    at = send_time(article)
    return [quota_use(account, at, article_id=article.id)
            for account in mass_targets(article, lock=lock)]


def require_article_quota(article: Article) -> None:
    """The sign-off's check: refused (409 mass_quota_exceeded) naming the account and its
    quota when a mass send would exceed it."""
    over = [use for use in article_quota(article, lock=True) if use.exceeded]
    if over:
        raise RuleConflict(over[0].message, code="mass_quota_exceeded",
                           fields={"wechat_mode": over[0].message},
                           extra={"mass_quota": [use.as_json() for use in over]})


def delivery_quota_refusal(delivery_id: int, at: datetime | None = None) -> str | None:
    """The job's check before a mass send leaves: None when the quota allows it, else the
    message (the send fails without reaching WeChat, which would refuse it with 45028)."""
    row = db.session.execute(select(Delivery.account_id, Delivery.mode)
                             .where(Delivery.id == delivery_id)).first()
    if row is None or row.mode != "mass":
        return None
    account = db.session.get(Account, row.account_id)
    use = quota_use(account, at or utcnow(), delivery_id=delivery_id)
    return use.message if use.exceeded else None
