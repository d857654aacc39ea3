"""Issue 12: people are told what waits for them (govmedia.notify): in the product and by
e-mail, once per key, through the queue after the commit, each kind turned off per user."""
import pytest
from conftest import make_user
from sqlalchemy import select

from govmedia.extensions import db
from govmedia.models import Notification, NotificationAddress, User
from govmedia.notify import deliver_notifications, notify
from govmedia.worker import run_burst
from test_pages import html, page_client
from test_publisher_api import create, pub, review, submit  # noqa: F401 - fixture
from test_supervision_work import smtp_server  # noqa: F401 - fixture


def notes(username):
    db.session.expire_all()
    user_id = db.session.scalar(select(User.id).where(User.username == username))
    return [(n.kind, n.link) for n in db.session.scalars(
        select(Notification).where(Notification.user_id == user_id).order_by(Notification.id))]


def test_the_three_reviews_tell_the_next_person_and_the_drafter(pub, run_jobs):  # noqa: F811
    article = create(pub)
    assert submit(pub, article["id"], confirmations=[]).status_code == 200
    assert notes("reviewer") == []   # nothing before the job runs: not in the request
    run_jobs()
    link = f"/articles/{article['id']}"
    assert notes("reviewer") == [("article_waiting", link)]
    assert ("article_waiting", link) in notes("both")
    assert notes("editor") == [] and notes("signer") == []
    assert review(pub.reviewer, article["id"]).status_code == 200
    run_jobs()
    assert notes("signer") == [("article_waiting", link)]
    # the reviewer and signer of stage 2 may not sign: not told
    assert notes("reviewer") == [("article_waiting", link)]
    assert review(pub.signer, article["id"]).status_code == 200
    run_jobs()
    told = notes("editor")
    assert told[0] == ("article_signed_off", link)
    # the deliveries ran: no credentials were set, so each failed, and the drafter is told
    assert told[1:] == [("delivery_failed", link)] * 2
    texts = db.session.scalars(select(Notification.text).where(
        Notification.kind == "delivery_failed")).all()
    assert all("未能发布到“某县发布”" in t for t in texts)

    returned = create(pub, title="县政府召开专题会议")
    submit(pub, returned["id"], confirmations=[])
    review(pub.reviewer, returned["id"], "reject", "数据需要核实")
    run_jobs()
    [(kind, _link)] = [n for n in notes("editor") if n[1] == f"/articles/{returned['id']}"]
    assert kind == "article_returned"
    text = db.session.scalars(select(Notification.text).where(
        Notification.kind == "article_returned")).one()
    assert "数据需要核实" in text and "县政府召开专题会议" in text


def test_each_notification_is_sent_once_and_a_muted_kind_not_at_all(app, world):
    make_user("ed", ["editor"], world.unit_a["id"])
    ids = [db.session.scalar(select(User.id).where(User.username == name))
           for name in ("sponsor_a", "ed")]
    params = {"title": "标题", "comment": "请修改"}
    assert deliver_notifications(ids, "article_returned", "/articles/1", params, "k:1") == 2
    assert deliver_notifications(ids, "article_returned", "/articles/1", params, "k:1") == 0
    client = page_client(app, "ed")
    response = client.post("/profile/notifications",
                           data={"on": ["article_waiting", "article_signed_off"]})
    assert response.status_code == 302
    assert deliver_notifications(ids, "article_returned", "/articles/2", params, "k:2") == 1
    assert notes("ed") == [("article_returned", "/articles/1")]
    api = world.sponsor_a.put("/api/v1/me/notification-settings",
                              {"off": ["article_returned"]}).get_json()
    assert api["notifications_off"] == ["article_returned"]
    assert deliver_notifications(ids, "article_returned", "/articles/3", params, "k:3") == 0
    page = html(client.get("/profile"))
    assert 'id="kind-article_returned"' in page and "我的稿件被退回" in page


def test_notify_refuses_an_unknown_kind_and_waits_for_the_commit(app, world):
    with pytest.raises(ValueError):
        notify([1], "made_up", None, {}, key="x")
    user_id = db.session.scalar(select(User.id).where(User.username == "sponsor_a"))
    notify([user_id], "rectification_answered", "/x", {"id": 9, "answer": "已整改"}, key="r:9")
    db.session.rollback()   # the change it belonged to did not happen: nothing is sent
    run_burst(app)
    assert notes("sponsor_a") == []


def test_rectification_orders_and_answers_are_told_by_email_too(app, world, smtp_server):  # noqa: F811
    port, handler = smtp_server
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_FROM="govmedia@example.org")
    sponsor_id = db.session.scalar(select(User.id).where(User.username == "sponsor_a"))
    db.session.add(NotificationAddress(user_id=sponsor_id, email="sponsor@example.org"))
    db.session.commit()
    order = world.supervisor.post("/api/v1/supervision/rectifications", {
        "unit_id": world.unit_a["id"], "kind": "other", "finding": "账号简介缺少主办单位"})
    assert order.status_code == 201, order.get_json()
    order_id = order.get_json()["id"]
    assert notes("sponsor_a") == [("rectification_order",
                                   f"/supervision/rectifications/{order_id}")]
    assert len(handler.messages) == 1
    rcpt, body = handler.messages[0]
    assert rcpt == ["sponsor@example.org"] and "账号简介缺少主办单位" in body
    answered = world.sponsor_a.post(f"/api/v1/supervision/rectifications/{order_id}/answer",
                                    {"answer": "已补充主办单位"})
    assert answered.status_code == 200, answered.get_json()
    assert notes("supervisor") == [("rectification_answered",
                                    f"/supervision/rectifications/{order_id}")]
    assert len(handler.messages) == 1   # the supervisor set no address


def test_the_bell_shows_the_unread_count(app, world):
    user_id = db.session.scalar(select(User.id).where(User.username == "sponsor_a"))
    deliver_notifications([user_id], "rectification_order", "/supervision/rectifications/1",
                          {"id": 1, "deadline": "2026-12-20", "finding": "x"}, "b:1")
    page = html(page_client(app, "sponsor_a").get("/profile"))
    assert 'id="bell"' in page and 'id="bell-count">1<' in page


def test_e_mails_speak_the_language_their_reader_chose(app, world, smtp_server):  # noqa: F811
    """The job writes in Chinese; a reader who chose English on the pages gets English e-mails
    (the choice is kept with the user), and a new session of theirs starts in English."""
    port, handler = smtp_server
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_FROM="govmedia@example.org")
    sponsor_id = db.session.scalar(select(User.id).where(User.username == "sponsor_a"))
    db.session.add(NotificationAddress(user_id=sponsor_id, email="sponsor@example.org"))
    db.session.commit()
    page = page_client(app, "sponsor_a")
    assert page.get("/lang/en").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, sponsor_id).language == "en"

    order = world.supervisor.post("/api/v1/supervision/rectifications", {
        "unit_id": world.unit_a["id"], "kind": "other", "finding": "账号简介缺少主办单位"})
    assert order.status_code == 201, order.get_json()
    [(rcpt, body)] = handler.messages
    assert rcpt == ["sponsor@example.org"]
    assert f"Rectification order {order.get_json()['id']}, due" in body
    assert "(This e-mail was sent automatically)" in body and "整改单" not in body
    stored = db.session.scalars(select(Notification.text).where(
        Notification.user_id == sponsor_id)).one()
    assert stored.startswith("整改单")           # as the job wrote it

    fresh = app.test_client()
    fresh.post("/login", data={"username": "sponsor_a", "password": "Passw0rd-test"})
    assert '<html lang="en">' in fresh.get("/profile").get_data(as_text=True)
    page.get("/lang/zh")
    db.session.expire_all()
    assert db.session.get(User, sponsor_id).language == "zh"
