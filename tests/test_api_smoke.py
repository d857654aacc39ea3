"""First contract checks: tokens, units, an account and its opening filing."""
from conftest import account_body


def test_register_account_creates_opening_filing(world):
    response = world.sponsor_a.post("/api/v1/accounts", account_body(world.unit_a["id"]))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "active"
    [filing] = body["filings"]
    assert filing["event"] == "open"
    assert filing["event_date"] == "2026-11-02"
    assert filing["due_on"] == "2026-11-09"
    assert filing["provisional"] is False
    assert filing["status"] in {"pending", "overdue"}
