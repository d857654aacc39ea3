"""Contract: tokens, throttling, users (shared/API.md "Auth and users")."""
from conftest import PASSWORD, make_user


def test_token_issue_and_use(admin_api, client):
    response = client.post("/api/v1/auth/tokens", json={"username": "admin", "password": PASSWORD})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"token", "expires_at"}
    assert body["expires_at"][-6:] in {"+00:00", "+08:00"}
    me = client.get("/api/v1/units", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200


def test_wrong_password_is_invalid_credentials(admin_api, client):
    response = client.post("/api/v1/auth/tokens", json={"username": "admin", "password": "nope1234"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_credentials"


def test_login_throttled_after_repeated_failures(admin_api, client):
    for _ in range(5):
        assert client.post("/api/v1/auth/tokens",
                           json={"username": "admin", "password": "wrong-1"}).status_code == 401
    response = client.post("/api/v1/auth/tokens", json={"username": "admin", "password": PASSWORD})
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "too_many_attempts"


def test_missing_or_bad_token_is_unauthenticated(app, client):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
        response = client.get("/api/v1/accounts", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthenticated"


def test_revoking_current_token_stops_it_at_once(admin_api):
    assert admin_api.get("/api/v1/units").status_code == 200
    assert admin_api.delete("/api/v1/auth/tokens/current").status_code == 204
    assert admin_api.get("/api/v1/units").status_code == 401


def test_create_user_never_returns_password(admin_api, world):
    response = admin_api.post("/api/v1/users", {"username": "editor1", "password": "Abcdefg1",
                                                "roles": ["editor"], "unit_id": world.unit_a["id"]})
    assert response.status_code == 201
    body = response.get_json()
    assert body["roles"] == ["editor"] and body["unit_id"] == world.unit_a["id"]
    assert "password" not in body and "password_hash" not in body
    assert "Abcdefg1" not in response.get_data(as_text=True)


def test_create_user_validation(admin_api, world):
    weak = admin_api.post("/api/v1/users", {"username": "u1", "password": "short",
                                            "roles": ["sponsor"], "unit_id": world.unit_a["id"]})
    assert weak.status_code == 400 and "password" in weak.get_json()["error"]["fields"]
    no_unit = admin_api.post("/api/v1/users", {"username": "u2", "password": "Abcdefg12",
                                               "roles": ["sponsor"]})
    assert no_unit.status_code == 400 and "unit_id" in no_unit.get_json()["error"]["fields"]
    bad_role = admin_api.post("/api/v1/users", {"username": "u3", "password": "Abcdefg12",
                                                "roles": ["king"], "unit_id": world.unit_a["id"]})
    assert bad_role.status_code == 400 and "roles.0" in bad_role.get_json()["error"]["fields"]
    taken = admin_api.post("/api/v1/users", {"username": "sponsor_a", "password": "Abcdefg12",
                                             "roles": ["sponsor"], "unit_id": world.unit_a["id"]})
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "username_taken"


def test_only_admin_manages_users(world):
    response = world.supervisor.post("/api/v1/users", {"username": "x1", "password": "Abcdefg12",
                                                       "roles": ["admin"]})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert world.sponsor_a.patch("/api/v1/users/1", {"active": False}).status_code == 403


def test_disabling_a_user_ends_tokens_at_once(world, login):
    sponsor = world.sponsor_a
    assert sponsor.get("/api/v1/accounts").status_code == 200
    user_id = next(u["id"] for u in world.admin.get("/api/v1/users").get_json()["items"]
                   if u["username"] == "sponsor_a")
    response = world.admin.patch(f"/api/v1/users/{user_id}", {"active": False})
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert sponsor.get("/api/v1/accounts").status_code == 401
    relog = sponsor.client.post("/api/v1/auth/tokens",
                                json={"username": "sponsor_a", "password": PASSWORD})
    assert relog.status_code == 401


def test_password_reset_and_role_change(world, login):
    user_id = next(u["id"] for u in world.admin.get("/api/v1/users").get_json()["items"]
                   if u["username"] == "sponsor_b")
    old = world.sponsor_b
    response = world.admin.patch(f"/api/v1/users/{user_id}",
                                 {"password": "NewPassw0rd", "roles": ["sponsor", "editor"]})
    assert response.status_code == 200
    assert response.get_json()["roles"] == ["editor", "sponsor"]
    assert old.get("/api/v1/accounts").status_code == 401
    assert login("sponsor_b", "NewPassw0rd").get("/api/v1/accounts").status_code == 200


def test_user_moved_to_other_unit_sees_only_the_new_unit(world, login):
    user_id = next(u["id"] for u in world.admin.get("/api/v1/users").get_json()["items"]
                   if u["username"] == "sponsor_a")
    world.admin.patch(f"/api/v1/users/{user_id}", {"unit_id": world.unit_b["id"]})
    units = login("sponsor_a").get("/api/v1/units").get_json()["items"]
    assert [u["id"] for u in units] == [world.unit_b["id"]]


def test_cli_users_create_reads_password_from_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "root", "--role", "admin", "--password-stdin"],
                           input="Secret-pass1\n")
    assert result.exit_code == 0, result.output
    client = app.test_client()
    ok = client.post("/api/v1/auth/tokens", json={"username": "root", "password": "Secret-pass1"})
    assert ok.status_code == 201
    with_newline = client.post("/api/v1/auth/tokens",
                               json={"username": "root", "password": "Secret-pass1\n"})
    assert with_newline.status_code == 401
    again = runner.invoke(args=["users", "create", "root", "--role", "admin", "--password-stdin"],
                          input="Secret-pass1\n")
    assert again.exit_code != 0 and "username" in again.output.lower()


def test_make_user_helper_is_not_admin(world):
    make_user("plain", ["editor"], world.unit_a["id"])
    assert world.admin.get("/api/v1/users").get_json()["total"] == 5
