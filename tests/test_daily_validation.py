"""Issue 12: bad data refused in the domain, for page and API alike (dates, deregistrations),
and a wrong filing corrected by the right role, audited."""
import re
from datetime import date, timedelta

from conftest import account_body, make_user
from sqlalchemy import func, select

from govmedia.extensions import db
from govmedia.models import AuditEntry
from govmedia.types import today_shanghai
from notices.models import Notice
from registry.checks import opening_filing_problems
from registry.models import Account, Filing
from test_pages import html, page_client

TOMORROW = (today_shanghai() + timedelta(days=1)).isoformat()
TODAY = today_shanghai().isoformat()


def open_account(api, unit_id, **kw):
    response = api.post("/api/v1/accounts", account_body(unit_id, **kw))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def error_of(response, status=400):
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    return error


# --- the API ---------------------------------------------------------------------------------

def test_a_future_opening_or_earlier_filing_is_refused_with_the_field_named(world):
    error = error_of(world.sponsor_a.post("/api/v1/accounts", account_body(
        world.unit_a["id"], opened_on=TOMORROW)))
    assert error["code"] == "invalid" and "opened_on" in error["fields"]
    error = error_of(world.sponsor_a.post("/api/v1/accounts", account_body(
        world.unit_a["id"], filed_on=TOMORROW, filing_reference="备-1")))
    assert list(error["fields"]) == ["filed_on"] and TOMORROW in error["message"]
    assert db.session.scalar(select(func.count()).select_from(Account)) == 0


def test_completing_a_filing_in_the_future_or_before_its_event_is_refused(world):
    account = open_account(world.sponsor_a, world.unit_a["id"])
    filing_id = account["filings"][0]["id"]
    url = f"/api/v1/filings/{filing_id}/complete"
    error = error_of(world.sponsor_a.post(url, {"filed_on": "2026-12-20" if TODAY < "2026-12-20"
                                                else TOMORROW, "reference": "备-1"}))
    assert error["code"] == "invalid" and "filed_on" in error["fields"]
    error = error_of(world.sponsor_a.post(url, {"filed_on": "2026-11-01", "reference": "备-1"}))
    assert "filed_on" in error["fields"]
    assert db.session.get(Filing, filing_id).filed_on is None
    done = world.sponsor_a.post(url, {"filed_on": "2026-11-05", "reference": "备-1"})
    assert done.status_code == 200 and done.get_json()["status"] == "filed"


def test_an_event_in_the_future_is_refused(world):
    account = open_account(world.sponsor_a, world.unit_a["id"])
    error = error_of(world.sponsor_a.post(f"/api/v1/accounts/{account['id']}/events", {
        "kind": "close", "event_date": TOMORROW, "reason": "调整"}))
    assert list(error["fields"]) == ["event_date"]
    assert db.session.get(Account, account["id"]).status == "active"


def test_a_deregistration_needs_a_reason_that_is_not_blank(world):
    account = open_account(world.sponsor_a, world.unit_a["id"])
    url = f"/api/v1/accounts/{account['id']}/events"
    for reason in ("", "   "):
        error = error_of(world.sponsor_a.post(url, {"kind": "deregister",
                                                    "event_date": "2026-11-16",
                                                    "reason": reason}))
        assert list(error["fields"]) == ["reason"]
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 0
    # category and contact stay optional in the API
    done = world.sponsor_a.post(url, {"kind": "deregister", "event_date": "2026-11-16",
                                      "reason": "机构合并"})
    assert done.status_code == 201 and done.get_json()["notice"]["kind"] == "deregister"


def test_a_filed_filing_is_corrected_by_its_sponsor_or_a_supervisor_and_audited(world, login):
    account = open_account(world.sponsor_a, world.unit_a["id"])
    url = f"/api/v1/filings/{account['filings'][0]['id']}/complete"
    assert world.sponsor_a.post(url, {"filed_on": "2026-11-03",
                                      "reference": "备-1"}).status_code == 200
    # a supervisor records no filing, but corrects one; another unit's sponsor does neither
    assert world.sponsor_b.post(url, {"filed_on": "2026-11-04",
                                      "reference": "备-2"}).status_code == 403
    corrected = world.supervisor.post(url, {"filed_on": "2026-11-04", "reference": "备-2"})
    assert corrected.status_code == 200, corrected.get_json()
    assert corrected.get_json()["filed_on"] == "2026-11-04"
    again = world.sponsor_a.post(url, {"filed_on": "2026-11-05", "reference": "备-3"})
    assert again.get_json()["reference"] == "备-3"
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "filing.correct")
                                 .order_by(AuditEntry.id)).all()
    assert [(e.username, e.before["reference"], e.after["reference"]) for e in entries] == [
        ("supervisor", "备-1", "备-2"), ("sponsor_a", "备-2", "备-3")]
    other = open_account(world.sponsor_a, world.unit_a["id"], platform="weibo", handle="123456")
    first = f"/api/v1/filings/{other['filings'][0]['id']}/complete"
    assert world.supervisor.post(first, {"filed_on": "2026-11-04",
                                         "reference": "备-9"}).status_code == 403


def test_the_import_and_the_api_share_the_opening_date_rules():
    today = date(2026, 12, 5)
    assert opening_filing_problems(date(2026, 12, 6), None, None, today) == {
        "opened_on": "in_future"}
    assert opening_filing_problems(date(2026, 12, 1), date(2026, 12, 7), "x", today) == {
        "filed_on": "in_future"}
    assert opening_filing_problems(date(2026, 12, 1), date(2026, 11, 7), "x", today) == {
        "filed_on": "before_opened_on"}
    assert opening_filing_problems(date(2026, 12, 1), date(2026, 12, 5), "x", today) == {}


# --- the pages -------------------------------------------------------------------------------

def test_the_filing_form_refuses_a_future_date_and_stays_to_correct_a_filing(app, world):
    account = open_account(world.sponsor_a, world.unit_a["id"])
    filing_id = account["filings"][0]["id"]
    sponsor = page_client(app, "sponsor_a")
    response = sponsor.post(f"/filings/{filing_id}/complete",
                            data={"filed_on": TOMORROW, "reference": "备-1"})
    page = html(response)
    assert response.status_code == 400 and "尚未到来" in page
    assert re.search(r'class="field invalid">\s*<label for="f-filed_on-%d"' % filing_id, page)
    assert f'value="{TOMORROW}"' in page  # what was typed stays
    response = sponsor.post(f"/filings/{filing_id}/complete",
                            data={"filed_on": "2026-11-03", "reference": "备-1"})
    assert response.status_code == 302
    page = html(sponsor.get(f"/accounts/{account['id']}"))
    assert "更正此备案" in page and 'value="备-1"' in page
    response = sponsor.post(f"/filings/{filing_id}/complete",
                            data={"filed_on": "2026-11-04", "reference": "备-2"})
    assert response.status_code == 302
    assert db.session.get(Filing, filing_id).reference == "备-2"
    make_user("editor_a", ["editor"], world.unit_a["id"])
    editor_page = html(page_client(app, "editor_a").get(f"/accounts/{account['id']}"))
    assert "更正此备案" not in editor_page and "f-filed_on-" not in editor_page
    supervisor_page = html(page_client(app, "supervisor").get(f"/accounts/{account['id']}"))
    assert "更正此备案" in supervisor_page


def test_the_deregistration_page_asks_category_contact_and_confirmation(app, world):
    account = open_account(world.sponsor_a, world.unit_a["id"])
    sponsor = page_client(app, "sponsor_a")
    url = f"/accounts/{account['id']}/events"
    response = sponsor.post(url, data={"kind": "deregister", "event_date": "2026-11-16",
                                       "reason": " "})
    page = html(response)
    assert response.status_code == 400
    for name in ("reason_category", "contact", "event-reason"):
        assert re.search(r'class="field invalid">\s*<label for="f-%s"' % name, page), name
    decision = {"kind": "deregister", "event_date": "2026-11-16", "reason": "职能划入融媒体中心",
                "reason_category": "merged", "contact": "县委宣传部 0000-1234567"}
    response = sponsor.post(url, data=decision)
    page = html(response)
    assert response.status_code == 200 and 'id="notice-preview"' in page
    assert "职能划入融媒体中心" in page and "县委宣传部 0000-1234567" in page
    assert "关于注销政务新媒体账号" in page
    db.session.expire_all()
    assert db.session.get(Account, account["id"]).status == "active"  # nothing written yet
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 0
    response = sponsor.post(url, data=decision | {"confirmed": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Account, account["id"]).status == "deregistering"
    [notice] = db.session.scalars(select(Notice)).all()
    assert "县委宣传部 0000-1234567" in notice.text


def test_a_future_event_date_is_refused_on_the_page(app, world):
    account = open_account(world.sponsor_a, world.unit_a["id"])
    sponsor = page_client(app, "sponsor_a")
    response = sponsor.post(f"/accounts/{account['id']}/events", data={
        "kind": "close", "event_date": TOMORROW, "reason": "调整"})
    page = html(response)
    assert response.status_code == 400 and "尚未到来" in page
    assert re.search(r'class="field invalid">\s*<label for="f-event_date"', page)
