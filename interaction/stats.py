"""Response figures of the inbox: response rate and median response time, per account and
per unit, over the messages received in a period (issue 14; the annual report's 网民留言办理)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from govmedia.auth import scope_query
from govmedia.extensions import db
from govmedia.models import User
from govmedia.types import SHANGHAI

from .models import Message


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def _figures(received: int, answered: int, median_seconds) -> dict:
    return {"received": received, "answered": answered,
            "response_rate": round(answered / received, 4) if received else None,
            "median_response_hours": (None if median_seconds is None
                                      else round(float(median_seconds) / 3600, 2))}


def response_stats(actor: User, since: date, until: date, *, unit_id: int | None = None,
                   account_id: int | None = None) -> dict:
    """Messages received from `since` to `until` (Beijing days, both included): how many, how
    many were answered, the share answered, and the median time to the answer in hours."""
    seconds = func.extract("epoch", Message.replied_at - Message.received_at)
    median = func.percentile_cont(0.5).within_group(seconds)
    base = scope_query(select(), Message.unit_id, actor, unit_id).select_from(Message).where(
        Message.received_at >= _start(since), Message.received_at < _start(until + timedelta(1)))
    if account_id is not None:
        base = base.where(Message.account_id == account_id)

    def grouped(*keys):
        return db.session.execute(base.add_columns(
            *keys, func.count(), func.count(Message.replied_at), median).group_by(*keys)).all()

    accounts = [{"account_id": a, "unit_id": u, **_figures(n, m, s)}
                for a, u, n, m, s in grouped(Message.account_id, Message.unit_id)]
    units = [{"unit_id": u, **_figures(n, m, s)} for u, n, m, s in grouped(Message.unit_id)]
    [(n, m, s)] = db.session.execute(base.add_columns(
        func.count(), func.count(Message.replied_at), median)).all()
    return {"since": since.isoformat(), "until": until.isoformat(), **_figures(n, m, s),
            "accounts": sorted(accounts, key=lambda r: r["account_id"]),
            "units": sorted(units, key=lambda r: r["unit_id"])}
