"""The interaction inbox over HTTP: the stand-in WeChat pushes signed callbacks (plaintext and
safe mode) into govmedia served on loopback, and replies go back through the real adapter to
the stand-in's message/custom/send."""
import threading
import time
from datetime import datetime, timedelta

import pytest
import requests
from conftest import PASSWORD, account_body, base_config, make_user
from redis import Redis
from sqlalchemy import func, select
from werkzeug.serving import make_server

from adapters.wechat import clear_local_tokens
from govmedia import create_app
from govmedia.extensions import db
from govmedia.types import SHANGHAI, today_shanghai, utcnow
from govmedia.worker import run_burst
from interaction.jobs import sweep_replies
from interaction.models import Message, MessageReply, ReferenceAnswer
from interaction.weibo_pull import pull_weibo_comments
from standins import DEFAULT_WECHAT_APPS, DEFAULT_WEIBO_TOKENS, serve_in_thread

APP_ID, APP_SECRET = next(iter(DEFAULT_WECHAT_APPS.items()))
TOKEN = "govmediaToken2026"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture(scope="module")
def standin():
    server, url = serve_in_thread("127.0.0.1", 0)
    yield url
    server.shutdown()


@pytest.fixture
def served(app):
    """The test's app on a loopback port, so the stand-in can call its callback URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def inbox(app, world, login, standin, served):
    requests.post(f"{standin}/_standin/reset", timeout=5).raise_for_status()
    clear_local_tokens()
    app.config.update(WECHAT_API_BASE_URL=standin, WEIBO_API_BASE_URL=standin, ADAPTER_TIMEOUT=2.0)
    # The drain after each push stores and ends at once (no pause for a batch to gather,
    # no waiting for more: tests/test_interaction_intake.py has those).
    app.config.update(INBOX_DRAIN_PAUSE_SECONDS=0, INBOX_DRAIN_LINGER_SECONDS=0)
    a = world.unit_a["id"]
    account = world.sponsor_a.post("/api/v1/accounts", account_body(a)).get_json()
    response = world.sponsor_a.put(f"/api/v1/accounts/{account['id']}/credentials", {
        "app_id": APP_ID, "app_secret": APP_SECRET, "token": TOKEN, "encoding_aes_key": AES_KEY})
    assert response.status_code == 204, response.get_json()
    make_user("editor_a", ["editor"], a)

    class Inbox:
        account_id, unit_id = account["id"], a
        callback = f"{served}/callbacks/wechat/{account['id']}"
        sponsor, editor, sponsor_b = world.sponsor_a, login("editor_a"), world.sponsor_b
        supervisor = world.supervisor

        def push(self, **body):
            body = {"url": self.callback, "token": TOKEN, "mode": "plain", **body}
            if body["mode"] == "aes":
                body.setdefault("encoding_aes_key", AES_KEY)
            answer = requests.post(f"{standin}/_standin/wechat/messages", json=body, timeout=15)
            answer.raise_for_status()
            if app.config.get("TEST_RUN_JOBS", True):
                run_burst(app)   # the drain the callback enqueued stores the message
            return answer.json()

        def sent(self):
            return requests.get(f"{standin}/_standin/wechat/custom-messages",
                                timeout=5).json()["items"]

        def fault(self, **fault):
            requests.post(f"{standin}/_standin/faults", json=fault, timeout=5).raise_for_status()

    return Inbox()


def stored() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Message))


# --- credentials -------------------------------------------------------------------------------

def test_callback_token_and_aes_key_are_checked_stored_and_never_returned(inbox):
    url = f"/api/v1/accounts/{inbox.account_id}/credentials"
    base = {"app_id": APP_ID, "app_secret": APP_SECRET}
    for field, value in [("token", "ab"), ("token", "has space1"), ("token", "x" * 33),
                         ("encoding_aes_key", "short"), ("encoding_aes_key", "é" * 43)]:
        response = inbox.sponsor.put(url, base | {field: value})
        assert response.status_code == 400, (field, value)
        assert field in response.get_json()["error"]["fields"]
    shown = inbox.sponsor.get(f"/api/v1/accounts/{inbox.account_id}").get_data(as_text=True)
    assert TOKEN not in shown and AES_KEY not in shown
    # The refused bodies left the stored credentials alone: the callback still verifies.
    assert inbox.push()["status"] == 200


# --- the URL check -------------------------------------------------------------------------------

def test_url_check_echoes_only_with_the_right_signature(inbox, client):
    import hashlib

    timestamp, nonce = str(int(time.time())), "n0nce"
    good = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
    path = f"/callbacks/wechat/{inbox.account_id}"
    ok = client.get(path, query_string={"signature": good, "timestamp": timestamp,
                                        "nonce": nonce, "echostr": "echo123"})
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "echo123"
    bad = client.get(path, query_string={"signature": "0" * 40, "timestamp": timestamp,
                                         "nonce": nonce, "echostr": "echo123"})
    assert bad.status_code == 403 and "echo123" not in bad.get_data(as_text=True)
    assert client.get("/callbacks/wechat/999999", query_string={
        "signature": good, "timestamp": timestamp, "nonce": nonce}).status_code == 404


# --- messages arriving -------------------------------------------------------------------------

def test_plaintext_and_safe_mode_messages_are_stored_with_a_working_day_deadline(inbox):
    plain = inbox.push(content="请问社保卡在哪里办理？", from_user="oPlainUser0001")
    assert (plain["status"], plain["body"]) == (200, "success")
    safe = inbox.push(mode="aes", content="路灯坏了，什么时候修？", from_user="oSafeUser0001")
    assert (safe["status"], safe["body"]) == (200, "success")
    listed = inbox.sponsor.get("/api/v1/messages", account_id=inbox.account_id).get_json()
    assert listed["total"] == 2
    by_sender = {m["sender"]: m for m in listed["items"]}
    assert by_sender["oPlainUser0001"]["text"] == "请问社保卡在哪里办理？"
    assert by_sender["oSafeUser0001"]["text"] == "路灯坏了，什么时候修？"
    item = by_sender["oSafeUser0001"]
    assert set(item) >= {"id", "account_id", "unit_id", "platform", "sender", "text",
                         "received_at", "status", "reply_due_on", "replied_at"}
    assert item["status"] == "open" and item["platform"] == "wechat"
    assert item["replied_at"] is None and item["reply_window_open"] is True
    # Five working days on the filings' calendar: never on a weekend, at least a week later
    # once a weekend is crossed.
    due = datetime.fromisoformat(item["reply_due_on"]).date()
    assert due.weekday() < 5 and (due - today_shanghai()).days >= 5
    overdue = inbox.sponsor.get("/api/v1/messages", status="overdue",
                                as_of=(due + timedelta(days=1)).isoformat()).get_json()
    assert overdue["total"] == 2
    assert inbox.sponsor.get("/api/v1/messages", status="overdue").get_json()["total"] == 0
    # Another unit's sponsor sees none of them, and may not ask for unit A's.
    assert inbox.sponsor_b.get("/api/v1/messages").get_json()["total"] == 0
    assert inbox.sponsor_b.get(f"/api/v1/messages/{item['id']}").status_code == 403


def test_a_forged_callback_stores_nothing(inbox):
    assert inbox.push(forge=True)["status"] == 403
    assert inbox.push(forge=True, mode="aes")["status"] == 403
    assert stored() == 0


def test_a_message_delivered_twice_is_stored_once(inbox):
    first = inbox.push(msg_id="24602835081234567", content="第一次")
    again = inbox.push(msg_id="24602835081234567", content="第一次", mode="aes")
    assert first["status"] == again["status"] == 200
    assert first["body"] == again["body"] == "success"
    assert stored() == 1


def test_malformed_oversized_and_hostile_xml_get_400_and_store_nothing(inbox, app):
    import hashlib

    timestamp, nonce = str(int(time.time())), "abc"
    sig = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
    params = {"signature": sig, "timestamp": timestamp, "nonce": nonce}
    bomb = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Content>&b;</Content></xml>')
    limit = app.config["WECHAT_CALLBACK_MAX_BYTES"]
    for body in ["<xml><MsgType>text</MsgType>", "not xml at all", bomb,
                 "<xml><MsgType>text</MsgType><FromUserName>o1</FromUserName></xml>",
                 "<xml><Content>" + "长" * limit + "</Content></xml>"]:
        response = requests.post(inbox.callback, params=params, data=body.encode(), timeout=10)
        assert response.status_code == 400, body[:60]
    assert stored() == 0


def test_a_closed_or_unknown_account_gets_404(inbox):
    base = inbox.callback.rsplit("/", 1)[0]
    assert inbox.push(url=f"{base}/999999")["status"] == 404
    closed = inbox.sponsor.post(f"/api/v1/accounts/{inbox.account_id}/events", {
        "kind": "close", "event_date": today_shanghai().isoformat(), "reason": "机构调整"})
    assert closed.status_code == 201, closed.get_json()
    assert inbox.push()["status"] == 404
    assert stored() == 0


def test_credentials_that_no_longer_decrypt_refuse_the_callback_instead_of_failing(inbox, app):
    app.config["CREDENTIALS_KEY"] = "a-new-key-nobody-told-the-accounts"
    assert inbox.push()["status"] == 403
    assert stored() == 0


def test_an_unreachable_database_answers_non_200_so_the_platform_retries(database_url):
    down = create_app(base_config("postgresql://nobody@127.0.0.1:9/none"))
    response = down.test_client().post("/callbacks/wechat/1", data=b"<xml/>")
    assert response.status_code == 503
    assert response.get_data(as_text=True) != "success"


# --- replies -------------------------------------------------------------------------------------

def test_a_reply_within_the_window_reaches_the_sender_and_answers_the_message(inbox):
    inbox.push(content="办证需要带什么材料？", from_user="oAsker000001")
    [message] = inbox.editor.get("/api/v1/messages").get_json()["items"]
    response = inbox.editor.post(f"/api/v1/messages/{message['id']}/reply",
                                 {"text": "请携带身份证原件到政务服务中心办理。"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["message"]["id"] == message["id"]
    # The test client's worker ran the job: the stand-in has the customer-service message.
    assert inbox.sent() == [{"appid": APP_ID, "touser": "oAsker000001",
                             "content": "请携带身份证原件到政务服务中心办理。",
                             "sent_at": inbox.sent()[0]["sent_at"]}]
    after = inbox.editor.get(f"/api/v1/messages/{message['id']}").get_json()
    assert after["status"] == "answered" and after["replied_at"]
    assert after["replies"][0]["status"] == "sent"
    assert inbox.editor.get("/api/v1/messages", status="answered").get_json()["total"] == 1


def test_a_reply_past_48_hours_is_refused_with_a_clear_message(inbox):
    old = datetime.now(SHANGHAI) - timedelta(hours=49)
    inbox.push(content="三天前的留言", from_user="oLateUser001", create_time=int(old.timestamp()))
    [message] = inbox.sponsor.get("/api/v1/messages").get_json()["items"]
    assert message["reply_window_open"] is False
    response = inbox.sponsor.post(f"/api/v1/messages/{message['id']}/reply", {"text": "您好"})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "reply_window_closed"
    assert "48" in error["message"] and (old + timedelta(hours=48)).strftime(
        "%Y-%m-%d %H:%M") in error["message"]
    assert inbox.sent() == []
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(MessageReply)) == 0


def test_the_platforms_own_refusal_fails_the_reply_and_leaves_the_message_open(inbox):
    inbox.push(content="在吗", from_user="oEdgeUser001")
    [message] = inbox.sponsor.get("/api/v1/messages").get_json()["items"]
    inbox.fault(path="/cgi-bin/message/custom/send", errcode=45015, times=1)
    response = inbox.sponsor.post(f"/api/v1/messages/{message['id']}/reply", {"text": "您好"})
    assert response.status_code == 201
    after = inbox.sponsor.get(f"/api/v1/messages/{message['id']}").get_json()
    assert after["status"] == "open"
    [reply] = after["replies"]
    assert reply["status"] == "failed" and reply["error_code"] == "45015"
    assert "48" in reply["error"]
    assert inbox.sent() == []


def test_reply_roles_and_body_are_checked(inbox, login):
    inbox.push(content="咨询", from_user="oRoleUser001")
    [message] = inbox.sponsor.get("/api/v1/messages").get_json()["items"]
    path = f"/api/v1/messages/{message['id']}/reply"
    assert inbox.supervisor.post(path, {"text": "您好"}).status_code == 403
    assert inbox.sponsor_b.post(path, {"text": "您好"}).status_code == 403
    empty = inbox.sponsor.post(path, {"text": "   "})
    assert empty.status_code == 400 and "text" in empty.get_json()["error"]["fields"]
    assert inbox.sponsor.post(path, {"text": "长" * 601}).status_code == 400
    assert inbox.sent() == []


def test_a_reply_whose_job_was_lost_is_sent_by_the_sweep_once(inbox, app):
    inbox.push(content="有人吗", from_user="oLostJob0001")
    [message] = inbox.sponsor.get("/api/v1/messages").get_json()["items"]
    app.config["TEST_RUN_JOBS"] = False   # the request's job is "lost": nobody runs it
    assert inbox.sponsor.post(f"/api/v1/messages/{message['id']}/reply",
                              {"text": "在的"}).status_code == 201
    Redis.from_url(app.config["REDIS_URL"]).flushdb()
    assert sweep_replies() == 0            # not yet two minutes past due
    reply = db.session.scalar(select(MessageReply))
    reply.next_attempt_at = utcnow() - timedelta(minutes=3)
    db.session.commit()
    assert sweep_replies() == 1
    assert sweep_replies() == 1            # twice enqueued, still one message sent
    run_burst(app)
    assert [m["content"] for m in inbox.sent()] == ["在的"]
    db.session.rollback()
    assert db.session.get(MessageReply, reply.id).status == "sent"


def test_overdue_messages_are_counted_on_the_supervision_dashboard(inbox, app):
    from conftest import PASSWORD

    old = datetime.now(SHANGHAI) - timedelta(days=20)
    inbox.push(content="二十天前的留言", from_user="oOverdue0001", create_time=int(old.timestamp()))
    inbox.push(content="今天的留言", from_user="oFresh000001")
    summary = inbox.supervisor.get("/api/v1/supervision/summary").get_json()
    assert summary["overdue_messages"] == 1
    [unit_a] = [u for u in summary["units"] if u["unit_id"] == inbox.unit_id]
    assert unit_a["overdue_messages"] == 1
    assert all(u["overdue_messages"] == 0 for u in summary["units"] if u is not unit_a)
    before = inbox.supervisor.get("/api/v1/supervision/summary",
                                  as_of=(old + timedelta(days=1)).date().isoformat()).get_json()
    assert before["overdue_messages"] == 0
    browser = app.test_client()
    assert browser.post("/login", data={"username": "supervisor",
                                        "password": PASSWORD}).status_code == 302
    page = browser.get("/supervision").get_data(as_text=True)
    assert 'id="overdue-messages">1</a>' in page and "条网民留言逾期未答复" in page


def test_response_rate_and_median_response_time_per_account_and_unit(inbox):
    two_hours_ago = datetime.now(SHANGHAI) - timedelta(hours=2)
    inbox.push(content="第一问", from_user="oStatsA00001", create_time=int(two_hours_ago.timestamp()))
    inbox.push(content="第二问", from_user="oStatsA00001")
    inbox.push(content="另一人的问题", from_user="oStatsB00001")
    asked = next(m for m in inbox.sponsor.get("/api/v1/messages").get_json()["items"]
                 if m["text"] == "第二问")
    assert inbox.sponsor.post(f"/api/v1/messages/{asked['id']}/reply",
                              {"text": "已答复"}).status_code == 201
    stats = inbox.supervisor.get("/api/v1/messages/stats").get_json()
    assert (stats["received"], stats["answered"]) == (3, 2)
    assert stats["response_rate"] == round(2 / 3, 4)
    # The reply answered both of the first sender's messages: 2 hours and a moment.
    assert 0 < stats["median_response_hours"] < 2.1
    [account] = stats["accounts"]
    assert (account["account_id"], account["received"], account["answered"]) == (
        inbox.account_id, 3, 2)
    [unit] = stats["units"]
    assert unit["unit_id"] == inbox.unit_id and unit["response_rate"] == round(2 / 3, 4)
    earlier = inbox.supervisor.get("/api/v1/messages/stats", since="2026-01-01",
                                   until="2026-01-31").get_json()
    assert earlier["received"] == 0 and earlier["response_rate"] is None
    assert inbox.sponsor_b.get("/api/v1/messages/stats").get_json()["received"] == 0
    assert inbox.sponsor_b.get("/api/v1/messages/stats",
                               unit_id=inbox.unit_id).status_code == 403
    assert inbox.supervisor.get("/api/v1/messages/stats", since="2026-02-01",
                                until="2026-01-01").status_code == 400


# --- Weibo comments -----------------------------------------------------------------------------

def test_weibo_comments_are_pulled_once_each_and_answered_with_comments_reply(inbox, standin):
    token = next(iter(DEFAULT_WEIBO_TOKENS))
    weibo = inbox.sponsor.post("/api/v1/accounts", account_body(
        inbox.unit_id, platform="weibo", handle="7000000001")).get_json()
    assert inbox.sponsor.put(f"/api/v1/accounts/{weibo['id']}/credentials",
                             {"access_token": token}).status_code == 204

    def comment(text):
        answer = requests.post(f"{standin}/_standin/weibo/comments",
                               json={"access_token": token, "text": text}, timeout=5)
        answer.raise_for_status()
        return answer.json()

    first, _second = comment("请问公积金怎么提取？"), comment("为什么办事大厅周六不开门？")
    assert pull_weibo_comments() == 2
    assert pull_weibo_comments() == 0      # the cursor: nothing pulled twice
    comment("谢谢解答")
    assert pull_weibo_comments() == 1
    assert stored() == 3
    listed = inbox.editor.get("/api/v1/messages", account_id=weibo["id"]).get_json()
    message = next(m for m in listed["items"] if m["text"] == "请问公积金怎么提取？")
    assert message["platform"] == "weibo" and message["thread_id"] == first["status"]["idstr"]
    assert message["reply_window_open"] is True and message["reply_window_closes_at"] is None
    too_long = inbox.editor.post(f"/api/v1/messages/{message['id']}/reply", {"text": "长" * 141})
    assert too_long.status_code == 400
    reply = inbox.editor.post(f"/api/v1/messages/{message['id']}/reply",
                              {"text": "可登录公积金中心网站办理。"})
    assert reply.status_code == 201, reply.get_json()
    comments = requests.get(f"{standin}/_standin/weibo/comments", timeout=5).json()["items"]
    [answer] = [c for c in comments if c.get("reply_comment")]
    assert answer["text"] == "可登录公积金中心网站办理。"
    assert answer["reply_comment"]["idstr"] == first["idstr"]
    after = inbox.editor.get(f"/api/v1/messages/{message['id']}").get_json()
    assert after["status"] == "answered" and after["replies"][0]["status"] == "sent"
    assert pull_weibo_comments() == 0      # the account's own reply is not a message to it


# --- the knowledge base of answers ---------------------------------------------------------------

def test_reference_answers_are_suggested_for_similar_messages_edited_retired_and_counted(inbox):
    inbox.push(content="请问公积金怎么提取？", from_user="oKbUser00001")
    [first] = inbox.editor.get("/api/v1/messages").get_json()["items"]
    assert inbox.editor.post(f"/api/v1/messages/{first['id']}/reply",
                             {"text": "可登录公积金中心网站办理提取。"}).status_code == 201
    saved = inbox.editor.post("/api/v1/answers", {"message_id": first["id"],
                                                  "topic": "公积金提取"})
    assert saved.status_code == 201, saved.get_json()
    assert saved.get_json()["answer"] == "可登录公积金中心网站办理提取。"   # the reply sent
    other = inbox.sponsor.post("/api/v1/answers", {
        "unit_id": inbox.unit_id, "topic": "路灯报修", "question": "路灯坏了没人修",
        "answer": "请拨打12345热线报修。"})
    assert other.status_code == 201
    assert inbox.sponsor_b.post("/api/v1/answers", {
        "unit_id": inbox.unit_id, "topic": "越权", "answer": "x"}).status_code == 403
    assert inbox.supervisor.post("/api/v1/answers", {
        "unit_id": inbox.unit_id, "topic": "越权", "answer": "x"}).status_code == 403

    inbox.push(content="公积金提取要带什么材料", from_user="oKbUser00002")
    new = next(m for m in inbox.editor.get("/api/v1/messages").get_json()["items"]
               if m["sender"] == "oKbUser00002")
    found = inbox.editor.get(f"/api/v1/messages/{new['id']}/suggestions").get_json()
    assert [a["topic"] for a in found["items"]] == ["公积金提取"]
    lamp = inbox.sponsor.get(f"/api/v1/messages/{new['id']}/suggestions").get_json()
    assert "路灯报修" not in [a["topic"] for a in lamp["items"]]
    answer_id = found["items"][0]["id"]
    used = inbox.editor.post(f"/api/v1/messages/{new['id']}/reply",
                             {"text": found["items"][0]["answer"], "answer_id": answer_id})
    assert used.status_code == 201
    listed = {a["id"]: a for a in inbox.editor.get("/api/v1/answers").get_json()["items"]}
    assert listed[answer_id]["uses"] == 1
    edited = inbox.editor.patch(f"/api/v1/answers/{answer_id}",
                                {"answer": "可在公积金中心网站或窗口办理提取。"})
    assert edited.status_code == 200 and edited.get_json()["answer"].startswith("可在")
    assert inbox.editor.patch(f"/api/v1/answers/{answer_id}",
                              {"retired": True}).status_code == 200
    assert inbox.editor.get(f"/api/v1/messages/{new['id']}/suggestions").get_json()[
        "items"] == []
    assert answer_id not in [a["id"] for a in
                             inbox.editor.get("/api/v1/answers").get_json()["items"]]
    assert inbox.sponsor_b.get("/api/v1/answers").get_json()["total"] == 0


# --- the page ------------------------------------------------------------------------------------

def test_inbox_page_lists_filters_replies_and_says_when_the_window_closed(inbox, app):
    from conftest import PASSWORD

    old = datetime.now(SHANGHAI) - timedelta(hours=50)
    inbox.push(content="旧留言", from_user="oOldUser0001", create_time=int(old.timestamp()))
    inbox.push(content="新留言", from_user="oNewUser0001")
    browser = app.test_client()
    assert browser.post("/login", data={"username": "editor_a",
                                        "password": PASSWORD}).status_code == 302
    page = browser.get("/inbox").get_data(as_text=True)
    assert "旧留言" in page and "新留言" in page
    assert page.count('name="text"') == 1            # only the open window has a form
    assert "回复窗口已于" in page
    english = browser.get("/inbox?lang=en").get_data(as_text=True)
    assert "Reply window closed on" in english
    new_id = db.session.scalar(select(Message.id).where(Message.sender == "oNewUser0001"))
    sent = browser.post(f"/inbox/{new_id}/reply", data={"text": "已收到，正在办理。"})
    assert sent.status_code == 302
    assert [m["content"] for m in inbox.sent()] == ["已收到，正在办理。"]
    answered = browser.get("/inbox?status=answered").get_data(as_text=True)
    assert "新留言" in answered and "旧留言" not in answered
    old_id = db.session.scalar(select(Message.id).where(Message.sender == "oOldUser0001"))
    refused = browser.post(f"/inbox/{old_id}/reply", data={"text": "迟到的回复"},
                           follow_redirects=True)
    assert "48" in refused.get_data(as_text=True)
    assert len(inbox.sent()) == 1
    # The reply becomes a reference answer, offered (escaped) for a similar message, and a
    # reply with it is counted.
    assert browser.post(f"/inbox/{new_id}/answer",
                        data={"topic": "新留言<script>x</script>"}).status_code == 302
    inbox.push(content="又一条新留言", from_user="oNewUser0002")
    offered = browser.get("/inbox?status=open").get_data(as_text=True)
    assert "用此口径回复" in offered and "新留言&lt;script&gt;" in offered
    assert "<script>x</script>" not in offered
    third = db.session.scalar(select(Message.id).where(Message.sender == "oNewUser0002"))
    answer_id = db.session.scalar(select(ReferenceAnswer.id))
    assert browser.post(f"/inbox/{third}/reply", data={
        "text": "已收到，正在办理。", "answer_id": str(answer_id)}).status_code == 302
    db.session.rollback()
    assert db.session.get(ReferenceAnswer, answer_id).uses == 1
    assert len(inbox.sent()) == 2


# --- the embedded run ------------------------------------------------------------------------------

def test_the_demo_accounts_receive_follower_messages_from_the_standin(app, standin, served):
    requests.post(f"{standin}/_standin/reset", timeout=5).raise_for_status()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "--password", "Demo-pass-123"]).exit_code == 0
    for _ in range(2):   # `make run` again: the same messages, stored once
        result = runner.invoke(args=["demo-messages", "--standin", standin, "--base", served])
        assert result.exit_code == 0, result.output
        assert result.output.count("HTTP 200 success") == 2, result.output
        run_burst(app)   # the drain the callbacks enqueued
    assert stored() == 2
    texts = set(db.session.scalars(select(Message.text)))
    assert "小区门口的路灯坏了一个星期了，什么时候能修？" in texts   # the safe-mode one


def test_a_sponsor_hands_a_message_to_someone_of_the_unit_who_is_told(inbox, app, login):
    from govmedia.models import AuditEntry, Notification, User
    inbox.push(content="路灯坏了请修一下", from_user="oAsker000009")
    [message] = inbox.sponsor.get("/api/v1/messages").get_json()["items"]
    path = f"/api/v1/messages/{message['id']}/assign"
    editor = db.session.scalar(select(User).where(User.username == "editor_a"))
    # only a sponsor of the unit assigns, and only to someone of the unit who may reply
    assert inbox.editor.post(path, {"assignee_id": editor.id}).status_code == 403
    assert inbox.sponsor_b.post(path, {"assignee_id": editor.id}).status_code == 403
    outsider = make_user("reviewer_a", ["reviewer"], inbox.unit_id)
    refused = inbox.sponsor.post(path, {"assignee_id": outsider.id})
    assert refused.status_code == 400
    assert "assignee_id" in refused.get_json()["error"]["fields"]
    done = inbox.sponsor.post(path, {"assignee_id": editor.id})
    assert done.status_code == 200 and done.get_json()["assignee_id"] == editor.id
    mine = inbox.editor.get("/api/v1/messages", assignee_id=editor.id).get_json()
    assert [m["id"] for m in mine["items"]] == [message["id"]]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "message.assign"))
    assert entry.before == {"assignee_id": None} and entry.after == {"assignee_id": editor.id}
    told = db.session.scalars(select(Notification).where(
        Notification.user_id == editor.id, Notification.kind == "message_assigned")).all()
    assert len(told) == 1 and "路灯坏了" in told[0].text
    # the pages: the sponsor's form hands it back to nobody, the editor filters "assigned to me"
    def page(username):
        browser = app.test_client()
        assert browser.post("/login", data={"username": username,
                                            "password": PASSWORD}).status_code == 302
        return browser
    editor_page = page("editor_a")
    listed = editor_page.get("/inbox?mine=1").get_data(as_text=True)
    assert f'id="message-{message["id"]}"' in listed and "assign-form" not in listed
    sponsor_page = page("sponsor_a")
    shown = sponsor_page.get("/inbox").get_data(as_text=True)
    assert "assign-form" in shown and f'value="{editor.id}" selected' in shown
    assert sponsor_page.post(f"/inbox/{message['id']}/assign",
                             data={"assignee_id": ""}).status_code == 302
    assert message["id"] not in [m["id"] for m in inbox.editor.get(
        "/api/v1/messages", assignee_id=editor.id).get_json()["items"]]


def test_answers_holding_every_word_come_before_those_holding_some(inbox):
    def save(topic, question):
        made = inbox.sponsor.post("/api/v1/answers", {"unit_id": inbox.unit_id, "topic": topic,
                                                      "question": question, "answer": "答复"})
        assert made.status_code == 201, made.get_json()
        return made.get_json()["id"]
    # the answer holding every word leads; one holding three of the four words (each many
    # times) still comes after it, from the any-word search; an unrelated one never
    partial = save("社保卡丢了 社保卡丢了 社保卡丢了", "社保卡丢了 社保卡丢了 社保卡丢了 社保卡丢了")
    full = save("社保卡补办", "社保卡丢了怎么补办")
    unrelated = save("路灯报修", "路灯坏了没人修")
    inbox.push(content="社保卡丢了怎么补办", from_user="oKbUser00003")
    message = next(m for m in inbox.editor.get("/api/v1/messages").get_json()["items"]
                   if m["sender"] == "oKbUser00003")
    found = [a["id"] for a in inbox.editor.get(
        f"/api/v1/messages/{message['id']}/suggestions").get_json()["items"]]
    assert found[0] == full and partial in found and unrelated not in found


def test_new_messages_are_told_to_the_units_repliers_once_per_account_and_minute(inbox, app):
    """Issue 12: "a message in the inbox" tells the people who answer it: one notification
    per account and run (a burst is one line, not a flood), from a job, not in the callback."""
    from interaction.arrivals import tell_new_messages

    for n, text in enumerate(("请问社保卡在哪里办理？", "路灯坏了", "谢谢")):
        assert inbox.push(content=text, from_user=f"oUser000{n}")["status"] == 200
    assert not [n for n in inbox.editor.get("/api/v1/notifications").get_json()["items"]
                if n["kind"] == "message_received"]        # the callback told nobody
    assert tell_new_messages() == 3
    run_burst(app)
    for who in (inbox.editor, inbox.sponsor):
        told = [n for n in who.get("/api/v1/notifications").get_json()["items"]
                if n["kind"] == "message_received"]
        assert len(told) == 1, told
        assert "3 条新留言" in told[0]["text"] and "请问社保卡在哪里办理？" in told[0]["text"]
        assert told[0]["link"] == f"/inbox?account_id={inbox.account_id}"
    assert not inbox.sponsor_b.get("/api/v1/notifications").get_json()["items"]
    assert tell_new_messages() == 0                       # each message is told of once
    assert inbox.push(content="还有一个问题", from_user="oUser0009")["status"] == 200
    assert tell_new_messages() == 1
    run_burst(app)
    assert len([n for n in inbox.editor.get("/api/v1/notifications").get_json()["items"]
                if n["kind"] == "message_received"]) == 2
    assert "new_messages" in app.extensions["govmedia_periodic"]


def test_the_inbox_picks_its_account_by_search_not_from_every_account(inbox, app):
    """Issue 12: no flat drop-down of every account in reach: the inbox's account filter is
    the searchable picker, and a chosen account stays chosen."""
    from conftest import PASSWORD

    inbox.push(content="请问办事时间？", from_user="oPickUser0001")
    browser = app.test_client()
    assert browser.post("/login", data={"username": "editor_a",
                                        "password": PASSWORD}).status_code == 302
    page = browser.get("/inbox").get_data(as_text=True)
    assert "data-account-picker" in page and 'name="account_q"' in page
    none = browser.get("/inbox?account_q=没有这个账号").get_data(as_text=True)
    assert f'<option value="{inbox.account_id}"' not in none
    chosen = browser.get(f"/inbox?account_id={inbox.account_id}&account_q=没有这个账号")
    body = chosen.get_data(as_text=True)
    assert f'<option value="{inbox.account_id}" selected' in body and "请问办事时间？" in body
