"""Issue 12: the profile page and /api/v1/me: one's roles and unit, one's own password (the
current one required, the policy applied), and ending one's other sessions and tokens."""
from conftest import PASSWORD
from sqlalchemy import select

from govmedia.extensions import db
from govmedia.models import AuditEntry
from test_pages import html, page_client

NEW = "Changed-2026x"


def token_for(client, username, password=PASSWORD):
    response = client.post("/api/v1/auth/tokens", json={"username": username,
                                                        "password": password})
    return response.status_code, (response.get_json() or {}).get("token")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_me_shows_roles_and_unit(world):
    me = world.sponsor_a.get("/api/v1/me").get_json()
    assert me["username"] == "sponsor_a" and me["roles"] == ["sponsor"]
    assert me["unit"] == {"id": world.unit_a["id"], "name": "某县人民政府办公室"}
    assert world.supervisor.get("/api/v1/me").get_json()["unit"] is None


def test_changing_ones_password_needs_the_current_one_and_the_policy(app, world):
    api = world.sponsor_a
    wrong = api.post("/api/v1/me/password", {"current_password": "nope-1234",
                                             "new_password": NEW})
    assert wrong.status_code == 400
    assert list(wrong.get_json()["error"]["fields"]) == ["current_password"]
    weak = api.post("/api/v1/me/password", {"current_password": PASSWORD,
                                            "new_password": "short"})
    assert weak.status_code == 400 and "new_password" in weak.get_json()["error"]["fields"]
    other_browser = page_client(app, "sponsor_a")
    _status, other_token = token_for(app.test_client(), "sponsor_a")
    assert api.post("/api/v1/me/password", {"current_password": PASSWORD,
                                            "new_password": NEW}).status_code == 204
    # the caller's token goes on; every other session and token ended; the old password fails
    assert api.get("/api/v1/me").status_code == 200
    client = app.test_client()
    assert client.get("/api/v1/me", headers=bearer(other_token)).status_code == 401
    assert other_browser.get("/profile").status_code == 302
    assert token_for(client, "sponsor_a")[0] == 401
    assert token_for(client, "sponsor_a", NEW)[0] == 201
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.password"))
    assert entry.after == {"password": "changed"} and NEW not in str(entry.after)


def test_ending_other_sessions_keeps_this_one(app, world):
    _status, other_token = token_for(app.test_client(), "sponsor_a")
    other_browser = page_client(app, "sponsor_a")
    assert world.sponsor_a.post("/api/v1/me/sessions/end-others").status_code == 204
    assert world.sponsor_a.get("/api/v1/me").status_code == 200
    assert app.test_client().get("/api/v1/me", headers=bearer(other_token)).status_code == 401
    assert other_browser.get("/profile").status_code == 302


def test_the_profile_page(app, world):
    browser = page_client(app, "sponsor_a")
    elsewhere = page_client(app, "sponsor_a")
    _status, token = token_for(app.test_client(), "sponsor_a")
    page = html(browser.get("/profile"))
    assert "某县人民政府办公室" in page and "主办单位" in page and 'id="profile-link"' in page
    response = browser.post("/profile/password", data={"current_password": "wrong-123",
                                                       "new_password": NEW})
    assert response.status_code == 400 and "当前密码不正确" in html(response)
    response = browser.post("/profile/password", data={"current_password": PASSWORD,
                                                       "new_password": "abcdefgh"})
    assert response.status_code == 400 and 'aria-invalid="true"' in html(response)
    response = browser.post("/profile/password", data={"current_password": PASSWORD,
                                                       "new_password": NEW},
                            follow_redirects=True)
    assert response.status_code == 200 and "密码已修改" in html(response)
    assert browser.get("/profile").status_code == 200          # this session goes on
    assert elsewhere.get("/profile").status_code == 302        # the other one ended
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401
    again = page_client(app, "sponsor_a", NEW)
    response = browser.post("/profile/sessions", follow_redirects=True)
    assert "已全部结束" in html(response) and browser.get("/profile").status_code == 200
    assert again.get("/profile").status_code == 302
