"""The WeChat callback's hand-off: a message is queued in Redis and answered `success`, and a
job stores what is queued in batches, one transaction a batch (docs/INTERACTION.md).

Nothing is lost on the way:
- The callback pushes the message onto INCOMING (one command; the push that finds the queue
  empty also sets PENDING, the flag that a drain job is at work or coming, and enqueues one
  when it was not set). Redis away: the push fails, the platform gets 503 and retries.
- One drain at a time (a lock with a token, renewed each batch). A batch is moved from
  INCOMING to PROCESSING in one script; it leaves PROCESSING only after its transaction
  committed, by the drain that still holds the lock. A drain that dies between the move and
  the commit leaves its batch in PROCESSING, and the next drain stores that batch first.
- Storing twice is harmless: the insert skips a (account, MsgId) already there, so WeChat's
  retries and a batch stored again after a crash are one row each.
- PostgreSQL away: the batch stays where it is and the job waits for the database
  (govmedia.queue's @job), then stores it; meanwhile callbacks keep queuing.
- An item the database refuses for itself (not an outage) is set aside on FAILED with the
  reason in the log, so it cannot block the queue.
"""
from __future__ import annotations

import json
import logging
import secrets
import time
from datetime import datetime

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from govmedia.extensions import db
from govmedia.queue import enqueue, job, redis_connection
from registry.models import Account

from . import services
from .wechat_callback import Incoming

log = logging.getLogger(__name__)

INCOMING = "govmedia:inbox:incoming"
PROCESSING = "govmedia:inbox:processing"
FAILED = "govmedia:inbox:failed"
LOCK = "govmedia:inbox:drain-lock"
PENDING = "govmedia:inbox:drain-pending"
LOCK_MS = 60_000          # a drain that died lets go after this; a live one renews it
PENDING_SECONDS = 300     # a drain job lost before it ran: the periodic drain comes anyway
DRAIN_SECONDS = 30        # one job drains this long at most, then hands over to another

# Take a batch: the one a dead drain left in PROCESSING, else up to ARGV[2] from INCOMING.
_TAKE = """
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return false end
redis.call('PEXPIRE', KEYS[3], ARGV[3])
if redis.call('LLEN', KEYS[2]) == 0 then
  local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
  if #items > 0 then
    redis.call('RPUSH', KEYS[2], unpack(items))
    redis.call('LTRIM', KEYS[1], #items, -1)
  end
end
return redis.call('LRANGE', KEYS[2], 0, -1)
"""
# The batch is committed: drop it, setting aside what could not be stored (ARGV[2..]).
_DONE = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
for i = 2, #ARGV do redis.call('RPUSH', KEYS[3], ARGV[i]) end
redis.call('DEL', KEYS[1])
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def encode(account_id: int, incoming: Incoming) -> str:
    return json.dumps({"account_id": account_id, "msg_id": incoming.msg_id,
                       "sender": incoming.sender, "kind": incoming.kind, "text": incoming.text,
                       "received_at": incoming.received_at.isoformat(),
                       "thread_id": incoming.thread_id},
                      ensure_ascii=False, separators=(",", ":"))


def decode(item: bytes | str) -> tuple[int, Incoming]:
    data = json.loads(item)
    return int(data["account_id"]), Incoming(
        msg_id=data["msg_id"], sender=data["sender"], kind=data["kind"], text=data["text"],
        received_at=datetime.fromisoformat(data["received_at"]), thread_id=data["thread_id"])


def hand_off(account_id: int, incoming: Incoming, app=None) -> None:
    """Queue a message for storing; RedisError when Redis cannot take it (the callback then
    answers 503). A drain job is enqueued unless one is already waiting. `app`: outside an
    app context (the callback's WSGI path, interaction.callback_wsgi)."""
    app = app or current_app._get_current_object()
    redis = redis_connection(app)
    # One command for nearly every message. Only the push that finds the queue empty asks
    # whether a drain is at work (PENDING): a push onto a non-empty queue follows one that
    # did, and the drain at work looks at the queue again after it clears PENDING.
    if redis.rpush(INCOMING, encode(account_id, incoming)) == 1 and redis.set(
            PENDING, "1", nx=True, ex=PENDING_SECONDS):
        with app.app_context():
            _enqueue_drain()


def _enqueue_drain() -> None:
    try:
        enqueue(drain_messages)
    except RedisError as exc:   # the message is queued: the periodic drain stores it
        log.warning("inbox drain not enqueued (%s); the periodic drain follows", exc)


def waiting(redis=None) -> int:
    """Messages queued and not yet stored (the benchmark waits for 0)."""
    redis = redis or redis_connection()
    pipe = redis.pipeline()
    pipe.llen(INCOMING)
    pipe.llen(PROCESSING)
    return sum(pipe.execute())


@job("default")
def drain_messages() -> int:
    """Store what the callbacks queued, a batch a transaction, until nothing came for
    INBOX_DRAIN_LINGER_SECONDS (or for DRAIN_SECONDS, then another job goes on); returns how
    many messages were new. A batch smaller than INBOX_DRAIN_BATCH is followed by a pause of
    INBOX_DRAIN_PAUSE_SECONDS, so a steady stream is stored a few commits a second.

    Enqueued by the first callback after the queue was last found empty (PENDING: while a
    drain runs, callbacks enqueue nothing, so a busy minute is one job, not thousands) and by
    the periodic drain. A drain that finds another at work returns at once: the one at work
    looks at the queue again after letting go of the lock."""
    redis = redis_connection()
    config = current_app.config
    batch_size = int(config["INBOX_DRAIN_BATCH"])
    pause, linger = float(config["INBOX_DRAIN_PAUSE_SECONDS"]), float(
        config["INBOX_DRAIN_LINGER_SECONDS"])
    started, stored = time.monotonic(), 0
    while True:
        token = secrets.token_hex(16)
        if not redis.set(LOCK, token, nx=True, px=LOCK_MS):
            return stored
        try:
            quiet_since, took = None, False
            while time.monotonic() - started < DRAIN_SECONDS:
                batch = redis.eval(_TAKE, 3, INCOMING, PROCESSING, LOCK,
                                   token, batch_size, LOCK_MS)
                if batch is None:       # the lock was lost: whoever holds it goes on
                    return stored
                if batch:
                    quiet_since, took = None, True
                    new, refused = _store(batch)
                    stored += new
                    if not redis.eval(_DONE, 3, PROCESSING, LOCK, FAILED, token, *refused):
                        return stored
                    if len(batch) < batch_size:
                        time.sleep(pause)   # let a batch gather: one commit, not one each
                    continue
                quiet_since = quiet_since or time.monotonic()
                # More may come in a busy spell: one job for it. A drain that found nothing
                # (the periodic one on a quiet day) ends at once: no worker waits for nothing.
                if took and time.monotonic() - quiet_since < linger:
                    time.sleep(pause or linger)
                    continue
                # Nothing queued: from here on a callback enqueues the next drain itself.
                redis.delete(PENDING)
                if not redis.llen(INCOMING):
                    break
        finally:
            redis.eval(_RELEASE, 1, LOCK, token)
        if not redis.llen(INCOMING):    # what came while letting go is not left waiting
            return stored
        if time.monotonic() - started >= DRAIN_SECONDS:
            _enqueue_drain()            # a long backlog: the next job goes on with it
            return stored


def _store(batch: list[bytes]) -> tuple[int, list[bytes]]:
    """Store a batch in one transaction; returns (new messages, items set aside). An outage
    propagates (the job waits for the database and runs again)."""
    decoded, refused = [], []
    for item in batch:
        try:
            decoded.append((item, *decode(item)))
        except (ValueError, KeyError, TypeError) as exc:
            log.error("inbox item set aside, unreadable (%s): %r", exc, item[:200])
            refused.append(item)
    accounts = {row.id: row for row in db.session.execute(
        select(Account.id, Account.unit_id, Account.platform)
        .where(Account.id.in_(sorted({account_id for _i, account_id, _m in decoded}))))}
    arrived = []
    for item, account_id, incoming in decoded:
        if account_id in accounts:
            arrived.append((item, accounts[account_id], incoming))
        else:
            log.error("inbox item set aside, no account %s: %r", account_id, item[:200])
            refused.append(item)
    try:
        new = services.store_messages([(account, m) for _i, account, m in arrived])
        db.session.commit()
        return new, refused
    except (OperationalError, InterfaceError):
        raise
    except DBAPIError:   # an item the database refuses: store the others one by one
        db.session.rollback()
    new = 0
    for item, account, incoming in arrived:
        try:
            with db.session.begin_nested():
                new += services.store_messages([(account, incoming)])
        except (OperationalError, InterfaceError):
            raise
        except DBAPIError as exc:
            log.error("inbox item set aside, refused by the database (%s): %r",
                      exc.orig, item[:200])
            refused.append(item)
    db.session.commit()
    return new, refused
