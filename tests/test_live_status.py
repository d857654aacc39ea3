"""Issue 12: live status (the article page's deliveries and the queue page's counts from small
JSON answers the pages poll) and one state for a withdrawn article: 已撤稿 everywhere, filtered."""
from sqlalchemy import update

from govmedia.extensions import db
from publisher.models import Delivery
from test_pages import html, page_client
from test_publisher_api import create, pub, review, submit  # noqa: F401 - fixture


def signed_off(pub):  # noqa: F811
    article = create(pub)
    submit(pub, article["id"], confirmations=[])
    review(pub.reviewer, article["id"])
    assert review(pub.signer, article["id"]).status_code == 200
    return article["id"]


def test_the_article_live_answer_follows_its_deliveries(app, pub):  # noqa: F811
    article_id = signed_off(pub)
    editor = page_client(app, "editor")
    live = editor.get(f"/articles/{article_id}/live.json")
    assert live.status_code == 200 and live.headers["Cache-Control"] == "no-store"
    body = live.get_json()
    assert body["status"] == "approved" and body["label"] == "已通过"
    assert {d["status"] for d in body["deliveries"]} == {"queued"}
    db.session.execute(update(Delivery).where(Delivery.article_id == article_id).values(
        status="sent", attempts=1, post_url="https://mp.weixin.qq.com/s/x"))
    db.session.commit()
    body = editor.get(f"/articles/{article_id}/live.json").get_json()
    assert [(d["status"], d["label"], d["attempts"]) for d in body["deliveries"]] == [
        ("sent", "已发送", 1)] * 2
    assert page_client(app, "editor_b").get(f"/articles/{article_id}/live.json").status_code == 403
    page = html(editor.get(f"/articles/{article_id}"))
    assert f'data-live="/articles/{article_id}/live.json"' in page and "js/live.js" in page


def test_the_queue_live_answer_counts_for_supervisors_only(app, pub):  # noqa: F811
    signed_off(pub)
    body = page_client(app, "supervisor").get("/publishing/queue/live.json").get_json()
    assert body["counts"].get("queued") == 2
    assert page_client(app, "editor").get("/publishing/queue/live.json").status_code == 403
    page = html(page_client(app, "supervisor").get("/publishing/queue"))
    assert 'data-live="/publishing/queue/live.json"' in page


def test_a_withdrawn_article_shows_withdrawn_everywhere_and_has_a_filter(app, pub):  # noqa: F811
    withdrawn = signed_off(pub)
    kept = signed_off(pub)
    db.session.execute(update(Delivery).values(status="sent"))
    db.session.commit()
    assert pub.editor.post(f"/api/v1/articles/{withdrawn}/withdraw",
                           {"reason": "数据有误"}).status_code == 202
    editor = page_client(app, "editor")
    page = html(editor.get(f"/articles/{withdrawn}"))
    assert 'class="badge art-withdrawn">已撤稿<' in page
    listed = html(editor.get("/articles?status=withdrawn"))
    assert f"/articles/{withdrawn}\"" in listed and f"/articles/{kept}\"" not in listed
    assert '<option value="withdrawn" selected>已撤稿</option>' in listed
    everything = html(editor.get("/articles"))
    assert everything.count("已撤稿</span>") == 1
    api = pub.editor.get("/api/v1/articles", status="withdrawn").get_json()
    assert [a["id"] for a in api["items"]] == [withdrawn] and api["items"][0]["withdrawn"]
    assert pub.editor.get(f"/api/v1/articles/{kept}").get_json()["withdrawn"] is False
    live = editor.get(f"/articles/{withdrawn}/live.json").get_json()
    assert live["status"] == "withdrawn" and live["label"] == "已撤稿"
