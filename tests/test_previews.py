"""Issue 15: a per-platform preview for every target before sign-off — what goes out there and
which of the platform's limits it breaks (publisher/editorial/previews.py).

Expected texts are built here from the article's own fields and the platforms' documented
limits (a title of 16 characters on 视频号, WeChat's 64), not read back from the code."""
from conftest import account_body
from test_publisher_api import create, pub  # noqa: F401 - fixture
from test_pages import page_client

LINK = "https://www.example.gov.cn/news/1.html"


def previews(pub, article_id, lang=None):  # noqa: F811
    api = pub.editor
    headers = {**api._headers(), **({"Accept-Language": lang} if lang else {})}
    response = api.client.get(f"/api/v1/articles/{article_id}/previews", headers=headers)
    assert response.status_code == 200, response.get_json()
    return {p["platform"]: p for p in response.get_json()["items"]}


def test_each_target_shows_its_text_and_the_limits_it_breaks(app, world, pub):  # noqa: F811
    channels = world.sponsor_a.post("/api/v1/accounts", account_body(
        pub.unit_a, platform="channels", handle="sph_county", name="某县视频号")).get_json()
    douyin = world.sponsor_a.post("/api/v1/accounts", account_body(
        pub.unit_a, platform="douyin", handle="55667788", name="某县抖音")).get_json()
    title = "县" * 70   # over WeChat's 64 and 视频号's 16
    body = "<p>" + "会议研究部署了近期重点工作。" * 100 + "</p>"   # 1,400 characters
    article = create(pub, title=title, body_html=body, target_account_ids=[
        pub.wechat_id, pub.weibo_id, channels["id"], douyin["id"]])
    shown = previews(pub, article["id"])
    assert list(shown) == ["wechat", "weibo", "channels", "douyin"]
    wechat = shown["wechat"]
    assert not wechat["by_task"] and wechat["title"] == title
    assert any("70" in p and "64" in p for p in wechat["problems"])
    weibo = shown["weibo"]
    assert weibo["title"] is None and weibo["text"].endswith(LINK) and weibo["text_limit"] == 140
    assert len(weibo["text"]) <= 140 and weibo["problems"] == []
    # 视频号 has no publishing API: a task, its copy cut to the platform's 16 and 1,000
    chan = shown["channels"]
    assert chan["by_task"] and chan["title"] == "县" * 15 + "…"
    assert len(chan["text"]) <= 1000 and chan["text"].endswith(LINK)
    assert chan["notes"] and chan["problems"] == []
    # Douyin without authorisation is a task as well; by hand it needs no video
    dy = shown["douyin"]
    assert dy["by_task"] and dy["video"] is False and dy["problems"] == []
    # in English the problems are English, in Chinese Chinese
    english = previews(pub, article["id"], "en")["wechat"]["problems"]
    assert english and all(not any("\u4e00" <= ch <= "\u9fff" for ch in p) for p in english)
    chinese = previews(pub, article["id"], "zh")["wechat"]["problems"]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in p) for p in chinese)


def test_the_article_page_shows_a_preview_per_target(app, pub):  # noqa: F811
    article = create(pub, title="县" * 65)
    client = page_client(app, "editor")
    html = client.get(f"/articles/{article['id']}").get_data(as_text=True)
    section = html.split('id="target-previews"')[1].split("</section>\n\n")[0]
    assert f'id="preview-{pub.wechat_id}"' in section and f'id="preview-{pub.weibo_id}"' in section
    wechat = section.split(f'id="preview-{pub.wechat_id}"')[1].split('id="preview-')[0]
    assert "65" in wechat and "64" in wechat and "tp-problems" in wechat
    weibo = section.split(f'id="preview-{pub.weibo_id}"')[1]
    assert "tp-ok" in weibo and "符合该平台的要求" in weibo and "通过平台接口发布" in weibo


def test_another_units_editor_cannot_see_the_previews(pub):  # noqa: F811
    article = create(pub)
    assert pub.editor_b.get(f"/api/v1/articles/{article['id']}/previews").status_code == 403
    assert pub.editor.get("/api/v1/articles/999999/previews").status_code == 404


def test_images_no_article_shows_go_after_a_week_and_the_rest_stay(app, pub):  # noqa: F811
    import base64
    from datetime import timedelta

    from sqlalchemy import select, update

    from cluster import png_base64
    from govmedia.extensions import db
    from govmedia.types import utcnow
    from publisher.covers import remove_unused_images, store_cover
    from publisher.models import Article, ArticleImage, ArticleRevision

    def image():
        row = store_cover(base64.b64decode(png_base64()))
        db.session.flush()
        return row.id

    unused, in_body, in_revision, recent, one = image(), image(), image(), image(), image()
    article = create(pub)                       # its cover is an image too
    cover = db.session.get(Article, article["id"]).cover_id
    db.session.execute(update(Article).where(Article.id == article["id"]).values(
        body_html=f'<p>正文<img src="/articles/images/{in_body}"></p>'))
    db.session.add(ArticleRevision(article_id=article["id"], revision=99, content_hash="x",
                                   body_html=f'<p><img src="/articles/images/{in_revision}"></p>'
                                             f'<p><img src="/articles/images/{one}0"></p>'))
    old = utcnow() - timedelta(days=8)
    db.session.execute(update(ArticleImage).where(ArticleImage.id != recent)
                       .values(created_at=old))
    db.session.commit()
    assert remove_unused_images() == 2           # `unused`, and `one` (only "{one}0" is named)
    db.session.commit()
    left = set(db.session.scalars(select(ArticleImage.id)))
    assert unused not in left and one not in left
    assert {in_body, in_revision, recent, cover} <= left
