"""Contract: accounts, one-per-platform, handles, warnings, unit scoping (rules 1-3)."""
import pytest
from sqlalchemy import func, select

from conftest import account_body
from govmedia.extensions import db
from registry.models import Account, AccountCredential, Filing


def register(api, unit_id, **kw):
    return api.post("/api/v1/accounts", account_body(unit_id, **kw))


def test_register_returns_account_filing_and_no_warnings_when_clean(world):
    unit = world.unit_a
    response = register(world.sponsor_a, unit["id"], verified_subject=unit["name"])
    assert response.status_code == 201
    body = response.get_json()
    for field in ("id", "unit_id", "platform", "name", "handle", "status", "opened_on",
                  "filings", "warnings", "last_post_at", "dormant"):
        assert field in body
    assert body["warnings"] == []
    filing = body["filings"][0]
    assert set(filing) >= {"id", "event", "event_date", "due_on", "status", "provisional"}


def test_second_account_on_same_platform_is_refused_naming_the_first(world):
    first = register(world.sponsor_a, world.unit_a["id"]).get_json()
    response = register(world.sponsor_a, world.unit_a["id"], handle="gh_ffffffffffff")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "one_account_per_platform"
    assert error["conflicting_account_id"] == first["id"]
    assert db.session.scalar(select(func.count()).select_from(Account)) == 1


def test_other_unit_and_other_platform_are_fine(world):
    assert register(world.sponsor_a, world.unit_a["id"]).status_code == 201
    assert register(world.sponsor_b, world.unit_b["id"], handle="gh_bbbbbbbbbbbb").status_code == 201
    assert register(world.sponsor_a, world.unit_a["id"], platform="weibo",
                    handle="1234567890").status_code == 201


def test_platform_other_never_counts(world):
    for i in range(3):
        assert register(world.sponsor_a, world.unit_a["id"], platform="other",
                        handle=f"site-{i}").status_code == 201


def test_supervisor_exception_allows_a_second_account(world):
    register(world.sponsor_a, world.unit_a["id"])
    world.supervisor.post(f"/api/v1/units/{world.unit_a['id']}/platform-exceptions",
                          {"platform": "wechat", "reason": "服务号与订阅号功能不同"})
    assert register(world.sponsor_a, world.unit_a["id"], handle="gh_222222222222").status_code == 201


def test_handle_taken_on_same_platform(world):
    register(world.sponsor_a, world.unit_a["id"])
    response = register(world.sponsor_b, world.unit_b["id"])  # same gh_ handle
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "handle_taken"
    # The same id on another platform is a different account.
    assert register(world.sponsor_b, world.unit_b["id"], platform="douyin",
                    handle="gh_0123456789ab").status_code == 201


def test_closed_account_still_counts_deregistering_does_not(world):
    account = register(world.sponsor_a, world.unit_a["id"]).get_json()
    events = f"/api/v1/accounts/{account['id']}/events"
    assert world.sponsor_a.post(events, {"kind": "close", "event_date": "2026-11-10",
                                         "reason": "无力维护"}).status_code == 201
    assert register(world.sponsor_a, world.unit_a["id"], handle="gh_333333333333").status_code == 409
    assert world.sponsor_a.post(events, {"kind": "deregister", "event_date": "2026-11-11",
                                         "reason": "机构合并"}).status_code == 201
    assert register(world.sponsor_a, world.unit_a["id"], handle="gh_333333333333").status_code == 201
    # A deregistering account still holds its handle until it is deregistered.
    assert register(world.sponsor_b, world.unit_b["id"]).get_json()["error"]["code"] == "handle_taken"


def test_warnings_subject_names_and_prerequisites(world):
    register(world.sponsor_a, world.unit_a["id"], name="某县发布")
    response = world.sponsor_a.post("/api/v1/accounts", {
        "unit_id": world.unit_a["id"], "platform": "weibo", "name": "某县微讯", "handle": "98765",
        "opened_on": "2026-11-03", "verified_subject": "某县融媒体中心"})
    assert response.status_code == 201
    body = response.get_json()
    codes = {w["code"] for w in body["warnings"]}
    assert codes == {"verified_subject_mismatch", "name_differs_across_platforms",
                     "missing_office", "missing_staff"}
    assert all(w["message"] for w in body["warnings"])
    assert set(body["flags"]) == {"missing_office", "missing_staff"}


@pytest.mark.parametrize("change, field", [
    ({"platform": "myspace"}, "platform"),
    ({"opened_on": "2026/11/02"}, "opened_on"),
    ({"opened_on": "2026-02-30"}, "opened_on"),
    ({"unit_id": "1"}, "unit_id"),
    ({"name": ""}, "name"),
    ({"staff": [{"name": "张三", "platform_role": "boss"}]}, "staff.0.platform_role"),
    ({"verification_expires_on": 20270101}, "verification_expires_on"),
    ({"nickname": "x"}, "nickname"),
])
def test_bad_input_names_the_field_and_writes_nothing(world, change, field):
    body = account_body(world.unit_a["id"]) | change
    response = world.sponsor_a.post("/api/v1/accounts", body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and field in error["fields"], error
    assert db.session.scalar(select(func.count()).select_from(Account)) == 0
    assert db.session.scalar(select(func.count()).select_from(Filing)) == 0


def test_missing_required_fields(world):
    response = world.sponsor_a.post("/api/v1/accounts", {"unit_id": world.unit_a["id"]})
    fields = response.get_json()["error"]["fields"]
    assert {"platform", "name", "handle", "opened_on"} <= set(fields)
    assert fields["handle"] == "required"


def test_malformed_json_and_non_object(world):
    bad = world.sponsor_a.post("/api/v1/accounts", data=b"{unit_id: 1", content_type="application/json")
    assert bad.status_code == 400 and bad.get_json()["error"]["fields"] == {"body": "malformed JSON"}
    array = world.sponsor_a.post("/api/v1/accounts", data=b"[1,2]", content_type="application/json")
    assert array.status_code == 400 and array.get_json()["error"]["code"] == "invalid"


def test_oversized_body_is_too_large(world, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = world.sponsor_a.post("/api/v1/accounts", data=b'{"name": "' + b"x" * 4096 + b'"}',
                                    content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_sponsor_cannot_touch_another_units_accounts(world):
    account = register(world.sponsor_a, world.unit_a["id"]).get_json()
    b = world.sponsor_b
    assert register(b, world.unit_a["id"], handle="gh_444444444444").status_code == 403
    assert b.get(f"/api/v1/accounts/{account['id']}").status_code == 403
    assert b.post(f"/api/v1/accounts/{account['id']}/events",
                  {"kind": "close", "event_date": "2026-11-10"}).status_code == 403
    assert b.put(f"/api/v1/accounts/{account['id']}/credentials",
                 {"app_id": "wx1", "app_secret": "s"}).status_code == 403
    filing_id = account["filings"][0]["id"]
    assert b.post(f"/api/v1/filings/{filing_id}/complete",
                  {"filed_on": "2026-11-05", "reference": "X"}).status_code == 403
    assert b.get("/api/v1/accounts").get_json()["total"] == 0
    assert b.get("/api/v1/accounts", unit_id=world.unit_a["id"]).status_code == 403
    assert b.get("/api/v1/filings").get_json()["total"] == 0
    assert world.supervisor.get(f"/api/v1/accounts/{account['id']}").status_code == 200


def test_supervisor_cannot_register(world):
    assert register(world.supervisor, world.unit_a["id"]).status_code == 403


def test_list_filters(world):
    register(world.sponsor_a, world.unit_a["id"])
    register(world.sponsor_a, world.unit_a["id"], platform="weibo", handle="1111")
    register(world.sponsor_b, world.unit_b["id"], handle="gh_bbbbbbbbbbbb")
    admin = world.admin
    assert admin.get("/api/v1/accounts").get_json()["total"] == 3
    assert admin.get("/api/v1/accounts", platform="weibo").get_json()["total"] == 1
    assert admin.get("/api/v1/accounts", unit_id=world.unit_b["id"]).get_json()["total"] == 1
    assert admin.get("/api/v1/accounts", status="closed").get_json()["total"] == 0
    assert admin.get("/api/v1/accounts", platform="myspace").status_code == 400


def test_credentials_are_stored_encrypted_and_never_returned(world):
    account = register(world.sponsor_a, world.unit_a["id"]).get_json()
    path = f"/api/v1/accounts/{account['id']}/credentials"
    assert world.sponsor_a.put(path, {"app_id": "wx123"}).status_code == 400
    assert world.sponsor_a.put(path, {"app_id": "wx123", "app_secret": "TOPSECRET-9"}).status_code == 204
    row = db.session.get(AccountCredential, account["id"])
    assert b"TOPSECRET-9" not in row.ciphertext
    shown = world.sponsor_a.get(f"/api/v1/accounts/{account['id']}").get_data(as_text=True)
    assert "TOPSECRET-9" not in shown and "wx123" not in shown
    from govmedia.secrets import decrypt
    assert decrypt(row.ciphertext) == {"app_id": "wx123", "app_secret": "TOPSECRET-9"}


def test_posts_stats_and_dormancy_in_shanghai_days(world):
    account = register(world.sponsor_a, world.unit_a["id"]).get_json()  # opened 2026-11-02
    path = f"/api/v1/accounts/{account['id']}"
    assert world.sponsor_a.get(path, as_of="2026-11-12").get_json()["dormant"] is False
    assert world.sponsor_a.get(path, as_of="2026-11-13").get_json()["dormant"] is True
    # 01:00 in Beijing on the 10th is 17:00 UTC on the 9th: it counts for the 10th.
    post = world.sponsor_a.post(f"{path}/posts", {"published_at": "2026-11-10T01:00:00+08:00",
                                                 "title": "今日要闻"})
    assert post.status_code == 201
    view = world.sponsor_a.get(path, as_of="2026-11-20").get_json()
    assert view["last_update_on"] == "2026-11-10" and view["days_since_update"] == 10
    assert view["dormant"] is False and view["last_post_at"].startswith("2026-11-09T17:00:00")
    assert world.sponsor_a.get(path, as_of="2026-11-21").get_json()["dormant"] is True
    # As of a day before the post, the post does not count yet.
    assert world.sponsor_a.get(path, as_of="2026-11-09").get_json()["last_update_on"] == "2026-11-02"
    naive = world.sponsor_a.post(f"{path}/posts", {"published_at": "2026-11-10T01:00:00", "title": "x"})
    assert naive.status_code == 400 and "published_at" in naive.get_json()["error"]["fields"]
    stats = world.sponsor_a.post(f"{path}/stats", {"as_of": "2026-11-20", "followers": 1200,
                                                  "reads": 3400})
    assert stats.status_code == 201 and stats.get_json()["followers"] == 1200
    assert world.sponsor_a.post(f"{path}/stats", {"as_of": "2026-11-20",
                                                  "followers": -1}).status_code == 400


def test_unknown_account_is_not_found(world):
    response = world.admin.get("/api/v1/accounts/99999")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
