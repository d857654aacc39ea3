"""Issue 12's smaller points: images without a fetchable address are cleaned out, a flagged
link is marked as a link (not shown as HTML text), the import page's checkbox label is the
one its errors name, and the public footer's verification link opens a page for people."""
import re

from conftest import PASSWORD, account_body, make_user

from govmedia.extensions import db
from publisher.editorial.articles import create_article
from publisher.content import sanitize_html
from publisher.schemas import ArticleIn
from publisher.views.common import highlighted_html


def test_the_cleaner_drops_images_without_an_address_one_can_fetch():
    cleaned = sanitize_html('<p>甲<img src=x>乙<img src="https://www.example.gov.cn/a.png" alt="图">'
                            '<img src="//evil.example/x.png"><img src="javascript:alert(1)">'
                            '<img src="/articles/1/images/2"></p>')
    assert cleaned == ('<p>甲乙<img src="https://www.example.gov.cn/a.png" alt="图">'
                       '<img src="/articles/1/images/2"></p>')


def test_a_flagged_link_is_marked_as_a_link_not_shown_as_html(app, world):
    weibo = world.sponsor_a.post("/api/v1/accounts", account_body(
        world.unit_a["id"], platform="weibo", handle="7000000123", name="某县发布")).get_json()
    editor = make_user("editor_a", ["editor"], world.unit_a["id"])
    article = create_article(editor, ArticleIn(
        title="通知", target_account_ids=[weibo["id"]],
        body_html='<p>详见<a href="https://evil.example.com/x">这里</a>。</p>'))
    db.session.commit()
    assert any(f["rule"] == "external_link" for f in article.checks)
    marked = str(highlighted_html(article))
    assert "&lt;a" not in marked and "href=&quot;" not in marked
    assert re.search(r'<mark class="finding warn"[^>]*><a href="https://evil\.example\.com/x"'
                     r'[^>]*>这里</a></mark>', marked), marked
    client = app.test_client()
    client.post("/login", data={"username": "editor_a", "password": PASSWORD})
    page = client.get(f"/articles/{article.id}").get_data(as_text=True)
    assert "&lt;a href" not in page


def test_the_public_footer_opens_a_verification_page_for_people(app, world):
    world.sponsor_a.post("/api/v1/accounts", account_body(world.unit_a["id"]))
    client = app.test_client()
    page = client.get("/public").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)">查验接口</a>', page)
    assert link and link[1] == "/public/verify"
    response = client.get("/public/verify")
    assert response.mimetype == "text/html" and "查验账号" in response.get_data(as_text=True)
    answer = client.get("/public/verify?platform=wechat&handle=gh_0123456789ab").get_data(
        as_text=True)
    assert "是政务新媒体账号" in answer and "某县发布" in answer
    answer = client.get("/public/verify?platform=wechat&handle=gh_nobody").get_data(as_text=True)
    assert "未登记" in answer
    assert "/api/v1/public/verify" in answer          # how a program asks the same
    # the English footer's CSV is the English file
    client.get("/lang/en")
    assert "/public/data.csv?lang=en" in client.get("/public").get_data(as_text=True)


def test_the_standin_keeps_its_posts_and_its_port_across_restarts(tmp_path):
    """`make run` restarts: the stand-in reads back what was published, and the port saved in
    the instance folder is taken again even while the last run's connections linger."""
    import json
    import socket

    from standins import DEFAULT_WEIBO_TOKENS, make_app

    from govmedia.serve import _standin_port

    state = str(tmp_path / "standins-state.pickle")
    first = make_app(state_path=state).test_client()
    token = next(iter(DEFAULT_WEIBO_TOKENS))
    shared = first.post("/2/statuses/share.json", data={
        "access_token": token, "status": "本周工作动态 https://www.example.gov.cn/a.html"})
    assert shared.status_code == 200, shared.get_json()
    status_id = shared.get_json()["idstr"]
    assert first.get(f"/status/{status_id}").status_code == 200

    again = make_app(state_path=state).test_client()          # a new process, same file
    page = again.get(f"/status/{status_id}")
    assert page.status_code == 200 and "本周工作动态" in page.get_data(as_text=True)
    second = again.post("/2/statuses/share.json", data={
        "access_token": token, "status": "下周安排 https://www.example.gov.cn/b.html"})
    assert second.get_json()["idstr"] != status_id           # ids go on, never reused
    assert make_app().test_client().get(f"/status/{status_id}").status_code == 404

    # the port: kept while nothing listens on it, even with a connection in TIME_WAIT
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    (tmp_path / "standins.json").write_text(json.dumps({"port": port}))
    assert _standin_port(str(tmp_path)) != port                # in use: another port
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _address = listener.accept()
    accepted.close()                                          # the server closes first:
    client.close()                                            # TIME_WAIT on its side
    listener.close()
    (tmp_path / "standins.json").write_text(json.dumps({"port": port}))
    assert _standin_port(str(tmp_path)) == port


def test_an_error_page_names_the_fields_without_the_apis_notes_for_scripts(app, world):
    """The API's `fields` notes are for scripts ("YYYY-MM-DDTHH:MM", "outside your units"):
    an error page names the fields and says in the reader's language what is wrong."""
    client = app.test_client()
    client.post("/login", data={"username": "supervisor", "password": PASSWORD})
    response = client.get("/supervision/inspection.xlsx?moment=tomorrow")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "请检查以下字段：<code>moment</code>" in page
    assert "YYYY-MM-DDTHH:MM" not in page
    client.get("/lang/en")
    page = client.get("/supervision/inspection.xlsx?moment=tomorrow").get_data(as_text=True)
    assert "Fields to check: <code>moment</code>" in page
