"""A job's writes: the platform's ids as they arrive, the outcome, the post, the article's status."""
import copy
import logging
from collections import Counter
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import (JSON, Text, bindparam, exists, func, literal_column, select,
                        update)
from sqlalchemy.orm import aliased

from adapters import get_adapter, listed_id, redact_tokens
from adapters.messages import known_msgid
from govmedia import audit
from govmedia.extensions import db
from govmedia.notify import notify
from govmedia.types import utcnow
from govmedia.wording import N_, is_message, message, say
from registry.models import Account
from registry.posts import record_post

from ..models import Article, Delivery
from .article_status import current_deliveries, outcome_of
from .claim import LeaseLost, Work, autocommit, job_engine
from .config import lease_seconds
from .lapse import credential_saver, mark_lapsed
from ..states import SENDABLE, UNSETTLED, WITHDRAWABLE_ARTICLES, DeliveryStatus as S

log = logging.getLogger(__name__)


@cache
def _statements():
    """Built once with bind parameters: an UPDATE built per call cost ~0.4 ms of Python
    before it reached the database, ~0.2 ms prebuilt (issue 6, docs/FANOUT.md)."""
    now, token = bindparam("now"), bindparam("token")
    mine = (Delivery.id == bindparam("delivery_id")) & (Delivery.claim_token == token)
    save = (update(Delivery).where(mine)
            .values(platform_ids=bindparam("state"), lease_until=bindparam("lease")))
    sent = (update(Delivery).where(mine)
            .values(status=S.SENT, post_id=bindparam("post_id"), post_url=bindparam("post_url"),
                    sent_at=now, last_error=None, last_error_detail=None,
                    next_attempt_at=None, lease_until=None,
                    claim_token=None, platform_ids=bindparam("state"), updated_at=now)
            .returning(Delivery.withdraw_state, Delivery.article_id).cte("sent"))
    # Another delivery of the article still waiting for a job (not one being sent right now,
    # which may be finishing at this very moment) will close the article itself.
    others = aliased(Delivery)
    # The statuses written out (not bound): the plan is the partial index
    # ix_deliveries_article_waiting's probe however many of the article's rows are sent.
    waiting = exists().where(others.article_id == sent.c.article_id,
                             others.id != bindparam("delivery_id"),
                             others.status.in_([literal_column(f"'{s}'") for s in SENDABLE]))
    current = (select(Delivery.status, Article.status.label("article_status"))
               .join(Article, Article.id == Delivery.article_id)
               .where(current_deliveries(bindparam("article_id"))))
    # Compare-and-set: of two deliveries closing one article together, one changes it.
    set_status = (update(Article).where(Article.id == bindparam("article_id"),
                                        Article.status == bindparam("before"))
                  .values(status=bindparam("status"), delivery_audit_pending=True))
    # The platform has the post and is still processing it: the row stays `sending`, no job
    # holds it, and its "lease" is the follow-up's time (the claim and the sweep take a
    # `sending` row whose lease has passed; a follow-up's claim counts no attempt).
    # `note`: what the delivery says while it waits (WeChat's 群发保护), else the text stays.
    awaiting = (update(Delivery).where(mine)
                .values(platform_ids=bindparam("state"), lease_until=bindparam("check_at"),
                        last_error=func.coalesce(bindparam("note", type_=Text),
                                                 Delivery.last_error),
                        last_error_detail=func.coalesce(bindparam("note_detail", type_=JSON),
                                                        Delivery.last_error_detail),
                        next_attempt_at=bindparam("check_at"), claim_token=None,
                        enqueued_at=bindparam("check_at"), updated_at=now))
    return {"save": save, "sent": select(sent.c.withdraw_state, waiting.label("others_waiting")),
            "current": current, "set_status": set_status, "awaiting": awaiting}


def adapter_for(work: Work):
    adapter = get_adapter(work.platform, work.credentials or {}, current_app.config,
                          account_options=account_options(work))
    if hasattr(adapter, "save_credentials"):  # tokens it refreshes are stored at once
        adapter.save_credentials = credential_saver(work.account_id)
    return adapter


def account_options(work: Work) -> dict:
    """What the adapter is told besides the credentials: WeChat's mode, fixed at sign-off
    (发布 or 群发), and the delivery's own clientmsgid (a resend is a no-op at WeChat)."""
    if work.platform != "wechat" or not work.mode:
        return {}
    return {"mode": work.mode, "clientmsgid": f"govmedia-{work.delivery_id}"}


def state_saver(work: Work):
    """The adapter's `save_state`: every id it learns is committed before its next call."""
    def save(state: dict) -> None:
        if work.conn is None:
            work.conn = autocommit()
        work.state = state  # the adapter's own dict: the last step's ids arrive in it unsaved
        result = work.conn.execute(_statements()["save"], {
            "delivery_id": work.delivery_id, "token": work.token, "state": copy.deepcopy(state),
            "lease": utcnow() + timedelta(seconds=lease_seconds())})
        if result.rowcount != 1:
            raise LeaseLost(work.delivery_id)

    return save


def await_platform(work: Work, check_after: float, note: dict | None = None) -> datetime:
    """The platform is still publishing: save the state the follow-up needs (the publish id)
    and let the row go until the follow-up's time, marked enqueued for then (the caller
    enqueues the follow-up: one statement, not dispatch's three). Returns that time."""
    now = utcnow()
    check_at = now + timedelta(seconds=max(0.0, check_after))
    if work.conn is None:
        work.conn = autocommit()
    result = work.conn.execute(_statements()["awaiting"], {
        "delivery_id": work.delivery_id, "token": work.token, "now": now,
        "state": copy.deepcopy(work.state), "check_at": check_at, **_note(note)})
    if result.rowcount != 1:
        raise LeaseLost(work.delivery_id)
    return check_at


def _note(note: dict | None) -> dict:
    """The `awaiting` statement's note: the words to show while the platform works, if any."""
    if note is None:
        return {"note": None, "note_detail": None}
    error = stored_error(note)
    return {"note": error["last_error"], "note_detail": error["last_error_detail"]}


def finish(work: Work, values: dict):
    """Write the outcome if the row is still ours; the caller adds to the same transaction.
    Returns the row's fields the audit entry and the follow-up need (one round trip)."""
    values = {"lease_until": None, "claim_token": None, **values}
    if "last_error" in values:  # a new text: the platform's detail of an older one goes
        values.setdefault("last_error_detail", None)
    row = db.session.execute(
        update(Delivery).where(Delivery.id == work.delivery_id,
                               Delivery.claim_token == work.token)
        .values(**values)
        .returning(Delivery.id, Delivery.account_id, Delivery.platform, Delivery.status,
                   Delivery.attempts, Delivery.post_id, Delivery.post_url,
                   Delivery.withdraw_state)).first()
    if row is None:
        db.session.rollback()
        raise LeaseLost(work.delivery_id)
    work.withdraw_state = row.withdraw_state
    return row


def record_audit(action: str, delivery, work: Work, after: dict) -> None:
    audit.record(action, "article", work.article_id, unit_id=work.unit_id,
                 after={"delivery_id": delivery.id, "account_id": delivery.account_id,
                        "platform": delivery.platform, "status": delivery.status,
                        "attempts": delivery.attempts, **after})


def error_message(exc) -> dict:
    """What went wrong, as words said when read (govmedia.wording): an adapter error's, with
    the platform's code when it gave one; any other exception as an internal error."""
    said = getattr(exc, "message", None)
    if not is_message(said):
        return message(N_("An internal error occurred while sending"))
    code = getattr(exc, "platform_code", None)
    if code in (None, ""):
        return said
    return message(N_("%(text)s (platform code %(code)s)"), text=said,
                   code=code if isinstance(code, int) else redact_tokens(str(code)))


def stored_error(said: dict, exc=None, platform: str | None = None) -> dict:
    """The fields that keep an error for its readers: the text of the day and the words to
    say again in the reader's language (Delivery.last_error_detail, with the platform's own
    code and text when it answered with one)."""
    detail = (error_detail(exc, platform) if exc is not None and platform else None) or {}
    return {"last_error": say(said), "last_error_detail": {**detail, "said": said}}


def error_detail(exc, platform: str) -> dict | None:
    """The platform's own code and text behind an adapter error, kept with the delivery so
    that pages put it into the reader's language (adapters.messages). Only a code the platform
    answered with: a known one, or a number with the platform's own words; a transport
    failure (an exception's name) or a bare HTTP status keeps the adapter's text. None else."""
    code = getattr(exc, "platform_code", None)
    message = getattr(exc, "platform_message", None)
    if code in (None, ""):
        return None
    if known_msgid(platform, code) is None and not (isinstance(code, int) and message):
        return None
    return {"code": code if isinstance(code, int) else redact_tokens(str(code)),
            "message": redact_tokens(str(message))[:500] if message else None}


def mark_token_expired(account_id: int) -> None:
    mark_lapsed(account_id)  # and the sponsors are told, once


def settle(work: Work, status: str, exc, *, next_at: datetime | None = None,
           token_expired: bool = False, said: dict | None = None,
           keep_state: bool = False) -> None:
    """An outcome other than sent: retrying, unconfirmed or failed, with its audit entry.
    `said`: the words for it (a message) when they are not the exception's own."""
    error = stored_error(said or error_message(exc), None if said else exc, work.platform)
    text = error["last_error"]
    # The job that ran is used up: a retry is enqueued after commit, else the sweep finds it.
    values = {"status": status, "next_attempt_at": next_at, "enqueued_at": None, **error}
    if keep_state:  # ids learnt in the last step, which only the outcome stores
        values["platform_ids"] = copy.deepcopy(work.state)
    delivery = finish(work, values)
    if token_expired:
        mark_token_expired(work.account_id)
    code = None if exc is None else redact_tokens(str(getattr(exc, "platform_code", "") or ""))
    record_audit(f"delivery.{status}", delivery, work,
                 {"error": text, "platform_code": code or None, "next_attempt_at": next_at})
    if status in (S.FAILED, S.UNCONFIRMED):
        tell_drafter(work, status, error["last_error_detail"]["said"], delivery.attempts)
    db.session.commit()
    log.info("delivery %s %s: %s", work.delivery_id, status, text)
    if status == S.FAILED:
        close_article(work)


def tell_drafter(work: Work, status: str, said: dict, attempts: int) -> None:
    """A failed or unconfirmed delivery is the drafter's to act on (retry, or check); the
    error goes as words, said in the drafter's language when read."""
    title, drafter = db.session.execute(select(Article.title, Article.created_by_id)
                                        .where(Article.id == work.article_id)).one()
    account = db.session.scalar(select(Account.name).where(Account.id == work.account_id))
    notify([drafter], f"delivery_{status}", f"/articles/{work.article_id}",
           {"title": title, "account": account or "", "error": said},
           key=f"delivery_{status}:{work.delivery_id}:{attempts}", unit_id=work.unit_id)


def record_sent(work: Work, result) -> None:
    """The outcome and the account's update (the 10-day rule, through the registry's one
    post function) in one short transaction; the article's status follows once the last
    delivery of the article is done (close_article)."""
    now = utcnow()
    title = work.content.title if work.content is not None else ""
    with job_engine().begin() as conn:
        row = conn.execute(_statements()["sent"], {
            "delivery_id": work.delivery_id, "token": work.token, "now": now,
            "post_id": str(result.post_id)[:200], "post_url": result.post_url or None,
            "state": copy.deepcopy(work.state)}).first()
        if row is None:
            raise LeaseLost(work.delivery_id)
        # With the platform's id, so the activity sync finding it again matches, not doubles.
        record_post(work.account_id, now, title, result.post_url, "publisher", connection=conn,
                    platform_post_id=listed_id(work.platform, work.state, result.post_id),
                    origin="govmedia")
    work.withdraw_state = row.withdraw_state
    if not row.others_waiting:
        close_article_safely(work)


def close_article_safely(work: Work) -> None:
    try:
        close_article(work)
    except Exception:  # noqa: BLE001 - the delivery is recorded; the sweep settles the article
        log.exception("delivery %s: sent; the article's status is left to the sweep",
                      work.delivery_id)
        db.session.rollback()


def close_article(work: Work) -> None:
    """After a delivery's outcome committed: if no current delivery of the article is still at
    work, the article takes its final status. Each delivery looks after its own commit, so
    the last to finish sees them all; two finishing together may both get here, and the
    status's compare-and-set lets one write it. The same statement marks the article's audit
    entry as owed: the sweep writes the entries of closed articles in a batch (one chain lock
    for many articles, none inside a delivery's job)."""
    close_article_of(work.article_id, work.conn)


def close_article_of(article_id: int, conn=None) -> None:
    """close_article for an article by id: on `conn`, or in the session (committing a change
    of status); a completed publishing task closes its article this way too."""
    values = {"article_id": article_id}
    connection = conn if conn is not None else db.session.connection()
    rows = connection.execute(_statements()["current"], values).all()
    counts = Counter(r.status for r in rows)
    if not rows or any(counts.get(s) for s in UNSETTLED):
        return
    before = rows[0].article_status
    status = outcome_of(before, counts)
    if status == before or before not in WITHDRAWABLE_ARTICLES:
        return
    connection.execute(_statements()["set_status"], dict(values, status=status, before=before))
    if conn is None:
        db.session.commit()
