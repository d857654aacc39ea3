"""Publishing tasks (issue 15; shared/API.md "Publishing tasks"): a target on a platform
without a publishing API gets a delivery in status `task` and a task for the account's staff;
the task is done by pasting the post's URL (on the platform's own host), which records a
post that counts for the update rule. Against the stand-in platforms for WeChat."""
import base64
import io
from datetime import date, timedelta

import chinese_calendar
import pytest
from conftest import account_body, make_user
from PIL import Image
from sqlalchemy import func, select
from flask import current_app
from test_fanout import Standin, build_newsroom, page_login, png_base64, publish

from standins import serve_in_thread
from govmedia.extensions import db
from govmedia.types import today_shanghai, utcnow
from publisher.models import Delivery
from registry.models import Post
from registry.supervision.jobs import create_notifications
from registry.supervision.models import Notification

FIELDS = {"id", "delivery_id", "article_id", "account_id", "platform", "text", "due_on",
          "status", "post_url", "done_at"}
LONG_BODY = "<p>" + "会议要求各部门压实安全生产责任，切实做好冬季安全防范工作。" * 80 + "</p>"


@pytest.fixture(scope="module")
def standin_url():
    server, url = serve_in_thread("127.0.0.1", 0)
    yield url
    server.shutdown()


@pytest.fixture
def room(app, world, login, standin_url):
    import requests

    requests.post(f"{standin_url}/_standin/reset", timeout=5).raise_for_status()
    newsroom = build_newsroom(world, login, app.config, standin_url)
    # A WeChat publish settles at the first look (follow-ups: tests/test_fanout_followup.py).
    Standin(standin_url).config(wechat_publish_polls=0)
    a = world.unit_a["id"]
    newsroom.accounts = {}
    for platform, handle in (("kuaishou", "ks-100"), ("bilibili", "3001"), ("douyin", "dy-1"),
                             ("toutiao", "tt-1"), ("app", "cn.gov.a.app"),
                             ("channels", "sphA1b2C3d4")):
        body = account_body(a, platform=platform, handle=handle, name=f"某县发布{platform}",
                            opened_on="2024-01-02")
        created = world.sponsor_a.post("/api/v1/accounts", body)
        assert created.status_code == 201, created.get_json()
        newsroom.accounts[platform] = created.get_json()["id"]
    newsroom.world = world
    newsroom.standin_url = standin_url
    return newsroom


def tasks_of(api, **params):
    response = api.get("/api/v1/tasks", **params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def workdays_after(day: date, n: int) -> date:
    """An oracle independent of the product's calendar code: chinese_calendar itself."""
    while n:
        day += timedelta(days=1)
        n -= chinese_calendar.is_workday(day)
    return day


def by_platform(tasks) -> dict:
    return {t["platform"]: t for t in tasks["items"]}


def test_sign_off_makes_tasks_for_platforms_without_an_api_and_never_enqueues_them(room):
    targets = [room.wechat_id, room.accounts["kuaishou"], room.accounts["bilibili"],
               room.accounts["douyin"], room.accounts["app"]]
    article = publish(room, targets=targets, body_html=LONG_BODY)
    deliveries = {d["platform"]: d for d in room.editor.get(
        f"/api/v1/articles/{article['id']}").get_json()["deliveries"]}
    assert deliveries["wechat"]["status"] == "sent"
    for platform in ("kuaishou", "bilibili", "douyin", "app"):
        assert deliveries[platform]["status"] == "task", deliveries[platform]
        assert deliveries[platform]["attempts"] == 0
    rows = db.session.scalars(select(Delivery).where(Delivery.status == "task")).all()
    assert len(rows) == 4 and all(r.enqueued_at is None for r in rows)  # no job, ever
    shown = room.editor.get(f"/api/v1/articles/{article['id']}").get_json()
    assert shown["status"] == "publishing"  # waits for the people

    tasks = tasks_of(room.editor)
    assert tasks["total"] == 4
    item = by_platform(tasks)["kuaishou"]
    assert set(item) >= FIELDS
    assert item["status"] == "open" and item["post_url"] is None and item["done_at"] is None
    assert item["delivery_id"] == deliveries["kuaishou"]["id"]
    assert item["article_id"] == article["id"]
    assert item["account_id"] == room.accounts["kuaishou"]
    assert item["due_on"] == workdays_after(today_shanghai(), 2).isoformat()
    # Copy-ready: cut to Kuaishou's 500 characters, the link to the original kept whole.
    assert len(item["text"]) <= 500 and item["text"].endswith(article["source_url"])
    assert "…" in item["text"]
    assert len(by_platform(tasks)["bilibili"]["text"]) <= 2000
    assert by_platform(tasks)["bilibili"]["text"].startswith("会议要求")
    assert len(by_platform(tasks)["app"]["text"]) > 2000  # an app's CMS: no cut


def test_the_list_filters_and_stays_in_the_unit(room, login):
    publish(room, targets=[room.accounts["kuaishou"], room.accounts["toutiao"]])
    assert tasks_of(room.editor, account_id=room.accounts["toutiao"])["total"] == 1
    assert tasks_of(room.editor, status="open")["total"] == 2
    assert tasks_of(room.editor, status="done")["total"] == 0
    later = workdays_after(today_shanghai(), 3).isoformat()
    assert tasks_of(room.editor, status="overdue", as_of=later)["total"] == 2
    assert tasks_of(room.editor, limit=1)["total"] == 2
    assert len(tasks_of(room.editor, limit=1)["items"]) == 1
    assert tasks_of(room.supervisor)["total"] == 2
    b = room.world.unit_b["id"]
    make_user("editor_b", ["editor"], b)
    other = login("editor_b")
    assert tasks_of(other)["total"] == 0
    refused = other.get("/api/v1/tasks", unit_id=room.world.unit_a["id"])
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert room.editor.get("/api/v1/tasks", status="late").status_code == 400


@pytest.mark.parametrize("url", [
    "https://v.douyin.com/iRNBho6u/",                 # another platform's post
    "https://www.kuaishou.com.evil.example/short-video/3x",  # a look-alike host
    "https://evil.example/?next=https://www.kuaishou.com/",
    "https://www.kuaishou.com@evil.example/x",         # user info before another host
    "javascript:alert(1)//kuaishou.com",
    "ftp://www.kuaishou.com/x",
    "",
])
def test_a_url_off_the_platforms_own_host_is_refused(room, url):
    publish(room, targets=[room.accounts["kuaishou"]])
    task = tasks_of(room.editor)["items"][0]
    response = room.editor.post(f"/api/v1/tasks/{task['id']}/complete", {"post_url": url})
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and "post_url" in error["fields"]
    assert tasks_of(room.editor)["items"][0]["status"] == "open"
    assert db.session.scalar(select(func.count()).select_from(Post).where(
        Post.account_id == room.accounts["kuaishou"])) == 0


def test_completing_records_the_post_sends_the_delivery_and_closes_the_article(room):
    article = publish(room, targets=[room.accounts["kuaishou"], room.accounts["bilibili"]])
    tasks = by_platform(tasks_of(room.editor))
    url = "https://www.kuaishou.com/short-video/3xabc123"
    done = room.editor.post(f"/api/v1/tasks/{tasks['kuaishou']['id']}/complete",
                            {"post_url": url, "screenshot_base64": png_base64()})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["status"] == "done" and body["post_url"] == url and body["done_at"]
    assert body["screenshot"]["mime"] == "image/png"
    delivery = room.editor.get(f"/api/v1/deliveries/{body['delivery_id']}").get_json()
    assert delivery["status"] == "sent" and delivery["post_url"] == url
    posts = db.session.execute(select(Post.url, Post.source).where(
        Post.account_id == room.accounts["kuaishou"])).all()
    assert posts == [(url, "task")]
    shown = room.editor.get(f"/api/v1/articles/{article['id']}").get_json()
    assert shown["status"] == "publishing"  # Bilibili's task is still open

    # The same request again: the same answer, still one post. Another URL: 409.
    again = room.editor.post(f"/api/v1/tasks/{tasks['kuaishou']['id']}/complete",
                             {"post_url": url})
    assert again.status_code == 200 and again.get_json()["post_url"] == url
    other = room.editor.post(f"/api/v1/tasks/{tasks['kuaishou']['id']}/complete",
                             {"post_url": "https://www.kuaishou.com/short-video/other"})
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "already_done"
    assert db.session.scalar(select(func.count()).select_from(Post).where(
        Post.account_id == room.accounts["kuaishou"])) == 1
    # The same post cannot be pasted for another task.
    reused = room.sponsor.post(f"/api/v1/tasks/{tasks['bilibili']['id']}/complete",
                               {"post_url": url})
    assert reused.status_code == 400 and "post_url" in reused.get_json()["error"]["fields"]

    short = room.sponsor.post(f"/api/v1/tasks/{tasks['bilibili']['id']}/complete",
                              {"post_url": "https://b23.tv/AbCd12"})
    assert short.status_code == 200, short.get_json()
    shown = room.editor.get(f"/api/v1/articles/{article['id']}").get_json()
    assert shown["status"] == "published"
    assert tasks_of(room.editor, status="done")["total"] == 2


def _image(fmt: str) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 30, 30)).save(buffer, format=fmt)
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize("shot, problem", [
    (base64.b64encode(b"\x89PNG\r\n\x1a\nnot really a png").decode(), "not a PNG or JPEG"),
    (None, "not a PNG or JPEG"),   # a GIF
    ("%%%not base64%%%", "not valid base64"),
    ("large", "larger than"),
])
def test_a_screenshot_is_checked_by_its_content_and_size(room, app, shot, problem):
    app.config["PUBLISHING_TASK_SCREENSHOT_MAX_BYTES"] = 2000
    if shot is None:
        shot = _image("GIF")
    if shot == "large":
        shot = base64.b64encode(b"\x00" * 3000).decode()
    publish(room, targets=[room.accounts["bilibili"]])
    task = tasks_of(room.editor)["items"][0]
    response = room.editor.post(f"/api/v1/tasks/{task['id']}/complete", {
        "post_url": "https://www.bilibili.com/video/BV1xx411c7mD", "screenshot_base64": shot})
    assert response.status_code == 400, response.get_json()
    assert problem in response.get_json()["error"]["fields"]["screenshot_base64"]
    assert tasks_of(room.editor)["items"][0]["status"] == "open"
    jpeg = room.editor.post(f"/api/v1/tasks/{task['id']}/complete", {
        "post_url": "https://www.bilibili.com/video/BV1xx411c7mD",
        "screenshot_base64": _image("JPEG")})
    assert jpeg.status_code == 200 and jpeg.get_json()["screenshot"]["mime"] == "image/jpeg"


def test_who_may_complete(room, login):
    publish(room, targets=[room.accounts["toutiao"]])
    task = tasks_of(room.editor)["items"][0]
    path = f"/api/v1/tasks/{task['id']}/complete"
    good = {"post_url": "https://www.toutiao.com/article/7300000000000000000/"}
    assert room.reviewer.post(path, good).status_code == 403
    assert room.supervisor.post(path, good).status_code == 403
    make_user("editor_b", ["editor"], room.world.unit_b["id"])
    assert login("editor_b").post(path, good).status_code == 403
    assert room.editor.post("/api/v1/tasks/999999/complete", good).status_code == 404
    assert room.sponsor.post(path, good).status_code == 200


def test_a_task_completed_by_url_counts_as_an_update(room):
    """The Kuaishou account opened long ago and never posted: dormant. Its task, completed
    by URL, is an update (rule 5): it leaves the dormant list."""
    def dormant_ids():
        response = room.supervisor.get("/api/v1/supervision/dormant")
        assert response.status_code == 200
        return {i["account_id"] for i in response.get_json()["items"]}

    assert room.accounts["kuaishou"] in dormant_ids()
    publish(room, targets=[room.accounts["kuaishou"]])
    assert room.accounts["kuaishou"] in dormant_ids()  # a task is not yet an update
    task = tasks_of(room.editor)["items"][0]
    assert room.editor.post(f"/api/v1/tasks/{task['id']}/complete", {
        "post_url": "https://v.kuaishou.com/abc"}).status_code == 200
    assert room.accounts["kuaishou"] not in dormant_ids()
    account = room.editor.get(f"/api/v1/accounts/{room.accounts['kuaishou']}").get_json()
    assert account["dormant"] is False and account["last_post_at"]


def test_overdue_tasks_reach_the_dashboard_and_the_reminders(room):
    publish(room, targets=[room.accounts["kuaishou"], room.accounts["bilibili"]])
    later = workdays_after(today_shanghai(), 3)
    summary = room.supervisor.get("/api/v1/supervision/summary", as_of=later.isoformat())
    assert summary.status_code == 200
    body = summary.get_json()
    assert body["overdue_tasks"] == 2
    unit = next(u for u in body["units"] if u["unit_id"] == room.world.unit_a["id"])
    assert unit["overdue_tasks"] == 2
    on_time = room.supervisor.get("/api/v1/supervision/summary").get_json()
    assert on_time["overdue_tasks"] == 0
    page = page_login(current_app, "supervisor").get(f"/supervision?as_of={later.isoformat()}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<span id="overdue-tasks">2</span>' in html and "项发布任务逾期" in html
    assert '<td class="overdue-tasks">2</td>' in html
    create_notifications(later)
    notes = db.session.scalars(select(Notification).where(
        Notification.kind == "task_overdue")).all()
    assert notes and {n.link.split("#")[0] for n in notes} == {"/tasks"}
    assert any("某县发布kuaishou" in n.text for n in notes)


def test_a_user_who_turned_task_reminders_off_is_not_reminded(room, app):
    """task_overdue is a kind of govmedia.notify.KINDS: the profile page lists it in both
    languages and a sponsor who turns it off gets no overdue-task reminder; the editor of the
    same unit, who did not, still does."""
    from govmedia.models import User
    from govmedia.notify import KINDS

    assert "task_overdue" in KINDS
    sponsor = page_login(current_app, "sponsor_a")
    assert "发布任务逾期未完成" in sponsor.get("/profile").get_data(as_text=True)
    sponsor.get("/lang/en")
    assert "A publishing task is overdue" in sponsor.get("/profile").get_data(as_text=True)
    # Off on the profile page: the form sends the kinds left on.
    others = [k for k in KINDS if k != "task_overdue"]
    page = sponsor.get("/profile").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    saved = sponsor.post("/profile/notifications", data={"csrf_token": token, "on": others})
    assert saved.status_code in (200, 302, 303)
    publish(room, targets=[room.accounts["kuaishou"], room.accounts["bilibili"]])
    create_notifications(workdays_after(today_shanghai(), 3))
    reminded = {db.session.get(User, n.user_id).username for n in db.session.scalars(
        select(Notification).where(Notification.kind == "task_overdue"))}
    assert "editor" in reminded and "sponsor_a" not in reminded


def test_withdrawal_cancels_open_tasks_and_makes_take_down_tasks(room):
    article = publish(room, targets=[room.wechat_id, room.accounts["kuaishou"],
                                     room.accounts["bilibili"]])
    tasks = by_platform(tasks_of(room.editor))
    url = "https://www.bilibili.com/video/BV1ab411c7mZ"
    assert room.editor.post(f"/api/v1/tasks/{tasks['bilibili']['id']}/complete",
                            {"post_url": url}).status_code == 200
    calls_before = _standin_calls(room)
    withdrawn = room.editor.post(f"/api/v1/articles/{article['id']}/withdraw",
                                 {"reason": "数据有误"})
    assert withdrawn.status_code == 202, withdrawn.get_json()
    deliveries = {d["platform"]: d for d in room.editor.get(
        f"/api/v1/articles/{article['id']}").get_json()["deliveries"]}
    assert deliveries["wechat"]["status"] == "withdrawn"   # by its adapter
    assert deliveries["kuaishou"]["status"] == "withdrawn"  # never posted: nothing to remove
    assert deliveries["bilibili"]["status"] == "sent"       # a person removes it
    assert deliveries["bilibili"]["withdrawal"] == "task"
    assert _standin_calls(room) - calls_before < 20  # only WeChat's withdrawal went out
    open_tasks = tasks_of(room.editor, status="open")["items"]
    assert [(t["platform"], t["kind"]) for t in open_tasks] == [("bilibili", "takedown")]
    takedown = open_tasks[0]
    assert takedown["text"] == url
    path = f"/api/v1/tasks/{takedown['id']}/complete"
    unconfirmed = room.editor.post(path, {})
    assert unconfirmed.status_code == 400 and "removed" in unconfirmed.get_json()["error"]["fields"]
    assert room.editor.post(path, {"removed": True}).status_code == 200
    shown = room.editor.get(f"/api/v1/articles/{article['id']}").get_json()
    assert all(d["status"] == "withdrawn" for d in shown["deliveries"])
    assert shown["withdrawal"]["complete"] is True
    # The cancelled Kuaishou task left the list; it cannot be completed.
    assert tasks["kuaishou"]["id"] not in {t["id"] for t in tasks_of(room.editor)["items"]}
    late = room.editor.post(f"/api/v1/tasks/{tasks['kuaishou']['id']}/complete",
                            {"post_url": "https://www.kuaishou.com/short-video/x"})
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "task_cancelled"


def _standin_calls(room) -> int:
    import requests

    calls = requests.get(f"{room.standin_url}/_standin/calls", timeout=5).json()["calls"]
    return sum(calls.values())


def test_the_deadline_moves_when_an_admin_enters_a_holiday(room):
    from govmedia.holidays import enter_schedule
    from govmedia.models import User

    publish(room, targets=[room.accounts["toutiao"]])
    today = today_shanghai()
    first = workdays_after(today, 1)
    assert tasks_of(room.editor)["items"][0]["due_on"] == workdays_after(today, 2).isoformat()
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    result = enter_schedule(admin, first.year, [(first, False, "临时调休")], confirm=False,
                            replace=False)
    db.session.commit()
    assert result["deadlines_changed"] >= 1
    # The day off no longer counts: the deadline is the 2nd working day after `first`.
    assert tasks_of(room.editor)["items"][0]["due_on"] == workdays_after(first, 2).isoformat()


def test_which_targets_become_tasks(app, monkeypatch):
    from adapters import ADAPTERS
    from publisher import targets as services
    from publisher.targets import by_task
    from registry.models import Account

    def account(platform):
        return Account(platform=platform)

    assert by_task(account("kuaishou"), True) and by_task(account("app"), False)
    assert by_task(account("channels"), True) and by_task(account("other"), True)
    monkeypatch.setattr(services, "ADAPTERS", {**ADAPTERS, "douyin": object})
    assert by_task(account("douyin"), False)        # an adapter, but never authorised
    assert not by_task(account("douyin"), True)
    assert not by_task(account("wechat"), False)    # its credentials flow: fails, then retry
    assert not by_task(account("weibo"), True)


def test_copy_text_is_cut_to_each_platforms_limits(app):
    from adapters.platforms import PLATFORM_FACTS
    from publisher.models import Article
    from publisher.targets import copy_text

    article = Article(title="关于做好二〇二六年冬季安全生产工作和森林防火工作的通知全文",
                      body_html="<h2>一、总体要求</h2><p>" + "压实责任。" * 600 + "</p>",
                      source_url="https://www.example.gov.cn/a/1.html")
    for platform, limits in PLATFORM_FACTS.items():
        title, text = copy_text(article, platform)
        if limits.title_max is not None:
            assert len(title) <= limits.title_max, platform
        if limits.text_max is not None:
            assert len(text) <= limits.text_max, platform
            assert text.endswith(article.source_url)
        assert text.startswith("一、总体要求\n压实责任。")
    assert copy_text(article, "xiaohongshu")[0].endswith("…")
    assert copy_text(article, "other")[0] == article.title


def test_a_scheduled_article_counts_its_deadline_from_its_day(room):
    from datetime import datetime, time

    from govmedia.types import SHANGHAI

    day = today_shanghai() + timedelta(days=6)
    at = datetime.combine(day, time(9, 30), tzinfo=SHANGHAI)
    publish(room, targets=[room.accounts["kuaishou"]], publish_at=at.isoformat())
    task = tasks_of(room.editor)["items"][0]
    assert task["starts_on"] == day.isoformat()
    assert task["due_on"] == workdays_after(day, 2).isoformat()
    assert tasks_of(room.editor, status="overdue",
                    as_of=(day + timedelta(days=1)).isoformat())["total"] == 0


def test_a_wechat_channels_task_takes_a_channels_link_not_an_official_account_article(room):
    """视频号 is its own platform: a link to the WeChat official account's article is
    another platform's post."""
    publish(room, targets=[room.accounts["channels"]])
    task = tasks_of(room.editor)["items"][0]
    assert task["platform"] == "channels"
    path = f"/api/v1/tasks/{task['id']}/complete"
    wrong = room.editor.post(path, {"post_url": "https://mp.weixin.qq.com/s/AbCdEf"})
    assert wrong.status_code == 400 and "post_url" in wrong.get_json()["error"]["fields"]
    right = room.editor.post(path, {
        "post_url": "https://channels.weixin.qq.com/web/pages/feed?eid=export%2FUzFfAgtgekIEAQ"})
    assert right.status_code == 200 and right.get_json()["status"] == "done"


def test_a_douyin_account_authorised_once_keeps_the_adapters_path(room, monkeypatch):
    """With a Douyin adapter registered (issue 15's other half): never authorised, a task;
    authorised, even if it lapsed since, the adapter's path (the delivery fails cleanly and
    is retried once the sponsor authorises again)."""
    from adapters import ADAPTERS
    from publisher import targets as services
    from publisher.targets import task_targets
    from registry.models import Account, AccountCredential

    monkeypatch.setattr(services, "ADAPTERS", {**ADAPTERS, "douyin": object})

    douyin = db.session.get(Account, room.accounts["douyin"])
    kuaishou = db.session.get(Account, room.accounts["kuaishou"])
    assert task_targets([douyin, kuaishou]) == {douyin.id, kuaishou.id}
    db.session.add(AccountCredential(account_id=douyin.id, ciphertext=b"sealed",
                                     token_expired=True))
    db.session.flush()
    assert task_targets([douyin, kuaishou]) == {kuaishou.id}
    db.session.rollback()


def test_a_link_another_account_recorded_is_refused_naming_it(room):
    """Issue 15: "another account's post": the platforms without an API do not name the
    account in a post's link, but a link the registry knows as another account's post (its
    own task, the activity sync, evidence) is refused, naming that account."""
    from registry.models import Account, Unit

    other_unit = Unit(name="另一县人民政府办公室", office="信息科")
    db.session.add(other_unit)
    db.session.flush()
    other = Account(unit_id=other_unit.id, platform="kuaishou", name="另一县发布快手号",
                    handle="ks-other", status="active", opened_on=date(2026, 1, 5),
                    office="信息科", staff=[])
    db.session.add(other)
    db.session.flush()
    url = "https://www.kuaishou.com/short-video/3xother1"
    db.session.add(Post(account_id=other.id, published_at=utcnow(), title="另一条",
                        url=url, source="manual"))   # uncounted by default: the outbox
    db.session.commit()
    publish(room, targets=[room.accounts["kuaishou"]])
    task = tasks_of(room.editor)["items"][0]
    refused = room.editor.post(f"/api/v1/tasks/{task['id']}/complete", {"post_url": url})
    assert refused.status_code == 400, refused.get_json()
    error = refused.get_json()["error"]
    assert "另一县发布快手号" in error["message"] and error["fields"]["post_url"]
    assert tasks_of(room.editor)["items"][0]["status"] in ("open", "overdue")
    ours = "https://www.kuaishou.com/short-video/3xours1"
    assert room.editor.post(f"/api/v1/tasks/{task['id']}/complete",
                            {"post_url": ours}).status_code == 200
