"""The claim: one `UPDATE … RETURNING` takes a delivery row for one job, with all the job needs.

A job carries only the row's id. It claims the row with one conditional UPDATE (status as
read, no other lease, due) that sets a lease and a random `claim_token`; only the claimant
may write the row until it finishes or its lease runs out. The same statement returns the
row, its article, the account's credentials, the check rules' version and, unless this
worker holds it already, the article's content: one round trip, on an autocommit connection
of the jobs' own engine.
"""
import copy
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import Integer, and_, bindparam, case, create_engine, event, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError

from govmedia.extensions import db
from govmedia.wording import N_, message
from govmedia.secrets import decrypt
from govmedia.types import utcnow
from registry.models import AccountCredential

from ..models import Article, ArticleImage, ArticleVideo, Delivery
from . import content_cache
from .config import lease_seconds
from .content_cache import CONTENT_COLUMNS, cached_content, pre_send_refusal
from ..states import SENDABLE, DeliveryStatus as S, WithdrawState

_ENGINE_LOCK = threading.Lock()


class LeaseLost(Exception):
    """Another job owns the row now (our lease ran out): stop without touching the platform."""


@dataclass
class Work:
    """What a job needs, read once by the claim."""

    delivery_id: int
    token: str
    previous: str  # the status the claim replaced
    platform: str
    article_id: int
    account_id: int
    unit_id: int
    state: dict
    post_id: str | None
    credentials: dict | None
    content: object = None
    refusal: dict | str | None = None   # why it may not go out: a message, or a text
    withdraw_state: str | None = None  # as the finishing UPDATE found it
    article_hash: str | None = None  # the article's and the delivery's content hash, as claimed
    content_hash: str | None = None
    rules_version: str | None = None
    conn: object = None  # the claim's autocommit connection, kept for the job's saves
    follow_up: bool = False  # a look at a publish still processing (no attempt counted)
    mode: str | None = None  # WeChat: "publish" or "mass", fixed at sign-off

    def release(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def autocommit():
    """A connection of its own in autocommit mode: each statement is one round trip and
    commits at once (no BEGIN/COMMIT around a single conditional UPDATE)."""
    return job_engine().connect().execution_options(isolation_level="AUTOCOMMIT")


def job_engine():
    """The jobs' connections come from an engine of their own, the same database and options
    but no pre-ping: a ping is a round trip per delivery, and a connection the database
    dropped (a restart) fails the claim's statement harmlessly, which `claim` then tries once
    more on a fresh connection (a disconnect makes the pool drop every older one)."""
    engine = db.engine
    cached = current_app.extensions.get("govmedia_job_engine")
    if cached is not None and cached[0] is engine:
        return cached[1]
    with _ENGINE_LOCK:
        cached = current_app.extensions.get("govmedia_job_engine")
        if cached is not None and cached[0] is engine:
            return cached[1]
        options = dict(current_app.config["SQLALCHEMY_ENGINE_OPTIONS"], pool_pre_ping=False)
        engine_of_jobs = create_engine(engine.url, **options)
        # Disposed with the application's engine (tests dispose theirs after every test).
        event.listen(engine, "engine_disposed", lambda _engine: engine_of_jobs.dispose())
        current_app.extensions["govmedia_job_engine"] = (engine, engine_of_jobs)
        return engine_of_jobs


@cache
def claim_statement(withdrawing: bool):
    """The claim. To send: a row in a sendable status, no withdrawal, lease free and due, or
    `sending` with a lapsed lease (its job died mid-call); the first claim of an article sets
    it `publishing`. To withdraw: a pending withdrawal, lease free and due. The row as read
    (`r`) must still have the status it was read with when the UPDATE locks it, so `previous`
    is exactly the status the claim replaced (a row changed in between is not claimed)."""
    now, lease, token = bindparam("now"), bindparam("lease"), bindparam("token")
    free = or_(Delivery.lease_until.is_(None), Delivery.lease_until < now)
    due = or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)
    # The content comes along unless this worker has the article cached.
    wanted = ~(Article.id == func.any(bindparam("cached", type_=ARRAY(Integer))))
    content = [case((wanted, column), else_=None).label(name) for name, column in zip(
        CONTENT_COLUMNS, (Article.title, Article.body_html, Article.digest, Article.author,
                          Article.source_url, Article.weibo_text, Article.checks,
                          Article.checks_version, ArticleImage.mime, ArticleImage.data,
                          ArticleVideo.filename, ArticleVideo.sha256, ArticleVideo.size))]
    r = (select(Delivery.id, Delivery.status, Delivery.claim_token.label("old_token"),
                Delivery.article_id, Delivery.account_id,
                Delivery.platform, Delivery.content_hash, Article.status.label("article_status"),
                Article.unit_id, Article.content_hash.label("article_hash"),
                AccountCredential.ciphertext, content_cache.rules_version(),
                wanted.label("content_included"), *content)
         .join(Article, Article.id == Delivery.article_id)
         .outerjoin(ArticleImage, ArticleImage.id == Article.cover_id)
         .outerjoin(ArticleVideo, ArticleVideo.id == Article.video_id)
         .outerjoin(AccountCredential, AccountCredential.account_id == Delivery.account_id)
         .where(Delivery.id == bindparam("delivery_id")).subquery("r"))
    # `sending` and held by no job: handed to a follow-up (settle.await_platform)
    follow_up = and_(r.c.status == S.SENDING, r.c.old_token.is_(None))
    if withdrawing:
        condition = and_(Delivery.withdraw_state == WithdrawState.PENDING, free, due)
        values = {}
    else:
        # equalities, not IN: an expanding IN is re-rendered at every call
        condition = and_(Delivery.withdraw_state.is_(None), or_(
            and_(or_(*(Delivery.status == s for s in SENDABLE)), free, due),
            and_(Delivery.status == S.SENDING, Delivery.lease_until < now)))
        # A follow-up of a publish the platform is still processing is not a new attempt.
        values = {"status": S.SENDING, "attempts": Delivery.attempts + case((follow_up, 0),
                                                                           else_=1)}
    claimed = (update(Delivery)
               .where(Delivery.id == r.c.id, Delivery.status == r.c.status, condition)
               .values(lease_until=lease, claim_token=token, updated_at=now, **values)
               .returning(r.c.status.label("previous"), r.c.article_id, r.c.account_id,
                          r.c.platform, r.c.content_hash, r.c.article_status, r.c.unit_id,
                          r.c.article_hash, r.c.ciphertext, r.c.rules_version,
                          Delivery.platform_ids, Delivery.post_id, Delivery.mode,
                          r.c.content_included,
                          follow_up.label("follow_up"),
                          *(r.c[name] for name in CONTENT_COLUMNS))
               .cte("claimed"))
    if withdrawing:
        return select(claimed)
    # (updated_at given: a column's Python onupdate default cannot run inside a CTE)
    publishing = (update(Article)
                  .where(Article.id.in_(select(claimed.c.article_id)
                                        .where(claimed.c.article_status == "approved")),
                         Article.status == "approved")
                  .values(status="publishing", updated_at=now).cte("publishing"))
    return select(claimed).add_cte(publishing)


def claim(delivery_id: int, *, withdrawing: bool) -> Work | None:
    """Take the row if it has work for us and nobody holds it. None: nothing to do here."""
    now = utcnow()
    conn = autocommit()
    try:
        try:
            work = _claim_on(conn, delivery_id, withdrawing, now)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # A pooled connection the database dropped (no pre-ping on the jobs' engine):
            # nothing was claimed; once more on a fresh connection.
            conn.close()
            conn = autocommit()
            work = _claim_on(conn, delivery_id, withdrawing, now)
    except BaseException:
        conn.close()
        raise
    if work is None:
        conn.close()
        return None
    work.conn = conn  # the claim's connection, kept for the job's saves (one checkout)
    try:
        _prepare(work, withdrawing)
    except BaseException:
        _give_back(work, withdrawing, now)
        raise
    if db.session.registry.has():
        db.session.expunge_all()
    return work


def _claim_on(conn, delivery_id: int, withdrawing: bool, now: datetime) -> Work | None:
    token = secrets.token_hex(16)
    row = conn.execute(claim_statement(withdrawing), {
        "delivery_id": delivery_id, "now": now, "token": token,
        "lease": now + timedelta(seconds=lease_seconds()),
        "cached": content_cache.cached_article_ids()}).first()
    if row is None:
        return None
    if row.content_included:
        content_cache.remember_claimed(row)
    return _work(delivery_id, token, row, withdrawing)


def _work(delivery_id: int, token: str, row, withdrawing: bool) -> Work:
    work = Work(delivery_id=delivery_id, token=token, previous=row.previous,
                platform=row.platform, article_id=row.article_id, account_id=row.account_id,
                unit_id=row.unit_id, state=copy.deepcopy(row.platform_ids or {}),
                post_id=row.post_id, credentials=None, article_hash=row.article_hash,
                content_hash=row.content_hash, rules_version=row.rules_version or "defaults",
                follow_up=bool(row.follow_up), mode=row.mode)
    if row.ciphertext is not None:
        try:
            work.credentials = decrypt(row.ciphertext)
        except Exception:  # noqa: BLE001 - a changed SECRET_KEY: say so, quoting nothing
            work.refusal = message(N_("The account's credentials cannot be decrypted (was the "
                                      "key changed?); the sponsor unit must set them again"))
    if work.credentials is None and work.refusal is None and (
            not withdrawing or row.previous not in (S.QUEUED, S.RETRYING, S.FAILED)):
        work.refusal = message(N_("The account has no platform credentials; the sponsor unit "
                                  "sets them on the account page, then retries"))
    return work


def _prepare(work: Work, withdrawing: bool) -> None:
    """The content to send (and whether it may still go out), before any platform call."""
    if not withdrawing:
        work.content, checked = cached_content(work.article_id, work.article_hash, work.conn)
        # The content's own revision (not the hash read above): what is sent is what is checked.
        work.refusal = work.refusal or pre_send_refusal(
            work.content.revision, work.content_hash, work.article_id, checked,
            work.rules_version)
    elif work.previous in (S.UNCONFIRMED, S.SENDING):
        work.content, _checked = cached_content(work.article_id, work.article_hash, work.conn)
    if db.session.registry.has():  # (the session is used only to check again)
        db.session.commit()  # release everything before talking to the platform


def _give_back(work: Work, withdrawing: bool, now: datetime) -> None:
    """Nothing reached the platform: the row goes back as it was (the database being gone
    leaves it leased; the sweep takes it when the lease lapses)."""
    db.session.rollback()
    try:
        # A row taken over from a dead job keeps a lapsed lease: the sweep looks for those.
        back = {"lease_until": now if work.previous == S.SENDING else None, "claim_token": None}
        if not withdrawing:
            back.update(status=work.previous,
                        attempts=Delivery.attempts - (0 if work.follow_up else 1))
        work.conn.execute(update(Delivery).where(Delivery.id == work.delivery_id,
                                                 Delivery.claim_token == work.token)
                          .values(**back))
    finally:
        work.release()
