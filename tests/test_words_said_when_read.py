"""Issue 12: words written by a job are said in the reader's language when read.

A delivery's error, a notification and a reminder are written by workers, which speak Chinese;
they keep their words (govmedia.wording: a msgid and its parameters) and each reader sees them
in Chinese or in English. Driven over HTTP through the stand-in platforms, as production runs.
"""
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from test_fanout import (article, by_platform, newsroom, page_login, publish,  # noqa: F401
                         standin)
from test_languages import CJK, set_language
from test_publisher_api import create, pub  # noqa: F401 - fixture

from adapters import PermanentError
from govmedia.extensions import db
from govmedia.models import Notification
from govmedia.wording import in_english, message, say
from publisher.models import Delivery
from registry.models import Account

REFUSED_ZH = ("微信平台拒绝请求（HTTP 404，新建草稿），请检查接口地址配置 WECHAT_API_BASE_URL"
              "（平台代码 404）")
REFUSED_EN = ("WeChat refused the request (HTTP 404, adding the draft); check the API address "
              "setting WECHAT_API_BASE_URL (platform code 404)")


def refused_by_wechat(room):  # noqa: F811
    """A WeChat delivery that failed without a platform code: an HTTP 404 from the API."""
    room.platforms.fault(path="/cgi-bin/draft/add", http_status=404, times=1)
    article_id = publish(room, targets=[room.wechat_id])["id"]
    assert by_platform(article(room, article_id))["wechat"]["status"] == "failed"
    return article_id


def as_reader(room, path, language=None):  # noqa: F811
    headers = {"Authorization": f"Bearer {room.editor.token}"}
    if language:
        headers["Accept-Language"] = language
    answer = room.editor.client.get(path, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def test_an_adapter_error_is_said_in_the_readers_language(app, newsroom):  # noqa: F811
    article_id = refused_by_wechat(newsroom)
    delivery = db.session.scalar(select(Delivery).where(Delivery.article_id == article_id))
    assert delivery.last_error == REFUSED_ZH   # the words of the day: the worker's Chinese
    assert delivery.last_error_detail["said"]["params"]["text"]["params"]["status"] == 404

    for language, expected in ((None, REFUSED_ZH), ("zh", REFUSED_ZH), ("en", REFUSED_EN)):
        body = as_reader(newsroom, f"/api/v1/articles/{article_id}", language)
        assert by_platform(body)["wechat"]["error"] == expected, language


def test_the_drafters_notification_is_said_in_the_readers_language(app, newsroom):  # noqa: F811
    article_id = refused_by_wechat(newsroom)
    notes = db.session.scalars(select(Notification).where(
        Notification.kind == "delivery_failed",
        Notification.link == f"/articles/{article_id}")).all()
    assert len(notes) == 1, "the drafter is told of the failed delivery, once"
    assert REFUSED_ZH in notes[0].text   # as written, for the e-mail

    chinese = as_reader(newsroom, "/api/v1/notifications")["items"]
    english = as_reader(newsroom, "/api/v1/notifications", "en")["items"]
    [zh] = [n["text"] for n in chinese if n["kind"] == "delivery_failed"]
    [en] = [n["text"] for n in english if n["kind"] == "delivery_failed"]
    assert REFUSED_ZH in zh and "未能发布到" in zh
    assert REFUSED_EN in en and "could not be published to" in en
    # Only what was entered (the article's title, the account's name) stays Chinese.
    title = article(newsroom, article_id)["title"]
    account = db.session.scalar(select(Account.name).where(Account.id == newsroom.wechat_id))
    assert not CJK.search(en.replace(title, "").replace(account, "")), en


def test_a_message_with_a_message_inside_is_said_whole(app):
    said = message("Withdrawal failed: %(error)s",
                   error=message("The video file does not exist: %(name)s", name="a.mp4"))
    error = PermanentError("The video file does not exist: %(name)s", params={"name": "a.mp4"})
    with app.test_request_context():
        with force_locale("en"):
            assert say(said) == "Withdrawal failed: The video file does not exist: a.mp4"
        with force_locale("zh"):
            assert say(said) == "撤稿失败：视频文件不存在：a.mp4"
            assert str(error) == error.text() == "视频文件不存在：a.mp4"
    assert in_english(said) == "Withdrawal failed: The video file does not exist: a.mp4"
    assert error.args == ("The video file does not exist: a.mp4",)   # logs outside the app


def test_findings_keep_their_words_and_are_said_in_the_readers_language(pub):  # noqa: F811
    """A platform's limit and the Weibo length, found when the editor saved in Chinese, read
    in English by the API (Accept-Language) and on the article page (the switch)."""
    article = create(pub, title="县" * 65, weibo_text="微" * 150)
    by_rule = {f["rule"]: f for f in article["checks"]}
    assert "微信公众号" in by_rule["platform_limit"]["message"]
    assert "65" in by_rule["platform_limit"]["message"]
    assert by_rule["weibo_too_long"]["message"].startswith("微博")

    headers = {"Authorization": f"Bearer {pub.editor.token}", "Accept-Language": "en"}
    body = pub.editor.client.get(f"/api/v1/articles/{article['id']}", headers=headers)
    english = {f["rule"]: f["message"] for f in body.get_json()["checks"]}
    assert english["platform_limit"] == ("WeChat official account: The title has 65 characters; "
                                         "the platform takes at most 64")
    assert english["weibo_too_long"].startswith("The Weibo text with its link has")
    for text in english.values():
        assert not CJK.search(text.replace("县", "")), text

    page = page_login(current_app, "editor")
    set_language(page, "en")
    shown = page.get(f"/articles/{article['id']}").get_data(as_text=True)
    assert "WeChat official account: The title has 65 characters" in shown
    assert "微信公众号：" not in shown


def test_filing_reminders_are_told_once_and_read_in_either_language(world):
    """A filing due tomorrow and one overdue reach the unit's sponsor in the daily reminders,
    once each, and are read in Chinese or English (the words kept with the notification)."""
    from datetime import timedelta

    from conftest import account_body

    from govmedia.types import today_shanghai
    from registry.models import Filing
    from registry.supervision import jobs

    today = today_shanghai()
    ids = []
    for handle, name in (("gh_0123456789ab", "某县发布"), ("1234567890", "某县微博")):
        platform = "wechat" if handle.startswith("gh_") else "weibo"
        answer = world.sponsor_a.post("/api/v1/accounts", account_body(
            world.unit_a["id"], platform=platform, handle=handle, name=name,
            opened_on=(today - timedelta(days=3)).isoformat()))
        assert answer.status_code == 201, answer.get_json()
        ids.append(answer.get_json()["id"])
    due = {ids[0]: today + timedelta(days=1), ids[1]: today - timedelta(days=1)}
    for filing in db.session.scalars(select(Filing).where(Filing.account_id.in_(ids))):
        filing.due_on = due[filing.account_id]
        filing.filed_on = None
    db.session.commit()

    assert jobs.create_notifications(today) >= 2
    assert jobs.create_notifications(today) == 0            # once only
    chinese = world.sponsor_a.get("/api/v1/notifications").get_json()["items"]
    kinds = {n["kind"]: n["text"] for n in chinese}
    assert "某县发布" in kinds["filing_due"] and "明天" in kinds["filing_due"]
    assert "某县微博" in kinds["filing_overdue"] and "逾期" in kinds["filing_overdue"]
    headers = {**world.sponsor_a._headers(), "Accept-Language": "en"}
    english = {n["kind"]: n["text"] for n in world.sponsor_a.client.get(
        "/api/v1/notifications", headers=headers).get_json()["items"]}
    assert english["filing_due"].startswith("The filing of “某县发布”")
    assert "due tomorrow" in english["filing_due"]
    assert "is overdue" in english["filing_overdue"]
    assert not world.sponsor_b.get("/api/v1/notifications").get_json()["items"]


def test_an_unconfirmed_delivery_tells_the_drafter_in_their_language(app, newsroom):  # noqa: F811
    newsroom.platforms.fault(path="/2/statuses/share.json", after_commit_delay=1.6, times=1)
    article_id = publish(newsroom, targets=[newsroom.weibo_id])["id"]
    assert by_platform(article(newsroom, article_id))["weibo"]["status"] == "unconfirmed"
    chinese = [n for n in as_reader(newsroom, "/api/v1/notifications")["items"]
               if n["kind"] == "delivery_unconfirmed"]
    english = [n for n in as_reader(newsroom, "/api/v1/notifications", "en")["items"]
               if n["kind"] == "delivery_unconfirmed"]
    assert len(chinese) == 1 and len(english) == 1
    assert chinese[0]["link"] == f"/articles/{article_id}"
    assert "核实" in chinese[0]["text"]
    assert english[0]["text"].startswith("It is not known whether")
    assert "checked with the platform first" in english[0]["text"]


def test_the_filings_export_speaks_the_readers_language(app, world):
    import csv
    import io

    from conftest import account_body
    from test_fanout import page_login as log_in_page

    answer = world.sponsor_a.post("/api/v1/accounts", account_body(world.unit_a["id"]))
    assert answer.status_code == 201, answer.get_json()
    page = log_in_page(app, "sponsor_a")
    rows = {}
    for language in ("zh", "en"):
        set_language(page, language)
        body = page.get("/filings/export.csv").get_data(as_text=True).lstrip("\ufeff")
        rows[language] = list(csv.reader(io.StringIO(body)))
    assert rows["zh"][0][:3] == ["备案记录号", "账号", "平台"]
    assert rows["en"][0][:3] == ["Filing number", "Account", "Platform"]
    assert rows["zh"][1][2] == "微信公众号" and rows["en"][1][2] == "WeChat official account"
    assert (rows["zh"][1][5], rows["en"][1][5]) == ("开设", "Opening")
    english = [cell for row in rows["en"] for cell in row
               if cell not in ("某县发布", "某县人民政府办公室") and not cell.startswith("gh_")]
    assert not [c for c in english if CJK.search(c)], english


def test_registration_warnings_follow_the_language_asked_for(world):
    from conftest import account_body

    body = account_body(world.unit_a["id"], handle="some-wechat-name",
                        verified_subject="某县某某中心", office="", staff=[])
    headers = {**world.sponsor_a._headers(), "Accept-Language": "en"}
    answer = world.sponsor_a.client.post("/api/v1/accounts", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    english = {w["code"]: w["message"] for w in answer.get_json()["warnings"]}
    assert english["verified_subject_mismatch"].startswith("The verified subject “某县某某中心”")
    assert english["handle_format"].startswith("A WeChat account's ID is its original ID")
    for text in english.values():
        assert not CJK.search(text.replace("某县某某中心", "").replace(
            world.unit_a["name"], "")), text
