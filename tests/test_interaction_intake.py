"""The WeChat callback's queue (interaction.intake): a message answered `success` is in Redis,
and the drain job stores it once, whatever dies on the way. Real Redis and PostgreSQL; the
stand-in WeChat pushes the callbacks over HTTP (tests/test_interaction.py's fixtures)."""
import hashlib
import threading
import time
from datetime import date, datetime

import pytest
from conftest import base_config
from flask_migrate import upgrade
from redis import Redis
from services import free_port, start_postgres
from sqlalchemy import func, select
from test_interaction import TOKEN, inbox, served, standin, stored  # noqa: F401

from govmedia import create_app
from govmedia.extensions import db
from govmedia.models import User
from govmedia.types import today_shanghai, utcnow
from govmedia.worker import run_burst
from interaction import intake, services
from interaction.intake import FAILED, INCOMING, LOCK, PROCESSING, drain_messages, waiting
from interaction.models import Message
from interaction.wechat_callback import Incoming
from registry import services as registry_services
from registry.models import Account, Unit


@pytest.fixture
def held(app):
    """Callbacks queue and nothing drains until the test says so."""
    app.config["TEST_RUN_JOBS"] = False
    return Redis.from_url(app.config["REDIS_URL"])


def test_a_drain_that_fails_between_taking_a_batch_and_its_commit_loses_nothing(
        inbox, app, held, monkeypatch):
    for n in range(3):
        assert inbox.push(content=f"第{n}条", from_user=f"oCrash{n:06d}")["body"] == "success"
    assert waiting(held) == 3 and stored() == 0

    real = services.store_messages

    def insert_then_die(arrived):
        real(arrived)                      # the rows are written, not committed
        raise RuntimeError("the worker dies here")

    monkeypatch.setattr(services, "store_messages", insert_then_die)
    with pytest.raises(RuntimeError):
        drain_messages()
    db.session.rollback()
    assert stored() == 0
    assert held.llen(PROCESSING) == 3 and held.llen(INCOMING) == 0   # taken, kept
    assert held.get(LOCK) is None                                     # and let go
    monkeypatch.setattr(services, "store_messages", real)
    assert inbox.push(content="之后的一条", from_user="oCrash999999")["body"] == "success"
    assert drain_messages() == 4
    assert stored() == 4 and waiting(held) == 0
    assert sorted(db.session.scalars(select(Message.text))) == sorted(
        ["第0条", "第1条", "第2条", "之后的一条"])


def test_a_drain_killed_mid_batch_leaves_it_to_the_next_drain_once_its_lock_expires(
        inbox, app, held):
    inbox.push(content="被杀的批次里的留言", from_user="oKilled00001")
    # What a worker killed with SIGKILL after taking the batch leaves: the batch in
    # PROCESSING and its lock, which nobody releases.
    held.lmove(INCOMING, PROCESSING, "LEFT", "RIGHT")
    held.set(LOCK, "the-dead-drain", px=400)
    assert drain_messages() == 0 and stored() == 0        # the dead drain's lock still holds
    time.sleep(0.5)
    assert drain_messages() == 1
    assert stored() == 1 and waiting(held) == 0
    assert drain_messages() == 0 and stored() == 1        # stored once


def test_a_message_queued_twice_is_stored_once(inbox, app, held):
    for mode in ("plain", "aes", "plain"):
        answer = inbox.push(msg_id="24602835089999999", content="重复投递", mode=mode)
        assert (answer["status"], answer["body"]) == (200, "success")
    assert waiting(held) == 3
    assert drain_messages() == 1
    assert stored() == 1
    inbox.push(msg_id="24602835089999999", content="重复投递")   # WeChat's retry, later
    assert drain_messages() == 0 and stored() == 1


def test_redis_down_answers_503_and_stores_nothing(inbox, app, held):
    assert inbox.push(content="预热", from_user="oWarm0000001")["body"] == "success"
    run_burst(app)
    assert stored() == 1
    redis_url = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"   # nobody listens there
    try:
        answer = inbox.push(content="Redis 停了", from_user="oNoRedis0001")
    finally:
        app.config["REDIS_URL"] = redis_url
    assert answer["status"] == 503 and answer["body"] != "success"
    assert "消息队列暂不可用" in answer["body"]
    assert waiting(held) == 0
    run_burst(app)
    assert stored() == 1


def test_a_closed_account_gets_404_at_once_though_its_callbacks_were_cached(inbox, app):
    assert inbox.push(content="关闭前", from_user="oBeforeClose")["body"] == "success"
    closed = inbox.sponsor.post(f"/api/v1/accounts/{inbox.account_id}/events", {
        "kind": "close", "event_date": today_shanghai().isoformat(), "reason": "机构调整"})
    assert closed.status_code == 201, closed.get_json()
    assert inbox.push(content="关闭后", from_user="oAfterClose0")["status"] == 404
    assert stored() == 1


def test_a_new_token_holds_at_once_though_the_old_one_was_cached(inbox, app):
    assert inbox.push(content="旧令牌", from_user="oOldToken001")["body"] == "success"
    # Another process changes the token (this one's cache is not told): a callback signed
    # with the new token reads the account again instead of refusing it.
    with app.app_context():
        account = db.session.get(Account, inbox.account_id)
        sponsor = db.session.scalar(select(User).where(User.username == "sponsor_a"))
        registry_services.set_credentials(sponsor, account, {
            "app_id": "wx_other", "app_secret": "s" * 32, "token": "brandNewToken9"})
        db.session.commit()
    answer = inbox.push(content="新令牌", from_user="oNewToken001", token="brandNewToken9")
    assert (answer["status"], answer["body"]) == (200, "success")
    assert inbox.push(content="旧令牌再来", from_user="oOldToken002")["status"] == 403
    assert sorted(db.session.scalars(select(Message.text))) == ["新令牌", "旧令牌"]


def test_an_item_the_database_refuses_is_set_aside_and_the_rest_stored(inbox, app, held):
    inbox.push(content="正常的留言", from_user="oGood0000001")
    held.rpush(INCOMING, b"not json at all")
    held.rpush(INCOMING, intake.encode(inbox.account_id, Incoming(
        msg_id="777", sender="o" * 200, kind="text", text="发件人过长", received_at=utcnow())))
    assert drain_messages() == 1
    assert stored() == 1 and waiting(held) == 0
    assert db.session.scalar(select(Message.text)) == "正常的留言"
    assert held.llen(FAILED) == 2 and held.lindex(FAILED, 0) == b"not json at all"


def test_one_drain_takes_what_comes_while_it_waits_for_more(inbox, app, held):
    app.config.update(INBOX_DRAIN_PAUSE_SECONDS=0.05, INBOX_DRAIN_LINGER_SECONDS=3.0)
    inbox.push(content="第一条", from_user="oSpell000001")
    drained = {}

    def drain():
        with app.app_context():
            drained["new"] = drain_messages()

    worker = threading.Thread(target=drain, daemon=True)
    worker.start()
    deadline = time.monotonic() + 10
    while stored() == 0:
        assert time.monotonic() < deadline, "the first message was not stored"
        time.sleep(0.05)
    assert worker.is_alive()                       # stored, and waiting for more
    assert held.get(intake.PENDING) is not None    # so a callback enqueues no second job
    inbox.push(content="第二条", from_user="oSpell000002")
    worker.join(timeout=15)
    assert not worker.is_alive() and drained["new"] == 2 and stored() == 2
    assert held.get(intake.PENDING) is None        # the next message asks for a new drain


def test_a_drain_that_finds_nothing_ends_at_once(inbox, app, held):
    """The periodic drain on a quiet day holds no worker for the linger."""
    app.config.update(INBOX_DRAIN_PAUSE_SECONDS=0.5, INBOX_DRAIN_LINGER_SECONDS=5.0)
    started = time.monotonic()
    assert drain_messages() == 0
    assert time.monotonic() - started < 1.0
    assert held.get(intake.PENDING) is None        # the next message asks for a drain


def test_the_queue_is_drained_periodically_too(app):
    assert "inbox_drain" in app.extensions["govmedia_periodic"]


# --- PostgreSQL away -------------------------------------------------------------------------

@pytest.fixture
def own_postgres(tmp_path_factory, redis_service):
    """A PostgreSQL of this test's own, to stop and start (the session's is shared)."""
    service = start_postgres(tmp_path_factory.mktemp("intake-postgres"))
    app = create_app(base_config(service.url, redis_service.url)
                     | {"WECHAT_CALLBACK_CACHE_SECONDS": 120.0})
    Redis.from_url(redis_service.url).flushdb()
    with app.app_context():
        upgrade(revision="heads")
        yield service, app
        db.session.remove()
        db.engine.dispose()
    service.stop()


def _callback(client, account_id: int, msg_id: int, text: str):
    timestamp, nonce = str(int(time.time())), f"n{msg_id}"
    signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
    xml = (f"<xml><ToUserName>gh_x</ToUserName><FromUserName>oPgDown{msg_id}</FromUserName>"
           f"<CreateTime>{int(time.time())}</CreateTime><MsgType>text</MsgType>"
           f"<Content>{text}</Content><MsgId>{msg_id}</MsgId></xml>")
    return client.post(f"/callbacks/wechat/{account_id}?signature={signature}"
                       f"&timestamp={timestamp}&nonce={nonce}", data=xml.encode())


def test_postgresql_away_messages_wait_in_redis_and_are_stored_when_it_returns(own_postgres):
    pg, app = own_postgres
    unit = Unit(name="某县人民政府")
    db.session.add(unit)
    db.session.flush()
    sponsor = User(username="s", password_hash="x", roles=["sponsor"], unit_id=unit.id)
    account = Account(unit_id=unit.id, platform="wechat", name="某县发布", handle="gh_pgdown0001",
                      opened_on=date(2024, 1, 1), staff=[])
    db.session.add_all([sponsor, account])
    db.session.flush()
    registry_services.set_credentials(sponsor, account, {"app_id": "wx1", "app_secret": "s" * 32,
                                                         "token": TOKEN})
    db.session.commit()
    account_id = account.id
    client = app.test_client()
    assert _callback(client, account_id, 1001, "停机前").get_data(as_text=True) == "success"
    assert drain_messages() == 1

    def count() -> int:
        db.session.rollback()
        return db.session.scalar(select(func.count()).select_from(Message))

    db.session.remove()
    pg.stop(keep_data=True)
    try:
        # The account was read lately: its callbacks are taken and wait in Redis.
        for n in (1002, 1003):
            answer = _callback(client, account_id, n, f"停机时{n}")
            assert (answer.status_code, answer.get_data(as_text=True)) == (200, "success")
        # One nobody asked about lately cannot be checked: 503, WeChat retries.
        assert _callback(client, account_id + 1, 1004, "未知账号").status_code == 503
        drained = {}

        def drain():
            with app.app_context():
                drained["new"] = drain_messages()   # waits for the database (govmedia.queue)

        worker = threading.Thread(target=drain, daemon=True)
        worker.start()
        worker.join(timeout=2)
        assert worker.is_alive(), "the drain should wait for the database, not give up"
        assert waiting(Redis.from_url(app.config["REDIS_URL"])) == 2
    finally:
        pg.start()
    worker.join(timeout=60)
    assert not worker.is_alive() and drained["new"] == 2
    assert count() == 3
    assert sorted(db.session.scalars(select(Message.text))) == ["停机前", "停机时1002",
                                                                "停机时1003"]
    assert isinstance(db.session.scalar(select(Message.received_at)), datetime)
