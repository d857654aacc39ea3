"""Issue 12: each target platform's limits are errors of the automated checks, with the
platform named, so an article over them never enters review (publisher/platform_limits.py)."""
import pytest
from test_publisher_api import article_body, create, pub, submit  # noqa: F401 - fixture
from test_pages import html, page_client

from publisher import checks
from publisher.platform_limits import MIB, limit_problems


def problems(platform, **kw):
    fields = {"title": "标题", "digest": None, "body_html": "<p>正文</p>", "cover_size": None,
              "cover_mime": None} | kw
    return [(p.field, p.what) for p in limit_problems(platform, **fields)]


@pytest.mark.parametrize("kw, found", [
    ({"title": "题" * 64}, []),
    ({"title": "题" * 65}, [("title", "title")]),
    ({"digest": "摘" * 120}, []),
    ({"digest": "摘" * 121}, [("digest", "digest")]),
    ({"body_html": "<p>" + "字" * 19_993 + "</p>"}, [("body_html", "body_chars")]),
    ({"body_html": "<p>" + "字" * 19_992 + "</p>"}, []),
    ({"body_html": "<p>" + "a" * 19_000 + "</p>"}, []),
    ({"cover_size": 10 * MIB + 1}, [("cover_image_base64", "cover_bytes")]),
    ({"cover_mime": "image/webp"}, [("cover_image_base64", "cover_format")]),
    ({"body_html": '<p><img src="https://x.gov.cn/a.gif"><img src="https://x.gov.cn/b.PNG">'
                   '<img src="https://x.gov.cn/c?id=1"></p>'}, [("body_html", "picture_type")]),
])
def test_wechat_limits(kw, found):
    assert problems("wechat", **kw) == found


def test_weibo_takes_a_cover_under_5_mb_and_other_platforms_have_no_known_limits():
    assert problems("weibo", title="题" * 500, cover_size=5 * MIB) == [
        ("cover_image_base64", "cover_bytes")]
    assert problems("weibo", cover_size=5 * MIB - 1, cover_mime="image/gif") == []
    assert problems("douyin", title="题" * 5000) == []  # no publishing API: a person posts it


def test_an_article_over_wechats_title_limit_blocks_with_the_platform_named(pub):  # noqa: F811
    article = create(pub, title="县" * 65)
    [finding] = [f for f in article["checks"] if f["rule"] == "platform_limit"]
    assert finding["severity"] == "block" and finding["field"] == "title"
    assert "微信公众号" in finding["message"] and "65" in finding["message"]
    refused = submit(pub, article["id"], confirmations=[])
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "checks_failed"
    # the same article only for Weibo: the WeChat title limit does not apply
    weibo_only = create(pub, title="县" * 65, target_account_ids=[pub.weibo_id])
    assert not [f for f in weibo_only["checks"] if f["rule"] == "platform_limit"]


def test_a_supervisor_cannot_make_a_platform_limit_a_warning(pub):  # noqa: F811
    response = pub.supervisor.put("/api/v1/checks/severities",
                                  {"severities": {"platform_limit": "warn"}})
    assert response.status_code == 400
    assert "severities" in response.get_json()["error"]["fields"]
    ok = pub.supervisor.put("/api/v1/checks/severities", {"severities": {"mobile_number": "block"}})
    assert ok.status_code == 200, ok.get_json()
    assert checks.run_checks(checks.Content(title="题" * 70, body_html="<p>x</p>",
                                            platforms=frozenset({"wechat"}), has_cover=True),
                             checks.build_matcher({}), {"platform_limit": "warn"}
                             )[0]["severity"] == "block"


def test_the_article_page_names_the_platform_of_a_limit(app, pub):  # noqa: F811
    article = create(pub, title="县" * 70)
    page = html(page_client(app, "editor").get(f"/articles/{article['id']}"))
    assert "微信公众号：标题 70 字，超过平台上限 64 字" in page


def test_an_uploaded_picture_is_judged_by_what_it_is():
    """A picture from the editor's image button has no file type in its address: WeChat's
    uploadimg takes JPG or PNG under 1 MB, judged by the stored picture's type and size."""
    body = ('<p><img src="/articles/images/1"><img src="/articles/images/2">'
            '<img src="/articles/images/3"></p>')
    pictures = (("/articles/images/1", "image/gif", 1000),
                ("/articles/images/2", "image/png", MIB),
                ("/articles/images/3", "image/jpeg", MIB - 1))
    found = limit_problems("wechat", title="标题", digest=None, body_html=body, cover_size=None,
                           cover_mime=None, pictures=pictures)
    assert [(p.what, p.value) for p in found] == [
        ("picture_type", "/articles/images/1"), ("picture_bytes", ("/articles/images/2", MIB))]
    assert limit_problems("weibo", title="标题", digest=None, body_html=body, cover_size=None,
                          cover_mime=None, pictures=pictures) == []


def test_a_gif_or_a_large_picture_inserted_in_the_body_blocks_before_review(pub):  # noqa: F811
    import io
    import random

    from PIL import Image

    def upload(data):
        answer = pub.editor.post("/api/v1/articles/images", data=data,
                                 content_type="application/octet-stream")
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["src"]

    gif = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(gif, "GIF")
    noise = Image.frombytes("RGB", (700, 700), random.Random(15).randbytes(700 * 700 * 3))
    large = io.BytesIO()
    noise.save(large, "PNG")
    assert MIB < len(large.getvalue()) < 5 * MIB
    gif_src, large_src = upload(gif.getvalue()), upload(large.getvalue())
    article = create(pub, body_html=f'<p>正文<img src="{gif_src}"><img src="{large_src}"></p>')
    limits = [f for f in article["checks"] if f["rule"] == "platform_limit"]
    assert {f["severity"] for f in limits} == {"block"} and len(limits) == 2, limits
    assert any(gif_src in f["message"] and "JPG" in f["message"] for f in limits)
    assert any(large_src in f["message"] and "1 MB" in f["message"] for f in limits)
    refused = submit(pub, article["id"], confirmations=[])
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "checks_failed"
