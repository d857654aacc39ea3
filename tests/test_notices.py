"""Rule 6: notices of deregistrations, closings and changes; the scheduled completion, the
one-month warning, amendments, withdrawal and the take-down checklist of apps."""
from datetime import UTC, date, datetime

import pytest
from conftest import account_body
from sqlalchemy import func, select

from govmedia.extensions import db
from govmedia.models import AuditEntry
from govmedia.periodic import periodic_jobs, tick
from govmedia.types import today_shanghai
from govmedia.workdays import WorkCalendar
from notices import services
from notices.jobs import complete_deregistrations
from notices.models import Notice, NoticeAmendment
from registry.models import Account, AccountEvent, Filing


def open_account(api, unit_id, **kw):
    response = api.post("/api/v1/accounts", account_body(unit_id, **kw))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def event(api, account_id, kind, event_date="2026-11-16", **kw):
    return api.post(f"/api/v1/accounts/{account_id}/events",
                    {"kind": kind, "event_date": event_date, "reason": kw.pop("reason", "测试"),
                     **kw})


def status_of(account_id) -> str:
    db.session.expire_all()
    return db.session.get(Account, account_id).status


# --- the period ------------------------------------------------------------------------------

def test_a_notice_starting_just_before_national_day_runs_longer(app):
    # Sep 28 2026 (Mon): Sep 29, 30, Oct 8, 9, Sat Oct 10 (调休), Oct 12–16, Oct 19–23 -> Oct 23.
    ends_on, provisional = services.notice_period(date(2026, 9, 28))
    assert (ends_on, provisional) == (date(2026, 10, 23), False)
    # Monday to Friday without the holiday would have ended on Oct 19; a September notice
    # without a holiday runs exactly three weeks.
    assert services.notice_period(date(2026, 9, 7))[0] == date(2026, 9, 28)
    assert WorkCalendar().workdays_between(date(2026, 9, 28), ends_on) == 15


def test_open_notice_takes_an_injected_day_and_never_backdates(app, world):
    account = open_account(world.sponsor_a, world.unit_a["id"], opened_on="2026-09-01")
    row = db.session.get(Account, account["id"])
    event_row = AccountEvent(account_id=row.id, kind="deregister", event_date=date(2026, 9, 2),
                             reason="机构撤并")
    db.session.add(event_row)
    db.session.flush()
    before = {"name": row.name, "handle": row.handle, "unit_id": row.unit_id, "status": "active"}
    notice = services.open_notice(row, event_row, before, today=date(2026, 9, 28))
    assert notice.starts_on == date(2026, 9, 28)    # the day it appears, not the event's day
    assert notice.ends_on == date(2026, 10, 23)
    assert "2026-09-28 至 2026-10-23" in notice.text
    db.session.rollback()


def test_the_deregister_event_opens_todays_notice_with_the_drafted_text(world):
    account = open_account(world.sponsor_a, world.unit_a["id"])
    response = event(world.sponsor_a, account["id"], "deregister", reason="并入县融媒体中心",
                     reason_category="merged", successor="微信公众号“某县融媒”",
                     contact="县政府办公室 0771-0000000")
    assert response.status_code == 201, response.get_json()
    notice = response.get_json()["notice"]
    today = today_shanghai()
    assert notice["kind"] == "deregister" and notice["starts_on"] == today.isoformat()
    assert notice["ends_on"] == WorkCalendar().add_workdays(today, 15)[0].isoformat()
    for part in ("某县发布", "gh_0123456789ab", "某县人民政府办公室", "主办单位机构合并",
                 "并入县融媒体中心", "某县融媒", "县政府办公室 0771-0000000"):
        assert part in notice["text"], part
    assert notice["completes_on"] > notice["ends_on"]
    # one filing: the event's
    assert db.session.scalar(select(func.count()).select_from(Filing).where(
        Filing.account_id == account["id"], Filing.event == "deregister")) == 1


def test_closing_gets_a_notice_too_unless_the_sponsor_opts_out(world):
    a = open_account(world.sponsor_a, world.unit_a["id"])
    closed = event(world.sponsor_a, a["id"], "close")
    assert closed.status_code == 201
    assert closed.get_json()["notice"]["kind"] == "close"
    assert "关停" in closed.get_json()["notice"]["text"]
    b = open_account(world.sponsor_b, world.unit_b["id"], handle="gh_bbbbbbbbbbbb")
    quiet = event(world.sponsor_b, b["id"], "close", publish_notice=False)
    assert quiet.status_code == 201 and "notice" not in quiet.get_json()
    assert event(world.sponsor_b, b["id"], "reopen").get_json().get("notice") is None


def test_a_checklist_is_refused_for_accounts_that_are_not_apps(world):
    a = open_account(world.sponsor_a, world.unit_a["id"])
    response = event(world.sponsor_a, a["id"], "deregister",
                     takedown=[{"kind": "store", "label": "华为应用市场"}])
    assert response.status_code == 400 and "takedown" in response.get_json()["error"]["fields"]
    assert status_of(a["id"]) == "active"


# --- completion ------------------------------------------------------------------------------

def test_the_job_completes_the_day_after_the_notice_ends_once_and_audits_it(world):
    a = open_account(world.sponsor_a, world.unit_a["id"])
    notice = event(world.sponsor_a, a["id"], "deregister").get_json()["notice"]
    ends_on = date.fromisoformat(notice["ends_on"])
    assert services.complete_deregistrations(today=ends_on) == {"completed": [], "waiting": []}
    assert status_of(a["id"]) == "deregistering"
    day_after = date.fromordinal(ends_on.toordinal() + 1)
    assert services.complete_deregistrations(today=day_after)["completed"] == [a["id"]]
    db.session.commit()
    assert status_of(a["id"]) == "deregistered"
    # idempotent: a second run (another worker, a rerun) does nothing
    assert services.complete_deregistrations(today=day_after)["completed"] == []
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "account.deregistered")).all()
    assert len(entries) == 1 and entries[0].object_id == a["id"]
    filing_id = db.session.scalar(select(Filing.id).where(Filing.account_id == a["id"],
                                                          Filing.event == "deregister"))
    assert entries[0].after["filing_id"] == filing_id
    assert db.session.scalar(select(func.count()).select_from(Filing).where(
        Filing.account_id == a["id"])) == 2   # open + deregister: no new filing
    # a deregistered account frees its platform for the unit (rule 3)
    assert world.sponsor_a.post("/api/v1/accounts", account_body(
        world.unit_a["id"], handle="gh_0123456789ab")).status_code == 201


def test_the_periodic_job_is_registered_and_runs_from_the_queue(app, world, run_jobs):
    jobs = {job.name: job for job in periodic_jobs(app)}
    assert jobs["complete_deregistrations"].function is complete_deregistrations
    assert str(jobs["complete_deregistrations"].daily_at) == "00:10:00"
    a = open_account(world.sponsor_a, world.unit_a["id"])
    event(world.sponsor_a, a["id"], "deregister")
    db.session.execute(Notice.__table__.update().values(starts_on=date(2026, 1, 5),
                                                        ends_on=date(2026, 1, 26)))
    db.session.commit()
    assert "complete_deregistrations" in tick(app, datetime.now(UTC).replace(
        hour=23, minute=0))   # 07:00 in Shanghai: after 00:10
    run_jobs()
    assert status_of(a["id"]) == "deregistered"


def test_an_app_waits_for_its_take_down_checklist(world):
    body = account_body(world.unit_a["id"], platform="app", handle="cn.gov.example.app",
                        name="某县政务")
    app_account = world.sponsor_a.post("/api/v1/accounts", body).get_json()
    response = event(world.sponsor_a, app_account["id"], "deregister",
                     takedown=[{"kind": "store", "label": "华为应用市场"}])
    assert response.status_code == 201, response.get_json()
    notice = response.get_json()["notice"]
    after = date.fromordinal(date.fromisoformat(notice["ends_on"]).toordinal() + 1)
    items = world.sponsor_a.get(f"/api/v1/accounts/{app_account['id']}/takedown").get_json()
    assert [i["label"] for i in items["items"]] == ["华为应用市场"]
    added = world.sponsor_a.post(f"/api/v1/accounts/{app_account['id']}/takedown",
                                 {"kind": "link", "label": "https://www.example.gov.cn/app"})
    assert added.status_code == 201
    result = services.complete_deregistrations(today=after)
    assert result == {"completed": [], "waiting": [app_account["id"]]}
    detail = world.supervisor.get(f"/api/v1/notices/{notice['id']}").get_json()
    assert detail["blocked"]["code"] == "checklist_incomplete"
    assert "华为应用市场" in detail["blocked"]["message"]
    # another unit's sponsor cannot tick it
    first = items["items"][0]["id"]
    assert world.sponsor_b.post(f"/api/v1/takedown/{first}/done",
                                {"done_on": "2026-11-20"}).status_code == 403
    for item in world.sponsor_a.get(
            f"/api/v1/accounts/{app_account['id']}/takedown").get_json()["items"]:
        ticked = world.sponsor_a.post(f"/api/v1/takedown/{item['id']}/done",
                                      {"done_on": today_shanghai().isoformat()})
        assert ticked.status_code == 200 and ticked.get_json()["done_on"]
    assert services.complete_deregistrations(today=after)["completed"] == [app_account["id"]]


def test_an_app_with_no_checklist_waits_too(world):
    body = account_body(world.unit_a["id"], platform="miniprogram", handle="wx1234567890",
                        name="某县办事")
    mini = world.sponsor_a.post("/api/v1/accounts", body).get_json()
    notice = event(world.sponsor_a, mini["id"], "deregister").get_json()["notice"]
    after = date.fromordinal(date.fromisoformat(notice["ends_on"]).toordinal() + 1)
    assert services.complete_deregistrations(today=after)["waiting"] == [mini["id"]]
    detail = world.sponsor_a.get(f"/api/v1/notices/{notice['id']}").get_json()
    assert detail["blocked"]["code"] == "checklist_empty"


@pytest.mark.parametrize("decided, starts, warns", [
    (date(2026, 9, 28), date(2026, 9, 28), False),  # completes Oct 24, limit Oct 28
    (date(2026, 9, 20), date(2026, 9, 28), True),   # completes Oct 24, limit Oct 20
    (date(2027, 1, 31), date(2027, 2, 10), True),   # limit Feb 28 (no Feb 31): Civil Code
])
def test_the_one_month_warning_counts_months_as_the_civil_code_does(app, decided, starts, warns):
    ends_on, _ = services.notice_period(starts)
    notice = Notice(kind="deregister", decided_on=decided, starts_on=starts, ends_on=ends_on)
    warning = services.completion_warning(notice)
    assert (warning is not None) == warns
    if warning:
        assert warning["limit"] == (decided.replace(day=28, month=2) if decided.month == 1
                                    else decided.replace(month=decided.month + 1)).isoformat()
    assert services.one_month_after(date(2024, 1, 31)) == date(2024, 2, 29)
    assert services.one_month_after(date(2026, 3, 31)) == date(2026, 4, 30)
    assert services.one_month_after(date(2026, 12, 15)) == date(2027, 1, 15)


# --- amendments and withdrawal ---------------------------------------------------------------

def test_sponsors_amend_and_every_version_is_kept(world):
    a = open_account(world.sponsor_a, world.unit_a["id"])
    notice = event(world.sponsor_a, a["id"], "deregister").get_json()["notice"]
    url = f"/api/v1/notices/{notice['id']}/amendments"
    first = world.sponsor_a.post(url, {"text": "第一次修改的公告", "note": "补充联系方式"})
    assert first.status_code == 201, first.get_json()
    second = world.sponsor_a.post(url, {"text": "第二次修改的公告"})
    body = second.get_json()
    assert body["text"] == "第二次修改的公告"
    assert [x["text_before"] for x in body["amendments"]] == [notice["text"], "第一次修改的公告"]
    assert world.sponsor_b.post(url, {"text": "他人修改"}).status_code == 403
    assert world.supervisor.post(url, {"text": "监管修改"}).status_code == 403
    assert world.sponsor_a.post(url, {"text": "第二次修改的公告"}).status_code == 400
    public = world.sponsor_a.client.get("/api/v1/public/notices").get_json()
    assert public["items"][0]["text"] == "第二次修改的公告" and public["items"][0]["amended"]
    assert db.session.scalar(select(func.count()).select_from(NoticeAmendment)) == 2


def test_supervisors_see_days_remaining_and_withdraw_with_a_reason(world):
    a = open_account(world.sponsor_a, world.unit_a["id"], opened_on="2026-11-02")
    notice = event(world.sponsor_a, a["id"], "deregister").get_json()["notice"]
    b = open_account(world.sponsor_b, world.unit_b["id"], handle="gh_bbbbbbbbbbbb")
    event(world.sponsor_b, b["id"], "change", changes={"name": "某县教育发布"})
    listed = world.supervisor.get("/api/v1/notices").get_json()
    assert listed["total"] == 2
    mine = world.sponsor_a.get("/api/v1/notices").get_json()
    assert [n["account_id"] for n in mine["items"]] == [a["id"]]   # sponsors: their own unit
    remaining = next(n for n in listed["items"] if n["id"] == notice["id"])["days_remaining"]
    today = today_shanghai()
    ends_on = date.fromisoformat(notice["ends_on"])
    calendar = WorkCalendar()
    expected = calendar.workdays_between(today, ends_on) + (1 if calendar.is_workday(today) else 0)
    assert remaining == {"working_days": expected,
                         "calendar_days": (ends_on - today).days + 1}
    url = f"/api/v1/notices/{notice['id']}/withdraw"
    assert world.sponsor_a.post(url, {"reason": "撤回"}).status_code == 403
    assert world.supervisor.post(url, {}).status_code == 400
    done = world.supervisor.post(url, {"reason": "决定有误，账号继续运营"})
    assert done.status_code == 200
    assert done.get_json()["withdrawn"] and done.get_json()["withdrawn_reason"]
    assert status_of(a["id"]) == "active"            # the deregistration is called off
    assert world.supervisor.post(url, {"reason": "再次撤回"}).get_json()["error"]["code"] == \
        "notice_withdrawn"
    public = world.sponsor_a.client.get("/api/v1/public/notices").get_json()["items"]
    kept = next(n for n in public if n["id"] == notice["id"])
    assert kept["withdrawn"] and "决定有误" not in str(public)   # kept, reason internal
    assert services.complete_deregistrations(
        today=date.fromordinal(ends_on.toordinal() + 1))["completed"] == []


# --- pages -----------------------------------------------------------------------------------

def page_client(app, username):
    client = app.test_client()
    assert client.post("/login", data={"username": username,
                                       "password": "Passw0rd-test"}).status_code == 302
    return client


def test_the_notices_pages_for_sponsors_and_supervisors(app, world):
    body = account_body(world.unit_a["id"], platform="app", handle="cn.gov.example.app",
                        name="某县政务", opened_on="2026-08-03")
    app_account = world.sponsor_a.post("/api/v1/accounts", body).get_json()
    notice = event(world.sponsor_a, app_account["id"], "deregister",
                   event_date="2026-09-01").get_json()["notice"]
    supervisor = page_client(app, "supervisor")
    page = supervisor.get("/notices/manage").get_data(as_text=True)
    assert "某县政务" in page and "工作日" in page
    assert "完成时间晚于决定之日起一个月" in page      # decided Sep 1: far beyond a month
    detail = supervisor.get(f"/notices/manage/{notice['id']}").get_data(as_text=True)
    assert 'id="blocked"' in detail and 'id="withdraw"' in detail
    assert 'id="amend-form"' not in detail          # supervisors do not amend

    sponsor = page_client(app, "sponsor_a")
    response = sponsor.post(f"/notices/manage/{notice['id']}/takedown",
                            data={"kind": "store", "label": "应用宝"})
    assert response.status_code == 302
    response = sponsor.post(f"/notices/manage/{notice['id']}/amend",
                            data={"text": "修改后的公告正文", "note": "措辞"})
    assert response.status_code == 302
    detail = sponsor.get(f"/notices/manage/{notice['id']}").get_data(as_text=True)
    assert "修改后的公告正文" in detail and "应用宝" in detail and 'id="amendments"' in detail
    empty = sponsor.post(f"/notices/manage/{notice['id']}/amend", data={"text": ""})
    assert empty.status_code == 400
    other = page_client(app, "sponsor_b")
    assert other.get(f"/notices/manage/{notice['id']}").status_code == 403
    withdrawn = supervisor.post(f"/notices/manage/{notice['id']}/withdraw",
                                data={"reason": "登记错误"})
    assert withdrawn.status_code == 302
    assert status_of(app_account["id"]) == "active"


def test_the_models_and_the_migration_agree(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    mine = {"notices", "notice_amendments", "takedown_items"}
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)

    def table_of(item):
        op = item[0] if isinstance(item, list) else item
        for part in op[1:]:
            name = getattr(part, "table", None)
            name = getattr(name, "name", None) or getattr(part, "name", None)
            if isinstance(part, str) and part in mine:
                return part
            if name in mine:
                return name
        return None

    assert [d for d in diff if table_of(d) in mine] == []
