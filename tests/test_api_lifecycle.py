"""Contract: lifecycle events, filings on Chinese working days, notices, recompute (rules 4, 6)."""
from datetime import date

import pytest
from sqlalchemy import func, select

from conftest import account_body
from govmedia.extensions import db
from govmedia.types import today_shanghai
from govmedia.workdays import WorkCalendar
from registry.models import AccountEvent


def open_account(api, unit_id, opened_on="2026-11-02", **kw):
    response = api.post("/api/v1/accounts", account_body(unit_id, opened_on=opened_on, **kw))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def event(api, account_id, kind, event_date, **kw):
    return api.post(f"/api/v1/accounts/{account_id}/events",
                    {"kind": kind, "event_date": event_date, "reason": kw.pop("reason", "测试"), **kw})


def after_all_of_them(monkeypatch):
    """Run as if on 2027-01-31: a day in a year the calendar does not know yet can only be
    entered once it has passed (a future opening is refused)."""
    monkeypatch.setattr("registry.services.today_shanghai", lambda: date(2027, 1, 31))


@pytest.mark.parametrize("opened_on, due_on, provisional", [
    ("2026-09-30", "2026-10-13", False),   # National Day: Oct 1-7 off, Sat Oct 10 is 调休 work
    ("2026-09-29", "2026-10-12", False),
    ("2026-02-12", "2026-02-26", False),   # Spring Festival: Feb 15-23 off, Sat Feb 14 works
    ("2026-02-13", "2026-02-27", False),   # counts the 调休 Saturday Feb 14 as day 1
    ("2026-01-04", "2026-01-09", False),   # the event itself on a 调休 working Sunday
    ("2026-12-28", "2027-01-05", True),    # 2027 is not in the library yet: provisional
    ("2026-12-24", "2026-12-31", False),
])
def test_opening_filing_due_on_fifth_working_day(world, monkeypatch, opened_on, due_on,
                                                 provisional):
    after_all_of_them(monkeypatch)
    account = open_account(world.sponsor_a, world.unit_a["id"], opened_on=opened_on)
    filing = account["filings"][0]
    assert (filing["due_on"], filing["provisional"]) == (due_on, provisional)


def test_filing_status_as_of_any_date(world):
    account = open_account(world.sponsor_a, world.unit_a["id"], opened_on="2026-11-02")
    filing_id = account["filings"][0]["id"]
    api = world.sponsor_a

    def status(as_of):
        items = api.get("/api/v1/filings", as_of=as_of).get_json()["items"]
        return items[0]["status"]

    assert status("2026-11-09") == "pending"      # filing on the deadline is on time
    assert status("2026-11-10") == "overdue"
    done = api.post(f"/api/v1/filings/{filing_id}/complete",
                    {"filed_on": "2026-11-11", "reference": "桂网备〔2026〕12号"})
    assert done.status_code == 200
    assert done.get_json()["status"] == "late" and done.get_json()["reference"] == "桂网备〔2026〕12号"
    assert status("2026-11-10") == "overdue"      # as of before it was filed
    assert status("2026-11-11") == "late"
    assert api.get("/api/v1/filings", status="late", as_of="2026-11-30").get_json()["total"] == 1
    assert api.get("/api/v1/filings", status="overdue", as_of="2026-11-30").get_json()["total"] == 0
    assert api.get("/api/v1/filings", status="overdue", as_of="2026-11-10").get_json()["total"] == 1
    assert api.get("/api/v1/filings", status="bogus").status_code == 400
    assert api.get("/api/v1/filings", as_of="11/10/2026").status_code == 400


def test_filed_on_time_and_historical_filing(world):
    account = open_account(world.sponsor_a, world.unit_a["id"], filed_on="2026-11-06",
                           filing_reference="备-001")
    filing = account["filings"][0]
    assert filing["status"] == "filed" and filing["filed_on"] == "2026-11-06"
    assert filing["reference"] == "备-001"
    other = open_account(world.sponsor_b, world.unit_b["id"], handle="gh_bbbbbbbbbbbb")
    response = world.sponsor_b.post(f"/api/v1/filings/{other['filings'][0]['id']}/complete",
                                    {"filed_on": "2026-11-09", "reference": "备-002"})
    assert response.get_json()["status"] == "filed"
    early = world.sponsor_b.post(f"/api/v1/filings/{other['filings'][0]['id']}/complete",
                                 {"filed_on": "2026-10-01", "reference": "备-002"})
    assert early.status_code == 400 and "filed_on" in early.get_json()["error"]["fields"]


def test_each_event_creates_its_filing_and_moves_status(world):
    account = open_account(world.sponsor_a, world.unit_a["id"])
    api, aid = world.sponsor_a, account["id"]
    closed = event(api, aid, "close", "2026-11-10")
    assert closed.status_code == 201
    body = closed.get_json()
    assert body["event"]["kind"] == "close" and body["filing"]["event"] == "close"
    assert body["filing"]["due_on"] == "2026-11-17"
    assert body["notice"]["kind"] == "close"  # closing gets a notice too (issue 5)
    assert api.get(f"/api/v1/accounts/{aid}").get_json()["status"] == "closed"
    assert event(api, aid, "close", "2026-11-11").get_json()["error"]["code"] == "invalid_transition"
    reopened = event(api, aid, "reopen", "2026-11-12")
    assert reopened.status_code == 201
    view = api.get(f"/api/v1/accounts/{aid}", as_of="2026-11-20").get_json()
    assert view["status"] == "active" and view["reopened_on"] == "2026-11-12"
    assert view["last_update_on"] == "2026-11-12"
    assert event(api, aid, "reopen", "2026-11-13").status_code == 409
    assert len(view["filings"]) == 3


def test_change_of_name_opens_a_notice_and_records_before_after(world):
    account = open_account(world.sponsor_a, world.unit_a["id"], name="某县发布")
    response = event(world.sponsor_a, account["id"], "change", "2026-11-15",
                     changes={"name": "某县政府发布"}, reason="统一名称")
    assert response.status_code == 201
    body = response.get_json()
    assert body["event"]["changes"] == {"name": ["某县发布", "某县政府发布"]}
    notice = body["notice"]
    assert notice["kind"] == "change" and notice["starts_on"] == today_shanghai().isoformat()
    expected_end, _ = WorkCalendar().add_workdays(today_shanghai(), 15)
    assert notice["ends_on"] == expected_end.isoformat()
    assert "某县政府发布" in notice["text"] and notice["account"]["name"] == "某县发布"
    assert world.sponsor_a.get(f"/api/v1/accounts/{account['id']}").get_json()["name"] == "某县政府发布"


def test_change_needs_a_real_change_and_checks_handles(world):
    a = open_account(world.sponsor_a, world.unit_a["id"])
    open_account(world.sponsor_b, world.unit_b["id"], handle="gh_bbbbbbbbbbbb")
    empty = event(world.sponsor_a, a["id"], "change", "2026-11-15", changes={"name": a["name"]})
    assert empty.status_code == 400 and "changes" in empty.get_json()["error"]["fields"]
    clash = event(world.sponsor_a, a["id"], "change", "2026-11-15",
                  changes={"handle": "gh_bbbbbbbbbbbb"})
    assert clash.status_code == 409 and clash.get_json()["error"]["code"] == "handle_taken"


def test_transfer_applies_receiving_units_one_per_platform(world):
    a = open_account(world.sponsor_a, world.unit_a["id"])
    b = open_account(world.sponsor_b, world.unit_b["id"], handle="gh_bbbbbbbbbbbb")
    refused = event(world.sponsor_a, a["id"], "change", "2026-11-15",
                    changes={"unit_id": world.unit_b["id"]}, reason="机构合并")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "one_account_per_platform"
    assert refused.get_json()["error"]["conflicting_account_id"] == b["id"]
    event(world.sponsor_b, b["id"], "deregister", "2026-11-15", reason="并入")
    moved = event(world.sponsor_a, a["id"], "change", "2026-11-16",
                  changes={"unit_id": world.unit_b["id"]}, reason="机构合并")
    assert moved.status_code == 201
    assert world.sponsor_b.get(f"/api/v1/accounts/{a['id']}").get_json()["unit_id"] == world.unit_b["id"]
    assert world.sponsor_a.get(f"/api/v1/accounts/{a['id']}").status_code == 403


def test_deregister_moves_to_deregistering_with_one_filing_and_a_notice(world):
    account = open_account(world.sponsor_a, world.unit_a["id"])
    response = event(world.sponsor_a, account["id"], "deregister", "2026-11-16",
                     reason="无力维护，内容迁移至某县发布")
    assert response.status_code == 201
    body = response.get_json()
    assert body["notice"]["kind"] == "deregister"
    assert body["filing"]["event"] == "deregister"
    view = world.sponsor_a.get(f"/api/v1/accounts/{account['id']}").get_json()
    assert view["status"] == "deregistering"
    assert [f["event"] for f in view["filings"]] == ["open", "deregister"]
    assert event(world.sponsor_a, account["id"], "close", "2026-11-17").status_code == 409


def test_event_before_opening_is_invalid(world):
    account = open_account(world.sponsor_a, world.unit_a["id"])
    response = event(world.sponsor_a, account["id"], "close", "2026-10-01")
    assert response.status_code == 400
    assert "event_date" in response.get_json()["error"]["fields"]
    bad_kind = event(world.sponsor_a, account["id"], "explode", "2026-11-10")
    assert bad_kind.status_code == 400 and "kind" in bad_kind.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(AccountEvent)) == 1


def test_entering_2027_schedule_recomputes_provisional_deadlines(world, app, tmp_path,
                                                                 monkeypatch):
    after_all_of_them(monkeypatch)
    account = open_account(world.sponsor_a, world.unit_a["id"], opened_on="2026-12-28")
    assert account["filings"][0]["due_on"] == "2027-01-05"
    assert account["filings"][0]["provisional"] is True
    schedule = tmp_path / "2027.txt"
    # Suppose the State Council gives Jan 1-3 off and makes Jan 4 a holiday too (hypothetical).
    schedule.write_text("date,kind,name\n2027-01-01~2027-01-04,holiday,元旦\n"
                        "2027-02-05~2027-02-11,holiday,春节\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["holidays", "import", "2027", str(schedule)])
    assert result.exit_code == 0, result.output
    assert "1 deadlines recomputed" in result.output
    filing = world.sponsor_a.get(f"/api/v1/accounts/{account['id']}").get_json()["filings"][0]
    assert filing["due_on"] == "2027-01-06" and filing["provisional"] is False


def test_provisional_deadline_is_logged(world, caplog, monkeypatch):
    after_all_of_them(monkeypatch)
    with caplog.at_level("WARNING"):
        open_account(world.sponsor_a, world.unit_a["id"], opened_on="2026-12-29")
    assert any("provisional deadline" in r.getMessage() for r in caplog.records)


def test_bad_schedule_file_names_the_line(admin_api, app, tmp_path):
    schedule = tmp_path / "bad.txt"
    schedule.write_text("2027-01-01,holiday,元旦\n2027-13-01,holiday,x\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["holidays", "import", "2027", str(schedule)])
    assert result.exit_code != 0 and "第2行" in result.output
    from govmedia.models import HolidayOverride

    assert db.session.scalar(select(func.count()).select_from(HolidayOverride)) == 0


def test_schedule_needs_an_admin(app, tmp_path):
    schedule = tmp_path / "ok.txt"
    schedule.write_text("2027-01-01,holiday,元旦\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["holidays", "import", "2027", str(schedule)])
    assert result.exit_code != 0 and "admin" in result.output
