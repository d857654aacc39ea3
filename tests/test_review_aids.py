"""Reviews a reviewer can work with (issue 12): the returned version beside the resubmitted
one, comments anchored to a passage, and a form error that keeps the chosen cover."""
import re

import pytest
from test_publisher_api import build_pub, create, review, submit
from test_publisher_pages import form, page_login

from govmedia.extensions import db
from govmedia.models import AuditEntry
from publisher.compare import diff_lines
from publisher.models import Article, ArticleComment, ArticleImage, ArticleRevision
from publisher.passages import body_text, mark_ranges, paragraphs

CHECKLIST = ["sensitive_words", "typos", "names_places", "confidentiality", "layout"]
BODY = ("<p>会议研究部署了近期重点工作。</p><p>会议要求各部门&amp;各乡镇抓好落实。</p>"
        "<p>会议强调安全生产。</p>")


@pytest.fixture
def pub(world, login):
    return build_pub(world, login)


def returned_article(pub, body=BODY):
    """Drafted, submitted, returned by the reviewer with a reason."""
    article = create(pub, body_html=body)
    assert submit(pub, article["id"], checklist=CHECKLIST).status_code == 200
    returned = review(pub.reviewer, article["id"], "reject", "第二段表述不准确")
    assert returned.status_code == 200 and returned.get_json()["status"] == "returned"
    return article


def resubmit(pub, article, **changes):
    body = {"title": article["title"], "body_html": article["body_html"],
            "digest": article["digest"], "author": article["author"],
            "source_url": article["source_url"],
            "target_account_ids": article["target_account_ids"]} | changes
    changed = pub.editor.put(f"/api/v1/articles/{article['id']}", body)
    assert changed.status_code == 200, changed.get_json()
    assert submit(pub, article["id"], checklist=CHECKLIST).status_code == 200
    return changed.get_json()


# --- the body's text, paragraphs and marks ---------------------------------------------------

def test_the_body_text_counts_what_the_browser_shows():
    html = '<p>甲&amp;乙<strong>丙</strong></p><p>丁<img src="/x.png">戊</p>'
    assert body_text(html) == "甲&乙丙丁戊"
    assert paragraphs(html) == ["甲&乙丙", "丁", "[/x.png]", "戊"]
    # a range across an element is marked piece by piece; entities stay escaped
    marked = mark_ranges(html, [(1, 4, {"class": "c", "data-comments": "7"})])
    assert marked == ('<p>甲<mark class="c" data-comments="7">&amp;乙</mark><strong>'
                      '<mark class="c" data-comments="7">丙</mark></strong></p>'
                      '<p>丁<img src="/x.png">戊</p>')
    assert body_text(marked) == body_text(html)


def test_a_diff_pairs_changed_paragraphs_and_marks_inside_them():
    rows = diff_lines(["第一段。", "第二段旧。", "删去的段。"], ["第一段。", "第二段新。"])
    assert [r["op"] for r in rows] == ["equal", "replace", "delete"]
    assert rows[1]["old"] == [{"text": "第二段", "changed": False},
                              {"text": "旧", "changed": True}, {"text": "。", "changed": False}]
    assert rows[1]["new"][1] == {"text": "新", "changed": True}
    assert rows[2] == {"op": "delete", "old": [{"text": "删去的段。", "changed": True}],
                       "new": None}
    assert [r["op"] for r in diff_lines([], ["新增"])] == ["insert"]


# --- the comparison --------------------------------------------------------------------------

def test_the_resubmitted_version_compares_with_the_returned_one(app, pub):
    article = returned_article(pub)
    # before the drafter changes anything there is nothing to compare on the page
    reviewer = page_login(app, "reviewer")
    assert 'id="comparison"' not in reviewer.get(f"/articles/{article['id']}").get_data(True)
    new_body = BODY.replace("各部门&amp;各乡镇", "各部门和各乡镇") + "<p>新增：<b>&lt;script&gt;</b></p>"
    resubmit(pub, article, title="县政府召开第十二次常务会议", body_html=new_body)
    assert db.session.scalar(db.select(db.func.count()).select_from(ArticleRevision)) == 2

    result = pub.reviewer.get(f"/api/v1/articles/{article['id']}/compare")
    assert result.status_code == 200, result.get_json()
    data = result.get_json()
    assert data["from"]["revision"] == 1 and data["to"]["revision"] == 2 and data["changed"]
    fields = {f["field"]: f["rows"] for f in data["fields"]}
    assert [r["op"] for r in fields["title"]] == ["replace"]
    assert [s["text"] for s in fields["title"][0]["new"] if s["changed"]] == ["第十二次"]
    assert [r["op"] for r in fields["digest"]] == ["equal"]
    assert [r["op"] for r in fields["body"]] == ["equal", "replace", "equal", "insert"]
    assert [s["text"] for s in fields["body"][1]["old"] if s["changed"]] == ["&"]
    assert [s["text"] for s in fields["body"][1]["new"] if s["changed"]] == ["和"]
    assert fields["body"][3]["new"][0]["text"] == "新增：<script>"
    # an explicit revision, one never kept, an article never returned
    assert pub.reviewer.get(f"/api/v1/articles/{article['id']}/compare",
                            **{"from": 2}).get_json()["changed"] is False
    missing = pub.reviewer.get(f"/api/v1/articles/{article['id']}/compare", **{"from": 9})
    assert missing.status_code == 404 and missing.get_json()["error"]["fields"] == {
        "from": "revision 9 not kept"}
    fresh = create(pub)
    assert pub.reviewer.get(f"/api/v1/articles/{fresh['id']}/compare").status_code == 404
    assert pub.reviewer_b.get(f"/api/v1/articles/{article['id']}/compare").status_code in (403, 404)

    page = reviewer.get(f"/articles/{article['id']}").get_data(as_text=True)
    section = page[page.index('id="comparison"'):page.index("</section>", page.index('id="comparison"'))]
    assert "退回的版本与重新提交的版本对照" in section
    assert "<del>&amp;</del>" in section and "<ins>和</ins>" in section
    assert "<ins>新增：&lt;script&gt;</ins>" in section and "<script>" not in section
    assert "<ins>第十二次</ins>" in section


# --- comments on a passage -------------------------------------------------------------------

def test_a_reviewer_comments_on_a_passage_and_the_drafter_reads_it_after_the_return(app, pub):
    article = create(pub, body_html=BODY)
    assert submit(pub, article["id"], checklist=CHECKLIST).status_code == 200
    text = body_text(BODY)
    quote = "各部门&各乡镇"
    start = text.index(quote)
    reviewer = page_login(app, "reviewer")
    url = f"/articles/{article['id']}/comments"

    # what is refused: no passage, a passage not in the body, no comment text
    for data, field in (({"quote": " ", "text": "说明"}, "quote"),
                        ({"quote": "不存在的话", "text": "说明"}, "quote"),
                        ({"quote": quote, "text": "  "}, "text")):
        refused = reviewer.post(url, data=data)
        assert refused.status_code == 400
        assert re.search(rf'class="field invalid">\s*<label for="f-{field}"',
                         refused.get_data(as_text=True)), field
    # the drafter, and a reviewer of another unit, may not comment
    editor = page_login(app, "editor")
    assert editor.post(url, data={"quote": quote, "text": "x"}).status_code == 403
    other = page_login(app, "reviewer_b")
    assert other.post(url, data={"quote": quote, "text": "x"}).status_code in (403, 404)
    assert ArticleComment.query.count() == 0

    made = reviewer.post(url, data={"quote": quote, "start": str(start), "text": "改为“和”",
                                    "content_hash": article["content_hash"]})
    assert made.status_code == 302 and made.headers["Location"].endswith("#comments")
    # a start the browser measured wrongly: the passage is found where it is
    reviewer.post(url, data={"quote": "安全生产", "start": "0", "text": "补充具体措施"})
    first, second = ArticleComment.query.order_by(ArticleComment.id).all()
    assert (first.quote_start, first.quote_end, first.stage, first.revision) == (
        start, start + len(quote), 2, 1)
    assert second.quote_start == text.index("安全生产")
    entry = db.session.scalars(db.select(AuditEntry).where(
        AuditEntry.action == "article.comment")).first()
    assert entry.after["quote"] == quote and entry.after["stage"] == 2

    page = reviewer.get(f"/articles/{article['id']}").get_data(as_text=True)
    assert (f'<mark class="comment-anchor" data-comments="{first.id}">各部门&amp;各乡镇</mark>'
            in page)
    assert "改为“和”" in page and "js/comments.js" in page
    # an old page's hash: the article changed since the reviewer saw it
    stale = reviewer.post(url, data={"quote": quote, "text": "x", "content_hash": "0" * 64})
    assert stale.status_code == 409

    assert review(pub.reviewer, article["id"], "reject", "见批注").status_code == 200
    api = pub.editor.get(f"/api/v1/articles/{article['id']}").get_json()
    assert [c["quote"] for c in api["comments"]] == [quote, "安全生产"]
    assert api["comments"][0]["start"] == start and api["comments"][0]["name"]
    drafter_page = editor.get(f"/articles/{article['id']}").get_data(as_text=True)
    assert 'id="comments"' in drafter_page and "补充具体措施" in drafter_page
    assert 'id="comment-form"' not in drafter_page
    edit = editor.get(f"/articles/{article['id']}/edit").get_data(as_text=True)
    assert 'id="returned-comments"' in edit and "改为“和”" in edit
    # after the drafter changes the body the old comments are listed, no longer marked
    resubmit(pub, article, body_html=BODY.replace("&amp;", "和"))
    page = reviewer.get(f"/articles/{article['id']}").get_data(as_text=True)
    assert "comment-anchor" not in page and 'class="earlier"' in page


def test_english_pages_say_the_review_aids_in_english(app, pub):
    article = returned_article(pub)
    resubmit(pub, article, title="新标题")
    client = page_login(app, "reviewer")
    client.get("/lang/en")
    page = client.get(f"/articles/{article['id']}").get_data(as_text=True)
    assert "Returned version beside the resubmitted one" in page
    assert "Comments on passages" in page and "Comment on the passage" in page


# --- a form error keeps the chosen cover -----------------------------------------------------

def kept_form(pub, kept_id, **extra):
    data = form(pub, cover_pending_id=kept_id, **extra)
    del data["cover"]
    return data


def test_a_form_error_keeps_the_chosen_cover(app, pub):
    client = page_login(app, "editor")
    response = client.post("/articles/new", data=form(pub, target_account_ids=[]),
                           content_type="multipart/form-data")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    kept = re.search(r'name="cover_pending_id" value="(\d+)"', page)
    assert kept and 'id="kept-cover"' in page and "40×30" in page
    image = db.session.get(ArticleImage, int(kept.group(1)))
    assert image.uploaded_by_id is not None and Article.query.count() == 0

    # a domain refusal (another unit's account) keeps it too, and so does the next error
    again = client.post("/articles/new", data=kept_form(
        pub, kept.group(1), target_account_ids=[str(pub.other_id)]),
        content_type="multipart/form-data")
    assert again.status_code == 403
    assert f'name="cover_pending_id" value="{kept.group(1)}"' in again.get_data(as_text=True)

    # someone else cannot attach it by its id
    other = page_login(app, "editor_reviewer")
    stolen = other.post("/articles/new", data=kept_form(pub, kept.group(1)),
                        content_type="multipart/form-data")
    assert stolen.status_code == 400 and Article.query.count() == 0

    saved = client.post("/articles/new", data=kept_form(pub, kept.group(1)),
                        content_type="multipart/form-data")
    assert saved.status_code == 302
    article = Article.query.one()
    assert article.cover_id == int(kept.group(1))
    # the editor of an existing article: an error keeps a newly chosen cover as well
    broken = client.post(f"/articles/{article.id}/edit", data=form(
        pub, source_url="ftp://example"), content_type="multipart/form-data")
    assert broken.status_code == 400
    assert 'name="cover_pending_id"' in broken.get_data(as_text=True)


# --- images in the body, from the editor's image button ------------------------------------

def test_an_image_inserted_in_the_body_is_checked_served_and_handed_to_the_adapters(app, pub):
    import base64

    from test_publisher_api import png_base64

    from publisher.fanout.content_cache import cached_content

    png = base64.b64decode(png_base64((64, 48)))
    editor = page_login(app, "editor")
    uploaded = editor.post("/articles/images", data=png, content_type="image/png")
    assert uploaded.status_code == 201, uploaded.get_json()
    image = uploaded.get_json()
    assert image["src"] == f"/articles/images/{image['id']}" and image["width"] == 64
    # checked by its content, not its name or type
    refused = editor.post("/articles/images", data=b"GIF89a not really", content_type="image/gif")
    assert refused.status_code == 400 and set(refused.get_json()["error"]["fields"]) == {"image"}
    assert "只能插入" in refused.get_json()["error"]["message"]
    assert page_login(app, "reviewer").post("/articles/images", data=png,
                                            content_type="image/png").status_code == 403
    # the uploader's unit sees it; another unit is refused
    shown = page_login(app, "reviewer").get(image["src"])
    assert shown.status_code == 200 and shown.data == png and shown.mimetype == "image/png"
    assert page_login(app, "reviewer_b").get(image["src"]).status_code == 403
    assert editor.get("/articles/images/999999").status_code == 404

    body = f'<p>配图如下。</p><p><img src="{image["src"]}" alt="" width="64" height="48"></p>'
    article = create(pub, body_html=body)
    assert image["src"] in article["body_html"]
    page = page_login(app, "reviewer").get(f"/articles/{article['id']}").get_data(as_text=True)
    assert f'src="{image["src"]}"' in page
    # the send job hands the image's bytes to the adapter under its src
    row = db.session.get(Article, article["id"])
    content, _checked = cached_content(row.id, row.content_hash, db.session.connection())
    assert content.images == {image["src"]: png}
    again, _checked = cached_content(row.id, row.content_hash, db.session.connection())
    assert again.images == {image["src"]: png}


def test_the_api_comments_on_a_passage_and_uploads_a_body_image(app, pub):
    import base64

    from test_publisher_api import png_base64

    article = create(pub, body_html=BODY)
    assert submit(pub, article["id"], checklist=CHECKLIST).status_code == 200
    quote = "各部门&各乡镇"
    url = f"/api/v1/articles/{article['id']}/comments"
    refused = pub.reviewer.post(url, {"quote": "不存在的话", "text": "说明"})
    assert refused.status_code == 400 and "quote" in refused.get_json()["error"]["fields"]
    assert pub.editor.post(url, {"quote": quote, "text": "x"}).status_code == 403
    stale = pub.reviewer.post(url, {"quote": quote, "text": "x", "content_hash": "0" * 64})
    assert stale.status_code == 409
    made = pub.reviewer.post(url, {"quote": quote, "text": "改为“和”",
                                   "content_hash": article["content_hash"]})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["quote"] == quote
    assert made.get_json()["start"] == body_text(BODY).index(quote)
    shown = pub.editor.get(f"/api/v1/articles/{article['id']}").get_json()
    assert [c["text"] for c in shown["comments"]] == ["改为“和”"]
    # a body image by API: the raw file, checked by its content
    png = base64.b64decode(png_base64((64, 48)))
    api = pub.editor
    uploaded = api.client.post("/api/v1/articles/images", data=png,
                               headers={**api._headers(), "Content-Type": "image/png"})
    assert uploaded.status_code == 201, uploaded.get_json()
    assert uploaded.get_json()["src"] == f"/articles/images/{uploaded.get_json()['id']}"
    bad = api.client.post("/api/v1/articles/images", data=b"GIF89a not really",
                          headers={**api._headers(), "Content-Type": "image/gif"})
    assert bad.status_code == 400 and "image" in bad.get_json()["error"]["fields"]
    assert pub.reviewer.client.post("/api/v1/articles/images", data=png, headers={
        **pub.reviewer._headers(), "Content-Type": "image/png"}).status_code == 403
