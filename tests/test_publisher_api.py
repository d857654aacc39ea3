"""The article endpoints of shared/API.md: drafts, checks, the three reviews, pushes, deliveries."""
import base64
import io

import pytest
from conftest import account_body, make_user
from PIL import Image

from govmedia.extensions import db
from publisher.models import Article, ArticleImage, ArticleReview, Delivery


def png_base64(size=(40, 30)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def pub(world, login):
    """Unit A with a WeChat and a Weibo account and its editorial staff; unit B with one account."""
    return build_pub(world, login)


def build_pub(world, login):
    # No jobs run here: a sign-off leaves its deliveries queued; tests/test_fanout*.py send them.
    from flask import current_app

    current_app.config["TEST_RUN_JOBS"] = False
    a, b = world.unit_a["id"], world.unit_b["id"]
    wechat = world.sponsor_a.post("/api/v1/accounts", account_body(a)).get_json()
    weibo = world.sponsor_a.post("/api/v1/accounts", account_body(
        a, platform="weibo", handle="1234567890")).get_json()
    other = world.sponsor_b.post("/api/v1/accounts", account_body(
        b, handle="gh_bbbbbbbbbbbb", name="某县教育发布")).get_json()
    for name, roles, unit in [("editor", ["editor"], a), ("reviewer", ["reviewer"], a),
                              ("signer", ["signer"], a), ("both", ["reviewer", "signer"], a),
                              ("editor_reviewer", ["editor", "reviewer"], a),
                              ("signer_reviewer", ["signer", "reviewer"], a),
                              ("source", ["source"], a), ("editor_b", ["editor"], b),
                              ("reviewer_b", ["reviewer"], b)]:
        make_user(name, roles, unit)

    class Pub:
        unit_a, unit_b = a, b
        wechat_id, weibo_id, other_id = wechat["id"], weibo["id"], other["id"]
        editor = login("editor")
        reviewer = login("reviewer")
        signer = login("signer")
        both = login("both")
        signer_reviewer = login("signer_reviewer")
        editor_reviewer = login("editor_reviewer")
        source = login("source")
        editor_b = login("editor_b")
        reviewer_b = login("reviewer_b")
        supervisor = world.supervisor

    return Pub


def article_body(pub, **extra):
    body = {"title": "县政府召开常务会议", "body_html": "<p>会议研究部署了近期重点工作。</p>",
            "digest": "会议研究部署近期工作", "author": "县政府办",
            "source_url": "https://www.example.gov.cn/news/1.html",
            "cover_image_base64": png_base64(), "target_account_ids": [pub.wechat_id, pub.weibo_id]}
    body.update(extra)
    return body


def create(pub, client=None, **extra):
    response = (client or pub.editor).post("/api/v1/articles", article_body(pub, **extra))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def submit(pub, article_id, client=None, **body):
    return (client or pub.editor).post(f"/api/v1/articles/{article_id}/submit", body)


def review(client, article_id, decision="approve", comment="", **extra):
    return client.post(f"/api/v1/articles/{article_id}/review",
                       {"decision": decision, "comment": comment, **extra})


def test_an_article_goes_through_three_reviews_and_queues_one_delivery_per_target(pub):
    article = create(pub)
    assert article["status"] == "draft" and article["checks"] == []
    assert article["cover"]["mime"] == "image/png" and article["cover"]["width"] == 40
    assert article["weibo_post"]["text"].endswith("https://www.example.gov.cn/news/1.html")

    response = submit(pub, article["id"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "pending_review"

    response = review(pub.reviewer, article["id"], content_hash=article["content_hash"])
    assert response.status_code == 200 and response.get_json()["status"] == "pending_signoff"
    assert response.get_json()["deliveries"] == []

    response = review(pub.signer, article["id"], comment="同意发布")
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "approved"
    assert [(d["account_id"], d["platform"], d["status"], d["attempts"]) for d in
            body["deliveries"]] == [(pub.wechat_id, "wechat", "queued", 0),
                                    (pub.weibo_id, "weibo", "queued", 0)]
    assert set(body["deliveries"][0]) >= {"id", "account_id", "platform", "status", "attempts",
                                          "post_id", "post_url", "error"}
    shown = pub.editor.get(f"/api/v1/articles/{article['id']}").get_json()
    assert [(r["stage"], r["decision"], r["name"]) for r in shown["reviews"]] == [
        (1, "submit", "editor"), (2, "approve", "reviewer"), (3, "approve", "signer")]
    assert all(r["content_hash"] == article["content_hash"] for r in shown["reviews"])
    assert shown["deliveries"] == body["deliveries"]


def test_a_blocking_finding_stops_submission_and_warnings_need_confirmation(pub):
    article = create(pub, body_html="<p>本文件为机密，联系人电话13800138000。</p>")
    rules = {c["rule"]: c for c in article["checks"]}
    assert rules["secrecy_mark"]["severity"] == "block"
    assert rules["mobile_number"]["severity"] == "warn"
    finding = rules["secrecy_mark"]
    stored = db.session.get(Article, article["id"]).body_html
    assert stored[finding["start"]:finding["end"]] == "机密" and "【机密】" in finding["excerpt"]
    assert finding["message"] and finding["field"] == "body_html"

    response = submit(pub, article["id"], confirmations=["mobile_number"])
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "checks_failed"
    assert [c["rule"] for c in error["checks"]] == ["secrecy_mark"]
    assert db.session.get(Article, article["id"]).status == "draft"

    body = article_body(pub, body_html="<p>联系人电话13800138000。</p>")
    assert pub.editor.put(f"/api/v1/articles/{article['id']}", body).status_code == 200
    response = submit(pub, article["id"])
    assert response.status_code == 409
    assert [c["rule"] for c in response.get_json()["error"]["checks"]] == ["mobile_number"]
    response = submit(pub, article["id"], confirmations=["mobile_number"],
                      checklist=["sensitive_words", "typos"])
    assert response.status_code == 400 and "checklist" in response.get_json()["error"]["fields"]
    response = submit(pub, article["id"], confirmations=["mobile_number"],
                      checklist=["sensitive_words", "typos", "names_places", "confidentiality",
                                 "layout"])
    assert response.status_code == 200
    stage1 = response.get_json()["reviews"][0]
    assert stage1["confirmations"] == ["mobile_number"] and len(stage1["checklist"]) == 5


def test_separation_of_duties_holds_across_stages_and_rounds(pub):
    # the drafter holds the reviewer role too, and still may not review
    article = create(pub, client=pub.editor_reviewer)
    assert submit(pub, article["id"], client=pub.editor_reviewer).status_code == 200
    response = review(pub.editor_reviewer, article["id"])
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "separation_of_duties"

    # a user with both roles reviews; they may not sign the same article
    assert review(pub.both, article["id"]).status_code == 200
    response = review(pub.both, article["id"])
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "separation_of_duties"
    # a signer (who is also a reviewer) returns it; in the next round everyone keeps
    # their stage: the signer may not do the 2nd review now, the reviewer may review again
    sr = pub.signer_reviewer
    response = review(sr, article["id"], "reject", "")
    assert response.status_code == 400 and "comment" in response.get_json()["error"]["fields"]
    response = review(sr, article["id"], "reject", "数据需核实")
    assert response.status_code == 200 and response.get_json()["status"] == "returned"
    assert submit(pub, article["id"], client=pub.editor_reviewer).status_code == 200
    response = review(sr, article["id"])
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "separation_of_duties"
    assert review(pub.both, article["id"]).status_code == 200   # same stage as before: fine
    assert review(sr, article["id"]).get_json()["status"] == "approved"

    # a plain editor may not review at all; another unit's reviewer is refused
    other = create(pub)
    submit(pub, other["id"])
    response = review(pub.editor, other["id"])
    assert response.status_code == 403  # the drafter (and no reviewer role)
    response = review(pub.reviewer_b, other["id"])
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


def test_a_reviewer_who_returned_may_review_the_next_revision_and_edits_void_approvals(pub):
    article = create(pub)
    submit(pub, article["id"])
    assert review(pub.reviewer, article["id"], "reject", "标题不准确").status_code == 200
    edited = pub.editor.put(f"/api/v1/articles/{article['id']}",
                            article_body(pub, title="县政府召开第12次常务会议")).get_json()
    assert edited["revision"] == 2 and edited["content_hash"] != article["content_hash"]
    submit(pub, article["id"])
    assert review(pub.reviewer, article["id"], content_hash=edited["content_hash"]).status_code == 200

    # an edit while waiting for sign-off voids the approvals and starts again
    third = pub.editor.put(f"/api/v1/articles/{article['id']}",
                           article_body(pub, title="县政府召开第十二次常务会议")).get_json()
    assert third["status"] == "draft" and third["revision"] == 3
    voided = [r for r in third["reviews"] if r["void"]]
    assert [(r["stage"], r["decision"]) for r in voided] == [(1, "submit"), (2, "approve")]
    response = review(pub.signer, article["id"])
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "invalid_transition"
    submit(pub, article["id"])
    # the reviewer's page still shows revision 2: approval of a revision not seen is refused
    response = review(pub.reviewer, article["id"], content_hash=edited["content_hash"])
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "revision_changed"
    assert review(pub.reviewer, article["id"], content_hash=third["content_hash"]).status_code == 200
    final = review(pub.signer, article["id"]).get_json()
    assert final["status"] == "approved"
    assert {d["revision"] for d in final["deliveries"]} == {3}
    # an approved article is not edited in place
    response = pub.editor.put(f"/api/v1/articles/{article['id']}", article_body(pub))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "invalid_transition"


def test_only_the_drafter_submits_and_edits(pub, login):
    make_user("editor2", ["editor"], pub.unit_a)
    other_editor = login("editor2")
    article = create(pub)
    response = submit(pub, article["id"], client=other_editor)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    response = other_editor.put(f"/api/v1/articles/{article['id']}", article_body(pub))
    assert response.status_code == 403
    assert pub.editor_b.get(f"/api/v1/articles/{article['id']}").status_code == 403
    assert pub.reviewer.post("/api/v1/articles", article_body(pub)).status_code == 403
    assert pub.editor.get("/api/v1/articles/999").status_code == 404


def test_missing_title_cover_and_link_block_per_target(pub):
    article = create(pub, title="  ", cover_image_base64=None, source_url=None)
    rules = {c["rule"]: c["severity"] for c in article["checks"]}
    assert rules == {"missing_title": "block", "missing_cover": "block", "missing_link": "block"}
    weibo_only = create(pub, cover_image_base64=None, target_account_ids=[pub.weibo_id],
                        weibo_text="长" * 120)
    rules = {c["rule"] for c in weibo_only["checks"]}
    assert "missing_cover" not in rules and "weibo_too_long" in rules
    assert weibo_only["weibo_post"]["length"] == 120 + 1 + len("https://www.example.gov.cn/news/1.html")


def test_bad_input_is_refused_and_nothing_is_half_saved(pub):
    before = (Article.query.count(), ArticleImage.query.count())
    cases = [
        ({"target_account_ids": [999]}, 400, "target_account_ids"),
        ({"target_account_ids": [pub.other_id]}, 403, "target_account_ids"),
        ({"target_account_ids": []}, 400, "target_account_ids"),
        ({"cover_image_base64": base64.b64encode(b"GIF89a not really").decode()}, 400,
         "cover_image_base64"),
        ({"cover_image_base64": base64.b64encode(b"<svg onload=alert(1)></svg>").decode()}, 400,
         "cover_image_base64"),
        ({"cover_image_base64": "data:image/png;base64," + png_base64()}, 400, "cover_image_base64"),
        ({"cover_image_base64": "!!!not base64"}, 400, "cover_image_base64"),
        ({"source_url": "javascript:alert(1)"}, 400, "source_url"),
        ({"target_account_ids": ["1"]}, 400, "target_account_ids.0"),
    ]
    for extra, status, field in cases:
        response = pub.editor.post("/api/v1/articles", article_body(pub, **extra))
        assert response.status_code == status, (extra, response.get_json())
        assert field in response.get_json()["error"]["fields"], response.get_json()
    assert (Article.query.count(), ArticleImage.query.count()) == before


def test_an_oversized_cover_is_refused(pub, app):
    app.config["PUBLISHER_COVER_MAX_BYTES"] = 1000
    response = pub.editor.post("/api/v1/articles",
                               article_body(pub, cover_image_base64=png_base64((600, 600))))
    assert response.status_code == 400
    assert "MiB" in response.get_json()["error"]["fields"]["cover_image_base64"]
    assert Article.query.count() == 0


def test_script_tags_and_event_handlers_are_neutralised(pub):
    article = create(pub, body_html='<p onclick="steal()">正文<script>alert(1)</script>'
                                    '<img src="https://www.example.gov.cn/a.png" onerror="x()">'
                                    '<a href="javascript:alert(1)">链接</a><style>p{}</style></p>')
    html = article["body_html"]
    for bad in ("<script", "alert(1)", "onclick", "onerror", "javascript:", "<style"):
        assert bad not in html
    assert "正文" in html and '<img src="https://www.example.gov.cn/a.png">' in html


def test_a_source_system_pushes_an_article_reviewed_upstream(pub):
    record = [{"stage": 1, "name": "张三", "reviewed_at": "2026-11-20T09:00:00+08:00"},
              {"stage": 2, "name": "李四", "reviewed_at": "2026-11-20T10:00:00+08:00"},
              {"stage": 3, "name": "王五", "reviewed_at": "2026-11-20T11:00:00+08:00"}]
    article = create(pub, client=pub.source, review_record=record)
    assert article["status"] == "approved" and article["origin"] == "source"
    assert [d["status"] for d in article["deliveries"]] == ["queued", "queued"]
    assert [(r["stage"], r["name"], r["upstream"]) for r in article["reviews"]] == [
        (1, "张三", True), (2, "李四", True), (3, "王五", True)]

    incomplete = [dict(record[0]), dict(record[1]), dict(record[2], name="张三")]
    for bad in (record[:2], incomplete, None):
        response = pub.source.post("/api/v1/articles", article_body(pub, review_record=bad))
        assert response.status_code == 400, response.get_json()
        assert "review_record" in response.get_json()["error"]["fields"]
    response = pub.source.post("/api/v1/articles", article_body(
        pub, review_record=record, body_html="<p>内部资料 注意保存</p>"))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "checks_failed"
    response = pub.editor.post("/api/v1/articles", article_body(pub, review_record=record))
    assert response.status_code == 400 and "review_record" in response.get_json()["error"]["fields"]
    assert Article.query.count() == 1 and Delivery.query.count() == 2
    assert ArticleReview.query.count() == 3


def test_supervisors_manage_the_lists_and_severities(pub):
    article = create(pub, body_html="<p>某某功法与最佳实践，详见 https://evil.example.com/x</p>")
    assert {c["rule"] for c in article["checks"]} == {"advertising", "external_link"}

    assert pub.editor.post("/api/v1/checks/lists/banned", {"add": ["某某功"]}).status_code == 403
    response = pub.supervisor.post("/api/v1/checks/lists/banned", {"add": ["某某功", " 某某功 "]})
    assert response.status_code == 200 and response.get_json()["added"] == 1
    response = pub.supervisor.post("/api/v1/checks/lists/domain", {"add": ["https://example.com/"]})
    assert response.get_json()["added"] == 1
    response = pub.supervisor.post("/api/v1/checks/lists/advertising", {"remove": ["最佳"]})
    assert response.get_json()["removed"] == 1
    response = pub.supervisor.put("/api/v1/checks/severities",
                                  {"severities": {"mobile_number": "block"}})
    assert response.status_code == 200
    assert response.get_json()["severities"]["mobile_number"] == "block"

    body = article_body(pub, body_html="<p>某某功法与最佳实践，详见 https://evil.example.com/x "
                                       "电话13800138000</p>")
    updated = pub.editor.put(f"/api/v1/articles/{article['id']}", body).get_json()
    found = {c["rule"]: c["severity"] for c in updated["checks"]}
    assert found == {"banned_word": "block", "mobile_number": "block"}
    listing = pub.supervisor.get("/api/v1/checks/lists/domain").get_json()
    assert listing["items"] == ["example.com", "gov.cn"]
    rules = pub.editor.get("/api/v1/checks").get_json()
    assert rules["lists"]["banned"] == 1
    assert pub.supervisor.put("/api/v1/checks/severities",
                              {"severities": {"nope": "block"}}).status_code == 400


def test_queues_show_what_waits_for_each_person(pub):
    from govmedia.models import User
    from publisher.editorial.review import queues

    first, second = create(pub), create(pub)
    submit(pub, first["id"])
    submit(pub, second["id"])
    review(pub.reviewer, second["id"])

    def queue(username):
        user = User.query.filter_by(username=username).one()
        return {k: [a.id for a in v] for k, v in queues(user).items()}

    assert queue("reviewer")["to_review"] == [first["id"]]
    assert queue("reviewer")["to_sign"] == []
    assert queue("signer")["to_sign"] == [second["id"]]
    assert queue("both") == {"to_review": [first["id"]], "to_sign": [second["id"]],
                             "returned": [], "drafts": []}
    review(pub.signer, second["id"], "reject", "请补充数据来源")
    assert queue("editor")["returned"] == [second["id"]]
    assert queue("reviewer_b")["to_review"] == []
    listing = pub.editor.get("/api/v1/articles", status="returned").get_json()
    assert [a["id"] for a in listing["items"]] == [second["id"]] and listing["total"] == 1
