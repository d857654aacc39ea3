"""Publisher pages: the editor, the article page with previews and findings, queues, check lists."""
import io
import re

import pytest
from conftest import PASSWORD
from test_publisher_api import build_pub, create, png_base64

from govmedia.extensions import db
from publisher.models import Article


@pytest.fixture
def pub(world, login):
    return build_pub(world, login)


def page_login(app, username):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def png_file():
    import base64

    return io.BytesIO(base64.b64decode(png_base64()))


def form(pub, **extra):
    data = {"title": "县政府召开常务会议", "body_html": "<p>会议研究部署了近期重点工作。</p>",
            "digest": "摘要", "author": "县政府办", "source_url": "https://www.example.gov.cn/n/1.html",
            "weibo_text": "", "target_account_ids": [str(pub.wechat_id), str(pub.weibo_id)],
            "publish_at": "", "cover": (png_file(), "cover.png")}
    data.update(extra)
    return data


def test_the_editor_saves_sanitizes_and_shows_findings(app, pub):
    client = page_login(app, "editor")
    page = client.get("/articles/new").get_data(as_text=True)
    assert "新建稿件" in page and 'id="weibo-counter"' in page and "js/publisher.js" in page
    response = client.post("/articles/new", data=form(pub, body_html=(
        '<p onmouseover="x()">本件为机密。<script>alert(1)</script></p>')),
        content_type="multipart/form-data")
    assert response.status_code == 302
    article = Article.query.one()
    assert article.body_html == "<p>本件为机密。</p>" and article.cover is not None
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "密级标志" in page and '<mark class="finding block"' in page
    assert "<script>alert" not in page
    assert "微信公众号文章" in page and "微博" in page   # the two previews
    edit = client.get(f"/articles/{article.id}/edit").get_data(as_text=True)
    assert 'data-start="6" data-end="8"' in edit and "在编辑器中显示" in edit

    # the self-check stops the submission; nothing changes
    response = client.post(f"/articles/{article.id}/submit",
                           data={"checklist": ["sensitive_words", "typos", "names_places",
                                               "confidentiality", "layout"]})
    assert response.status_code == 409
    assert "密级标志" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Article, article.id).status == "draft"


def test_bad_cover_and_foreign_target_are_shown_on_the_form(app, pub):
    client = page_login(app, "editor")
    response = client.post("/articles/new", data=form(pub, cover=(io.BytesIO(b"not an image"),
                                                                  "x.png")),
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "封面图片不是有效的图片文件" in response.get_data(as_text=True)
    response = client.post("/articles/new", data=form(
        pub, target_account_ids=[str(pub.other_id)]), content_type="multipart/form-data")
    assert response.status_code == 403 and "属于其他单位" in response.get_data(as_text=True)
    response = client.post("/articles/new", data=form(pub, target_account_ids=[]),
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert Article.query.count() == 0


def test_the_three_reviews_through_the_pages(app, pub):
    article = create(pub)
    editor = page_login(app, "editor")
    response = editor.post(f"/articles/{article['id']}/submit", data={"checklist": ["typos"]})
    assert response.status_code == 400
    response = editor.post(f"/articles/{article['id']}/submit", data={
        "checklist": ["sensitive_words", "typos", "names_places", "confidentiality", "layout"]})
    assert response.status_code == 302

    reviewer = page_login(app, "reviewer")
    queue = reviewer.get("/articles/queue").get_data(as_text=True)
    assert f"/articles/{article['id']}" in queue.split('id="to-review"')[1].split("</section>")[0]
    page = reviewer.get(f"/articles/{article['id']}").get_data(as_text=True)
    hash_value = re.search(r'name="content_hash" value="([0-9a-f]{64})"', page).group(1)
    response = reviewer.post(f"/articles/{article['id']}/review",
                             data={"decision": "approve", "comment": "",
                                   "content_hash": hash_value})
    assert response.status_code == 302

    drafter_page = editor.get(f"/articles/{article['id']}").get_data(as_text=True)
    assert 'id="review"' not in drafter_page

    signer = page_login(app, "signer")
    response = signer.post(f"/articles/{article['id']}/review",
                           data={"decision": "reject", "comment": ""})
    assert response.status_code == 400 and "退回" in response.get_data(as_text=True)
    response = signer.post(f"/articles/{article['id']}/review",
                           data={"decision": "approve", "comment": "同意",
                                 "content_hash": hash_value})
    assert response.status_code == 302
    page = signer.get(f"/articles/{article['id']}").get_data(as_text=True)
    deliveries = page.split('id="deliveries"')[1].split("</ul>")[0]
    assert "已通过" in page and deliveries.count("排队待发") == 2
    history = page.split('id="history"')[1]
    for step in ("创建", "提交审核", "二审通过", "签发"):
        assert step in history


def test_supervisors_manage_lists_on_the_page(app, pub):
    client = page_login(app, "supervisor")
    page = client.get("/checks").get_data(as_text=True)
    assert "禁用词" in page and "严重程度" in page
    response = client.post("/checks/lists/banned", data={"add": "某某功\n 另一个词 \n\n"})
    assert response.status_code == 302
    page = client.get("/checks?list=banned").get_data(as_text=True)
    assert "某某功" in page and "另一个词" in page
    client.post("/checks/lists/banned", data={"file": (io.BytesIO("\ufeff第三个\n".encode()),
                                                       "words.txt")},
                content_type="multipart/form-data")
    client.post("/checks/lists/banned", data={"remove": ["另一个词"]})
    page = client.get("/checks?list=banned").get_data(as_text=True)
    assert "另一个词" not in page and "第三个" in page
    client.post("/checks/severities", data={"severity-mobile_number": "block"})
    assert "selected" in client.get("/checks").get_data(as_text=True).split(
        'name="severity-mobile_number"')[1].split("</select>")[0].split("block")[1][:12]
    editor = page_login(app, "editor")
    assert editor.get("/checks").status_code == 403
