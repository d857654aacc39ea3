"""Issue 12: the platforms' error messages in the reader's language. A delivery that failed with
a platform error code (through the stand-in platforms over HTTP) keeps the code; the article
page, its live answer and the API put it into words when read, in Chinese or in English; a
code the product does not know shows the code and the platform's own text, quoted."""
from sqlalchemy import select
from test_fanout import article, by_platform, newsroom, page_login, publish, standin  # noqa: F401
from test_languages import entered_data, language_problems, set_language, visible_text
from test_pages import html

from adapters.messages import BY_PLATFORM
from govmedia.extensions import db
from publisher.models import Delivery

PLATFORM_TEXT = "unexpected answer from the platform"   # Weibo's own words, in English


def failed_with_codes(room):  # noqa: F811
    room.platforms.fault(path="/cgi-bin/draft/add", errcode=45003, times=1)
    room.platforms.fault(path="/2/statuses/share.json", error_code=29999, errmsg=PLATFORM_TEXT,
                         times=1)
    article_id = publish(room)["id"]
    shown = by_platform(article(room, article_id))
    assert shown["wechat"]["status"] == "failed" and shown["weibo"]["status"] == "failed"
    return article_id


def api_errors(room, article_id, language=None):  # noqa: F811
    headers = {"Authorization": f"Bearer {room.editor.token}"}
    if language:
        headers["Accept-Language"] = language
    body = room.editor.client.get(f"/api/v1/articles/{article_id}", headers=headers).get_json()
    return {d["platform"]: d["error"] for d in body["deliveries"]}


def test_a_platform_error_code_is_kept_and_shown_in_the_readers_language(app, newsroom):  # noqa: F811,E501
    article_id = failed_with_codes(newsroom)
    details = {d.platform: d.last_error_detail for d in db.session.scalars(
        select(Delivery).where(Delivery.article_id == article_id))}
    codes = {platform: {k: v for k, v in detail.items() if k != "said"}
             for platform, detail in details.items()}
    assert codes == {"wechat": {"code": 45003, "message": "title size out of limit"},
                     "weibo": {"code": 29999, "message": PLATFORM_TEXT}}
    assert details["wechat"]["said"]["params"]["code"] == 45003   # the words, kept too

    chinese = api_errors(newsroom, article_id)
    assert chinese["wechat"] == "标题过长（不超过 64 个字）（平台代码 45003）"
    assert chinese["weibo"] == f"平台返回代码 29999，原文为“{PLATFORM_TEXT}”"
    english = api_errors(newsroom, article_id, "en")
    assert english["wechat"] == ("The title is too long (at most 64 characters) "
                                 "(platform code 45003)")
    assert english["weibo"] == f"The platform answered code 29999: “{PLATFORM_TEXT}”"

    page = page_login(app, "editor")
    data = entered_data() + [f"“{PLATFORM_TEXT}”"]   # the platform's own words, quoted
    for language, expected in (("zh", chinese), ("en", english)):
        set_language(page, language)
        body = html(page.get(f"/articles/{article_id}"))
        for text in expected.values():
            assert text in body.replace("&#34;", '"').replace("&#39;", "'"), (language, text)
        problems = language_problems(visible_text(body), language, data)
        assert not problems, (language, problems)
        live = page.get(f"/articles/{article_id}/live.json").get_json()
        assert {d["error"] for d in live["deliveries"]} == set(expected.values())


def test_a_retry_forgets_the_platforms_code_with_the_error(app, newsroom):  # noqa: F811
    article_id = failed_with_codes(newsroom)
    wechat = db.session.scalar(select(Delivery).where(Delivery.article_id == article_id,
                                                      Delivery.platform == "wechat"))
    assert newsroom.editor.post(f"/api/v1/deliveries/{wechat.id}/retry").status_code == 202
    db.session.expire_all()
    wechat = db.session.get(Delivery, wechat.id)
    assert wechat.status == "sent" and wechat.last_error is None
    assert wechat.last_error_detail is None


def test_every_known_code_has_words_in_both_languages(app):
    from flask_babel import force_locale

    from adapters.messages import platform_error_text

    with app.test_request_context():
        for platform, table in BY_PLATFORM.items():
            for code in table:
                with force_locale("zh"):
                    chinese = platform_error_text(platform, code)
                with force_locale("en"):
                    english = platform_error_text(platform, code)
                assert chinese != english and str(code) in english, (platform, code)
                assert not language_problems([english], "en", []), english
