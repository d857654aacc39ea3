"""No job waits on a platform (issue 13): a WeChat publish still processing is handed to a
scheduled follow-up with the publish id saved on the row; the PUBLISHJOBFINISH event settles
it at once; the lease's heartbeat keeps a live job's row and lets a dead one's go.

The burst worker of the test client runs the jobs (tests/conftest.py); RQ's scheduler holds
the follow-up until its time, as in production."""
import time
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select, update
from test_fanout import Standin, article, by_platform, newsroom, publish, standin  # noqa: F401

from govmedia.extensions import db
from govmedia.queue import queues
from govmedia.types import utcnow
from govmedia.worker import run_burst
from publisher.fanout import heartbeat
from publisher.fanout.claim import claim, job_engine
from publisher.fanout.events import settle_publish_event
from publisher.fanout.sweep import sweep
from publisher.models import Delivery
from registry.models import Post

GET = "/cgi-bin/freepublish/get"


@pytest.fixture
def slow_wechat(newsroom):  # noqa: F811
    """WeChat answers "publishing" until told otherwise; checks every 0.3 s."""
    newsroom.platforms.config(wechat_publish_polls=10_000, wechat_publish_seconds=10_000)
    current_app.config["WECHAT_POLL_INTERVAL"] = 0.3
    return newsroom


def row(delivery_id) -> Delivery:
    db.session.expire_all()
    found = db.session.get(Delivery, delivery_id)
    db.session.rollback()
    return found


def scheduled_jobs() -> int:
    return sum(q.scheduled_job_registry.count for q in queues(current_app))


def wait_and_run(until, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run_burst(current_app._get_current_object())
        if until():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_publish_still_processing_is_followed_up_by_a_scheduled_job_not_a_sleep(slow_wechat):
    room = slow_wechat
    started = time.monotonic()
    body = publish(room, targets=[room.wechat_id])  # the sign-off's burst ran the send job
    assert time.monotonic() - started < 5
    delivery_id = by_platform(body)["wechat"]["id"]
    waiting = row(delivery_id)
    # Sending, held by no job, the publish id saved for the follow-up, due a moment later.
    assert waiting.status == "sending" and waiting.claim_token is None
    assert waiting.platform_ids["publish_id"] and waiting.attempts == 1
    assert utcnow() < waiting.lease_until == waiting.next_attempt_at
    assert waiting.next_attempt_at - utcnow() < timedelta(seconds=1)
    assert room.platforms.calls(GET) == 1 and scheduled_jobs() == 1
    # A sweep leaves it to its scheduled follow-up.
    assert delivery_id not in sweep()["deliver"]
    # The follow-ups look again and again (no job sleeps between looks) ...
    wait_and_run(lambda: room.platforms.calls(GET) >= 3)
    assert row(delivery_id).status == "sending"
    assert row(delivery_id).platform_ids["publish_checks"] >= 3
    # ... until WeChat has published: sent once, one post, one submit, one attempt.
    room.platforms.config(wechat_publish_polls=0)
    wait_and_run(lambda: row(delivery_id).status == "sent")
    done = row(delivery_id)
    assert done.attempts == 1 and done.post_id.startswith("ARTICLE")
    assert room.platforms.calls("/cgi-bin/freepublish/submit") == 1
    assert room.platforms.posts()["wechat"]["count"] == 1
    assert db.session.scalar(select(db.func.count()).select_from(Post)) == 1
    assert article(room, body["id"])["status"] == "published"


def test_a_follow_up_lost_with_redis_is_sent_by_the_sweep(slow_wechat):
    room = slow_wechat
    delivery_id = by_platform(publish(room, targets=[room.wechat_id]))["wechat"]["id"]
    for q in queues(current_app):
        for job_id in q.scheduled_job_registry.get_job_ids():
            q.scheduled_job_registry.remove(job_id)
    room.platforms.config(wechat_publish_polls=0)
    past = utcnow() - timedelta(seconds=1)  # its time has come; its job is long lost
    db.session.execute(update(Delivery).values(enqueued_at=utcnow() - timedelta(hours=1),
                                               lease_until=past, next_attempt_at=past))
    db.session.commit()
    assert delivery_id in sweep()["deliver"]
    run_burst(current_app._get_current_object())
    assert row(delivery_id).status == "sent"
    assert room.platforms.posts()["wechat"]["count"] == 1


def test_the_publish_event_settles_at_once_with_no_platform_call(slow_wechat):
    room = slow_wechat
    body = publish(room, targets=[room.wechat_id])
    delivery_id = by_platform(body)["wechat"]["id"]
    publish_id = row(delivery_id).platform_ids["publish_id"]
    # Not this account's publish, or an unknown one: nothing happens.
    assert settle_publish_event(room.weibo_id, publish_id, 0, "https://mp/x", "A1") == "unknown"
    assert settle_publish_event(room.wechat_id, "999", 0, "https://mp/x", "A1") == "unknown"
    calls = room.platforms.calls(GET)
    url = "https://mp.weixin.qq.com/s/event-article"
    assert settle_publish_event(room.wechat_id, publish_id, 0, url, "ARTICLE-EVENT") == "sent"
    done = row(delivery_id)
    assert (done.status, done.post_id, done.post_url) == ("sent", "ARTICLE-EVENT", url)
    assert done.attempts == 1 and done.claim_token is None
    assert room.platforms.calls(GET) == calls  # settled by the event alone
    assert article(room, body["id"])["status"] == "published"
    # The event again, and the scheduled follow-up when it comes: nothing more.
    assert settle_publish_event(room.wechat_id, publish_id, 0, url, "ARTICLE-EVENT") == "unknown"
    wait_and_run(lambda: scheduled_jobs() == 0)
    assert row(delivery_id).status == "sent" and room.platforms.calls(GET) == calls
    assert db.session.scalar(select(db.func.count()).select_from(Post)) == 1


def test_a_failed_publish_event_fails_the_delivery_with_the_reason(slow_wechat):
    room = slow_wechat
    body = publish(room, targets=[room.wechat_id])
    delivery_id = by_platform(body)["wechat"]["id"]
    publish_id = row(delivery_id).platform_ids["publish_id"]
    assert settle_publish_event(room.wechat_id, publish_id, 4, None) == "failed"
    failed = row(delivery_id)
    assert failed.status == "failed" and "审核不通过" in failed.last_error
    assert "publish_id" not in failed.platform_ids  # a retry after a fix starts a new draft
    assert article(room, body["id"])["status"] == "failed"


def test_an_event_without_the_article_id_runs_the_follow_up_now(slow_wechat):
    room = slow_wechat
    room.platforms.config(wechat_publish_polls=10_000)
    body = publish(room, targets=[room.wechat_id])
    delivery_id = by_platform(body)["wechat"]["id"]
    publish_id = row(delivery_id).platform_ids["publish_id"]
    room.platforms.config(wechat_publish_polls=0)
    assert settle_publish_event(room.wechat_id, publish_id, 0, None) == "checking"
    run_burst(current_app._get_current_object())  # due now: no wait for the scheduler
    assert row(delivery_id).status == "sent"


def test_an_event_while_a_job_holds_the_row_leaves_it_to_the_job(slow_wechat, app):
    room = slow_wechat
    body = publish(room, targets=[room.wechat_id])
    delivery_id = by_platform(body)["wechat"]["id"]
    publish_id = row(delivery_id).platform_ids["publish_id"]
    db.session.execute(update(Delivery).values(lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    work = claim(delivery_id, withdrawing=False)  # the follow-up job, mid-look
    try:
        assert settle_publish_event(room.wechat_id, publish_id, 0, "u", "A2") == "in_progress"
        assert row(delivery_id).claim_token == work.token
    finally:
        work.release()


def test_the_heartbeat_renews_a_held_lease_and_only_the_holders(slow_wechat, app):
    room = slow_wechat
    app.config["TEST_RUN_JOBS"] = False
    delivery_id = by_platform(publish(room, targets=[room.weibo_id]))["weibo"]["id"]
    work = claim(delivery_id, withdrawing=False)
    try:
        db.session.execute(update(Delivery).values(lease_until=utcnow() + timedelta(seconds=1)))
        db.session.commit()
        heartbeat.hold(delivery_id, work.token, job_engine(), 40)
        assert heartbeat.renew_now() == 1
        assert row(delivery_id).lease_until > utcnow() + timedelta(seconds=35)
        # Taken over (another token): the old holder's beat changes nothing.
        db.session.execute(update(Delivery).values(claim_token="someone-else",
                                                   lease_until=utcnow()))
        db.session.commit()
        assert heartbeat.renew_now() == 0
        heartbeat.drop(delivery_id)
        assert delivery_id not in heartbeat.held()
    finally:
        heartbeat.drop(delivery_id)
        work.release()
