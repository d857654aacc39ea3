"""The registry's pages through the Flask test client: roles, forms, refusals, calendar."""
import csv
import io
import re
from datetime import date

import pytest
from conftest import PASSWORD, account_body, base_config, make_user
from sqlalchemy import func, select

from govmedia import create_app
from govmedia.extensions import db
from govmedia.models import HolidayYear, User
from registry.models import Account, Filing, PlatformException, Unit

ONE_PER_PLATFORM = "一个单位在同一平台原则上只能开设一个账号"


def page_client(app, username, password=PASSWORD):
    """A browser-like client logged in through the login form (CSRF is off in tests)."""
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def html(response) -> str:
    return response.get_data(as_text=True)


def account_form(**extra):
    form = {"platform": "wechat", "name": "某县发布", "handle": "gh_0123456789ab",
            "opened_on": "2026-11-02", "office": "县政府办公室信息科",
            "staff-0-name": "张三", "staff-0-phone": "13800000000",
            "staff-0-platform_role": "admin",
            "staff-1-name": "", "staff-1-phone": "", "staff-1-platform_role": "operator"}
    form.update(extra)
    return form


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def pages(app, world):
    """Logged-in page clients for admin, supervisor and the two sponsors, plus ids to visit."""
    acc_a = world.sponsor_a.post("/api/v1/accounts", account_body(world.unit_a["id"])).get_json()
    acc_b = world.sponsor_b.post("/api/v1/accounts", account_body(
        world.unit_b["id"], handle="gh_bbbbbbbbbbbb", name="某县教育")).get_json()

    class Pages:
        unit_a, unit_b = world.unit_a["id"], world.unit_b["id"]
        account_a, account_b = acc_a["id"], acc_b["id"]
        filing_a, filing_b = acc_a["filings"][0]["id"], acc_b["filings"][0]["id"]
        admin = page_client(app, "admin")
        supervisor = page_client(app, "supervisor")
        sponsor_a = page_client(app, "sponsor_a")
        sponsor_b = page_client(app, "sponsor_b")
        sponsor_a_id = db.session.scalar(select(User.id).where(User.username == "sponsor_a"))

    return Pages


# --- who may see what ------------------------------------------------------------------

PATHS = {
    "home": "/", "units": "/units", "unit_new": "/units/new", "unit_a": "/units/{unit_a}",
    "unit_b": "/units/{unit_b}", "unit_edit": "/units/{unit_a}/edit", "accounts": "/accounts",
    "account_new": "/accounts/new", "account_a": "/accounts/{account_a}",
    "account_b": "/accounts/{account_b}", "filings": "/filings",
    "filings_csv": "/filings/export.csv", "audit": "/audit", "users": "/users",
    "user": "/users/{sponsor_a_id}", "holidays": "/holidays",
}
REFUSED = {
    "admin": set(),
    "supervisor": {"account_new", "users", "user"},
    "sponsor_a": {"unit_new", "unit_b", "unit_edit", "account_b", "audit", "users", "user"},
}


@pytest.mark.parametrize("who", sorted(REFUSED))
def test_each_page_renders_for_its_roles_and_refuses_others(pages, who):
    client = getattr(pages, who)
    for name, template in PATHS.items():
        path = template.format(**{k: getattr(pages, k) for k in (
            "unit_a", "unit_b", "account_a", "account_b", "sponsor_a_id")})
        response = client.get(path)
        expected = 403 if name in REFUSED[who] else 200
        assert response.status_code == expected, (who, path, response.status_code)
        if expected == 403:
            assert "text/html" in response.content_type
            assert "不允许" in html(response) or "权限" in html(response)


def test_logged_out_visitors_are_sent_to_the_login_page(pages, app):
    client = app.test_client()
    for template in PATHS.values():
        path = template.format(unit_a=pages.unit_a, unit_b=pages.unit_b,
                               account_a=pages.account_a, account_b=pages.account_b,
                               sponsor_a_id=pages.sponsor_a_id)
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path
    assert client.post(f"/accounts/{pages.account_a}/events",
                       data={"kind": "close"}).status_code == 302


def test_nav_shows_what_the_roles_allow_and_marks_the_section(pages):
    sponsor = html(pages.sponsor_a.get("/accounts"))
    nav = sponsor.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/accounts/new"' in nav and 'href="/imports/new"' in nav
    assert 'href="/audit"' not in nav and 'href="/users"' not in nav
    assert re.search(r'href="/accounts"\s+aria-current="page"', nav)
    admin = html(pages.admin.get("/users"))
    nav = admin.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/audit"' in nav and re.search(r'href="/users"\s+aria-current="page"', nav)
    supervisor = html(pages.supervisor.get("/"))
    nav = supervisor.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/accounts/new"' not in nav and 'href="/audit"' in nav


def test_unknown_page_is_an_html_404_and_api_paths_stay_json(pages):
    response = pages.sponsor_a.get("/no-such-page")
    assert response.status_code == 404 and "text/html" in response.content_type
    assert "未找到" in html(response)
    response = pages.sponsor_a.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_home_counts_the_users_scope(pages):
    page = html(pages.sponsor_a.get("/"))
    assert "某县人民政府办公室" in page
    assert 'href="/accounts?status=active">1<' in page
    page = html(pages.admin.get("/"))
    assert 'href="/accounts?status=active">2<' in page


# --- registering an account ----------------------------------------------------------

def test_registering_through_the_form_creates_the_account_and_its_filing(app, world):
    sponsor = page_client(app, "sponsor_a")
    form = html(sponsor.get("/accounts/new"))
    assert 'name="csrf_token"' in form and "gh_" in form  # the handle hint for WeChat
    response = sponsor.post("/accounts/new", data=account_form(verified_subject="某县某某中心"))
    assert response.status_code == 302
    account = db.session.scalar(select(Account))
    assert response.headers["Location"] == f"/accounts/{account.id}"
    assert (account.unit_id, account.platform, account.handle) == (
        world.unit_a["id"], "wechat", "gh_0123456789ab")
    assert account.staff == [{"name": "张三", "phone": "13800000000", "platform_role": "admin"}]
    [filing] = account.filings
    assert (filing.event, filing.due_on.isoformat(), filing.provisional) == (
        "open", "2026-11-09", False)
    page = html(sponsor.get(response.headers["Location"]))
    assert "某县发布" in page and "2026-11-09" in page
    assert "认证主体“某县某某中心”与主办单位名称“某县人民政府办公室”不一致" in page  # flashed warning
    assert 'name="csrf_token"' in page


def test_missing_prerequisites_are_accepted_and_flagged(app, world):
    sponsor = page_client(app, "sponsor_a")
    response = sponsor.post("/accounts/new", data=account_form(
        office="", **{"staff-0-name": "", "staff-0-phone": ""}), follow_redirects=True)
    assert response.status_code == 200
    page = html(response)
    assert "未登记管理科室" in page and "未登记管理人员" in page
    assert db.session.scalar(select(Account)).flags == ["missing_office", "missing_staff"]


def test_form_errors_are_shown_next_to_the_fields_and_keep_the_input(app, world):
    sponsor = page_client(app, "sponsor_a")
    response = sponsor.post("/accounts/new", data=account_form(
        name="", opened_on="2026-13-45", **{"staff-1-phone": "13900000000"}))
    assert response.status_code == 400
    page = html(response)
    assert re.search(r'id="err-name">必填<', page)
    assert re.search(r'id="err-opened_on">[^<]*YYYY-MM-DD', page)
    assert re.search(r'id="err-staff-1-name">必填<', page)  # a phone without a name
    assert 'value="gh_0123456789ab"' in page and 'value="13900000000"' in page
    assert 'value="2026-13-45"' in page
    assert count(Account) == 0


def test_a_second_account_on_a_platform_is_refused_in_chinese_on_the_form(app, world):
    sponsor = page_client(app, "sponsor_a")
    assert sponsor.post("/accounts/new", data=account_form()).status_code == 302
    first = db.session.scalar(select(Account.id))
    response = sponsor.post("/accounts/new", data=account_form(
        name="某县发布2", handle="gh_ffffffffffff"))
    assert response.status_code == 409
    page = html(response)
    assert ONE_PER_PLATFORM in page
    assert f'href="/accounts/{first}"' in page  # the conflicting account
    assert 'value="gh_ffffffffffff"' in page  # what the user typed stays
    assert count(Account) == 1 and count(Filing) == 1


def test_an_admin_chooses_the_unit_and_a_sponsor_cannot(app, world):
    admin = page_client(app, "admin")
    response = admin.post("/accounts/new", data=account_form(unit_id=str(world.unit_b["id"])))
    assert response.status_code == 302
    assert db.session.scalar(select(Account.unit_id)) == world.unit_b["id"]
    sponsor = page_client(app, "sponsor_a")
    response = sponsor.post("/accounts/new", data=account_form(
        unit_id=str(world.unit_b["id"]), handle="gh_aaaaaaaaaaaa", platform="weibo"))
    assert response.status_code == 302  # the sponsor's own unit, whatever the form says
    assert db.session.scalar(select(Account.unit_id).where(
        Account.handle == "gh_aaaaaaaaaaaa")) == world.unit_a["id"]


# --- one account's page ----------------------------------------------------------------

def test_a_sponsor_cannot_see_or_change_another_units_account(pages):
    assert pages.sponsor_a.get(f"/accounts/{pages.account_b}").status_code == 403
    response = pages.sponsor_a.post(f"/accounts/{pages.account_b}/events", data={
        "kind": "close", "event_date": "2026-11-10", "reason": "测试"})
    assert response.status_code == 403
    response = pages.sponsor_a.post(f"/filings/{pages.filing_b}/complete", data={
        "filed_on": "2026-11-05", "reference": "X-1"})
    assert response.status_code == 403
    db.session.expire_all()
    account = db.session.get(Account, pages.account_b)
    assert account.status == "active" and len(account.events) == 1
    assert db.session.get(Filing, pages.filing_b).filed_on is None
    # Lists leave the other unit out, and the unit filter cannot reach it.
    assert ">某县教育</a>" not in html(pages.sponsor_a.get("/accounts"))
    assert pages.sponsor_a.get(f"/accounts?unit_id={pages.unit_b}").status_code == 403
    assert "某县教育" not in html(pages.sponsor_a.get("/filings"))  # no unit B anywhere
    assert pages.supervisor.post(f"/accounts/{pages.account_a}/events", data={
        "kind": "close", "event_date": "2026-11-10"}).status_code == 403


def test_recording_a_filing_through_the_form_makes_it_filed_or_late(pages):
    response = pages.sponsor_a.post(f"/filings/{pages.filing_a}/complete", data={
        "filed_on": "2026-11-09", "reference": "桂网备-2026-001"}, follow_redirects=True)
    assert response.status_code == 200
    assert "按时备案" in html(response)
    assert db.session.get(Filing, pages.filing_a).filed_on.isoformat() == "2026-11-09"
    response = pages.sponsor_b.post(f"/filings/{pages.filing_b}/complete", data={
        "filed_on": "2026-11-10", "reference": "桂网备-2026-002"}, follow_redirects=True)
    assert "逾期备案" in html(response)
    filing = db.session.get(Filing, pages.filing_b)
    assert filing.status_on(filing.filed_on) == "late"
    # A form error keeps the page and shows the problem.
    other = pages.sponsor_a.post("/accounts/new", data=account_form(
        platform="weibo", handle="1234567890", name="某县发布"))
    assert other.status_code == 302
    new_filing = db.session.scalar(select(Filing.id).where(Filing.filed_on.is_(None),
                                                           Filing.unit_id == pages.unit_a))
    response = pages.sponsor_a.post(f"/filings/{new_filing}/complete", data={
        "filed_on": "2026-10-01", "reference": "x"})
    assert response.status_code == 400
    assert "备案日期不能早于事件日期" in html(response)


def test_the_event_form_records_a_change_with_before_and_after_and_its_notice(pages):
    response = pages.sponsor_a.post(f"/accounts/{pages.account_a}/events", data={
        "kind": "change", "event_date": "2026-11-12", "reason": "机构改革",
        "new_name": "某县政务发布", "new_handle": "", "new_unit_id": ""},
        follow_redirects=True)
    assert response.status_code == 200
    page = html(response)
    assert "<del>某县发布</del> → <ins>某县政务发布</ins>" in page
    assert "关于政务新媒体账号“某县发布”变更的公告" in page  # the notice
    assert db.session.get(Account, pages.account_a).name == "某县政务发布"
    # An event the status does not allow is refused on the form.
    pages.sponsor_a.post(f"/accounts/{pages.account_a}/events", data={
        "kind": "close", "event_date": "2026-11-13"})
    response = pages.sponsor_a.post(f"/accounts/{pages.account_a}/events", data={
        "kind": "close", "event_date": "2026-11-14"})
    assert response.status_code == 409
    assert "不能进行此操作" in html(response)
    # A change without anything to change is refused too.
    response = pages.sponsor_a.post(f"/accounts/{pages.account_a}/events", data={
        "kind": "change", "event_date": "2026-11-14", "new_name": ""})
    assert response.status_code == 400 and "变更须至少修改" in html(response)


def test_a_transfer_moves_the_account_out_of_the_senders_view(pages):
    response = pages.sponsor_a.post(f"/accounts/{pages.account_a}/events", data={
        "kind": "change", "event_date": "2026-11-12", "reason": "职能划转",
        "new_unit_id": str(pages.unit_b)})
    # unit B already has a WeChat account: the receiving unit's rule refuses it
    assert response.status_code == 409 and ONE_PER_PLATFORM in html(response)
    pages.sponsor_b.post(f"/accounts/{pages.account_b}/events", data={
        "kind": "deregister", "event_date": "2026-11-12", "reason": "合并", "confirmed": "1",
        "reason_category": "merged", "contact": "县教育局办公室"})
    response = pages.sponsor_a.post(f"/accounts/{pages.account_a}/events", data={
        "kind": "change", "event_date": "2026-11-13", "reason": "职能划转",
        "new_unit_id": str(pages.unit_b)})
    assert response.status_code == 302 and response.headers["Location"] == "/accounts"
    page = html(pages.sponsor_b.get(f"/accounts/{pages.account_a}"))
    assert "<del>某县人民政府办公室</del> → <ins>某县教育局</ins>" in page


# --- lists ------------------------------------------------------------------------------

def test_filings_list_filters_and_exports_csv_for_excel(pages):
    page = html(pages.admin.get("/filings?status=overdue&as_of=2026-11-10"))
    assert page.count('class="badge overdue"') == 2
    page = html(pages.admin.get("/filings?status=pending&as_of=2026-11-10"))
    assert 'class="badge pending"' not in page
    page = html(pages.admin.get(f"/filings?unit_id={pages.unit_b}&as_of=2026-11-03"))
    assert "某县教育" in page and "某县发布" not in page
    assert 'type="date" name="as_of" value="2026-11-03"' in page
    response = pages.admin.get("/filings/export.csv?as_of=2026-11-10")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["备案记录号", "账号", "平台"]
    assert {row[8] for row in rows[1:]} == {"逾期未备案"}
    assert len(rows) == 3
    rows = list(csv.reader(io.StringIO(pages.sponsor_a.get(
        "/filings/export.csv").get_data().decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][1] == "某县发布"


def test_csv_cells_cannot_smuggle_formulas(app, world):
    sponsor = page_client(app, "sponsor_a")
    sponsor.post("/accounts/new", data=account_form(name="=HYPERLINK(\"x\")"))
    rows = list(csv.reader(io.StringIO(sponsor.get("/filings/export.csv").get_data()
                                       .decode("utf-8-sig"))))
    assert rows[1][1] == "'=HYPERLINK(\"x\")"


def test_account_list_filters(pages):
    page = html(pages.admin.get("/accounts?platform=weibo"))
    assert ">某县发布</a>" not in page and ">某县教育</a>" not in page
    page = html(pages.admin.get(f"/accounts?unit_id={pages.unit_a}&status=active"))
    assert ">某县发布</a>" in page and ">某县教育</a>" not in page


# --- units ------------------------------------------------------------------------------

def test_units_are_created_and_edited_through_the_form(pages):
    response = pages.supervisor.post("/units/new", data={
        "name": "某县卫生健康局", "code": "91110000600037341X", "leader": "李局长"})
    assert response.status_code == 400
    assert "统一社会信用代码无效" in html(response)
    assert 'value="某县卫生健康局"' in html(response)
    response = pages.supervisor.post("/units/new", data={
        "name": "某县卫生健康局", "code": "91110000600037341l", "parent_id": str(pages.unit_a),
        "leader": "李局长", "deputy_leader": "王副局长", "office": "办公室",
        "contacts-0-name": "赵六", "contacts-0-phone": "0771-1234567", "contacts-0-title": "",
        "contacts-1-name": "", "contacts-1-phone": ""})
    assert response.status_code == 302
    unit = db.session.scalar(select(Unit).where(Unit.name == "某县卫生健康局"))
    assert unit.code == "91110000600037341L" and unit.parent_id == pages.unit_a
    assert unit.contacts == [{"name": "赵六", "phone": "0771-1234567", "title": None}]
    page = html(pages.supervisor.get(f"/units/{unit.id}"))
    assert "李局长" in page and "王副局长" in page and "赵六" in page
    response = pages.admin.post(f"/units/{unit.id}/edit", data={
        "name": "某县卫生健康委员会", "code": "91110000600037341L", "parent_id": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Unit, unit.id).name == "某县卫生健康委员会"
    assert db.session.get(Unit, unit.id).parent_id is None
    # the same code on another unit is refused with a link to the unit that holds it
    response = pages.admin.post(f"/units/{pages.unit_a}/edit", data={
        "name": "某县人民政府办公室", "code": "91110000600037341L"})
    assert response.status_code == 409 and f'href="/units/{unit.id}"' in html(response)


def test_unit_page_shows_people_and_a_supervisor_records_an_exception(pages, app):
    page = html(pages.sponsor_a.get(f"/units/{pages.unit_a}"))
    assert "sponsor_a" in page and "某县发布" in page
    assert "/platform-exceptions" not in page  # no exception form for a sponsor
    assert pages.sponsor_a.post(f"/units/{pages.unit_a}/platform-exceptions", data={
        "platform": "wechat", "reason": "理由"}).status_code == 403
    response = pages.supervisor.post(f"/units/{pages.unit_a}/platform-exceptions", data={
        "platform": "wechat", "reason": ""})
    assert response.status_code == 400 and 'id="err-reason"' in html(response)
    response = pages.supervisor.post(f"/units/{pages.unit_a}/platform-exceptions", data={
        "platform": "wechat", "reason": "应急管理需要单独的预警发布账号"}, follow_redirects=True)
    assert "应急管理需要单独的预警发布账号" in html(response)
    assert count(PlatformException) == 1
    response = pages.sponsor_a.post("/accounts/new", data=account_form(
        name="某县预警发布", handle="gh_cccccccccccc"))
    assert response.status_code == 302


# --- users ------------------------------------------------------------------------------

def test_admin_creates_and_changes_users_through_the_pages(pages):
    response = pages.admin.post("/users", data={
        "username": "editor_a", "password": "short", "roles": ["editor"],
        "unit_id": str(pages.unit_a)})
    assert response.status_code == 400 and "密码至少 8 位" in html(response)
    assert 'value="editor_a"' in html(response) and 'value="short"' not in html(response)
    response = pages.admin.post("/users", data={
        "username": "editor_a", "password": "Editor2026", "roles": ["editor", "reviewer"],
        "unit_id": ""})
    assert response.status_code == 400 and "该角色须归属于一个单位" in html(response)
    response = pages.admin.post("/users", data={
        "username": "editor_a", "password": "Editor2026", "roles": ["editor", "reviewer"],
        "unit_id": str(pages.unit_a), "display_name": "编辑甲"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "editor_a"))
    assert user.roles == ["editor", "reviewer"] and user.unit_id == pages.unit_a
    response = pages.admin.post(f"/users/{user.id}", data={
        "roles": ["signer"], "unit_id": str(pages.unit_b), "display_name": "编辑甲"})
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.roles == ["signer"] and user.unit_id == pages.unit_b
    response = pages.admin.post(f"/users/{user.id}", data={"roles": [], "unit_id": ""})
    assert response.status_code == 400 and "至少选择一项" in html(response)
    response = pages.admin.post(f"/users/{user.id}/password", data={"password": "NewPass2027"})
    assert response.status_code == 302
    page_client(pages.admin.application, "editor_a", "NewPass2027")
    admin_id = db.session.scalar(select(User.id).where(User.username == "admin"))
    response = pages.admin.post(f"/users/{admin_id}/active", data={"active": "0"})
    assert response.status_code == 400 and "不能停用自己" in html(response)


def test_a_disabled_users_session_ends_at_once(pages):
    assert pages.sponsor_a.get("/accounts").status_code == 200
    response = pages.admin.post(f"/users/{pages.sponsor_a_id}/active", data={"active": "0"})
    assert response.status_code == 302
    response = pages.sponsor_a.get("/accounts")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    response = pages.sponsor_a.post("/accounts/new", data=account_form(platform="weibo",
                                                                       handle="123"))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert pages.sponsor_a.post("/login", data={"username": "sponsor_a",
                                                "password": PASSWORD}).status_code == 401
    pages.admin.post(f"/users/{pages.sponsor_a_id}/active", data={"active": "1"})
    assert page_client(pages.admin.application, "sponsor_a").get("/accounts").status_code == 200


# --- audit ------------------------------------------------------------------------------

def test_audit_trail_is_paged_filtered_and_verified(pages):
    page = html(pages.supervisor.get("/audit"))
    # in words, not raw keys: the action, the object by name, the platform by its label
    assert "登记账号" in page and "新建单位" in page
    assert "account.open" not in page and "unit.create" not in page
    page = html(pages.supervisor.get(f"/audit?object_type=account&object_id={pages.account_b}"))
    assert "登记账号" in page and "新建单位" not in page
    assert "某县教育" in page  # the after state, Chinese as itself
    assert "平台：" in page and "微信公众号" in page and "platform:" not in page
    assert "张三（13800000000、平台管理员）" in page and "platform_role" not in page
    assert "主办单位：" in page and "unit_id" not in page
    page = html(pages.supervisor.get("/audit?verify=1"))
    assert "链条完整" in page
    for method in ("put", "delete", "patch"):
        response = getattr(pages.admin, method)("/audit")
        assert response.status_code == 405 and "GET" in response.headers["Allow"]


# --- the working-day calendar -------------------------------------------------------------

SCHEDULE_2027 = "# test schedule\n2027-01-01,holiday,元旦\n2027-01-04,holiday,元旦调休（测试）\n"


def test_entering_a_years_schedule_recomputes_provisional_deadlines(app, world, monkeypatch):
    # As if on 2027-01-31: an opening on 2026-12-28 is in the past (a future one is refused).
    monkeypatch.setattr("registry.services.today_shanghai", lambda: date(2027, 1, 31))
    sponsor = page_client(app, "sponsor_a")
    sponsor.post("/accounts/new", data=account_form(opened_on="2026-12-28"))
    filing = db.session.scalar(select(Filing))
    assert (filing.due_on.isoformat(), filing.provisional) == ("2027-01-05", True)
    page = html(sponsor.get(f"/accounts/{filing.account_id}"))
    assert "暂定" in page and "尚未公布" in page
    page = html(sponsor.get("/holidays?year=2027"))
    assert "暂定" in page and "2027-02-06" in page  # 除夕 in the statutory fallback
    assert 'name="schedule"' not in page  # only admins enter schedules
    assert sponsor.post("/holidays", data={"year": "2027", "schedule": SCHEDULE_2027,
                                           "confirm": "1"}).status_code == 403

    admin = page_client(app, "admin")
    response = admin.post("/holidays", data={"year": "2027", "schedule": "2027-01-32,holiday"})
    assert response.status_code == 400 and "第1行：日期不存在" in html(response)
    response = admin.post("/holidays", data={"year": "2027", "schedule": SCHEDULE_2027,
                                             "confirm": "1"}, follow_redirects=True)
    assert response.status_code == 200
    assert "重新计算的截止日期：1" in html(response)
    db.session.expire_all()
    filing = db.session.get(Filing, filing.id)
    assert (filing.due_on.isoformat(), filing.provisional) == ("2027-01-06", False)
    assert db.session.get(HolidayYear, 2027) is not None
    page = html(sponsor.get(f"/accounts/{filing.account_id}"))
    assert "2027-01-06" in page and "badge provisional" not in page


def test_a_schedule_file_upload_in_gbk_is_accepted(app, world):
    make_user("admin2", ["admin"])
    admin = page_client(app, "admin2")
    data = {"year": "2027", "schedule": "", "confirm": "1",
            "schedule_file": (io.BytesIO("2027-10-01~2027-10-07,休,国庆节\n".encode("gbk")),
                              "2027.txt")}
    response = admin.post("/holidays", data=data, content_type="multipart/form-data",
                          follow_redirects=True)
    assert response.status_code == 200
    page = html(response)
    assert "2027-10-07" in page and "国庆节" in page


# --- CSRF -------------------------------------------------------------------------------

def test_with_csrf_enabled_a_post_without_the_token_is_refused(app, database_url):
    unit = Unit(name="某县人民政府办公室")
    db.session.add(unit)
    db.session.commit()
    make_user("sponsor_csrf", ["sponsor"], unit.id)
    strict = create_app({**base_config(database_url), "WTF_CSRF_ENABLED": True})
    client = strict.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                      r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True))
    token = token[1] or token[2]
    assert client.post("/login", data={"username": "sponsor_csrf",
                                       "password": PASSWORD}).status_code == 400
    assert client.post("/login", data={"username": "sponsor_csrf", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    form_page = client.get("/accounts/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form_page)[1]
    response = client.post("/accounts/new", data=account_form())
    assert response.status_code == 400
    assert "text/html" in response.content_type
    with strict.app_context():
        assert db.session.scalar(select(func.count()).select_from(Account)) == 0
    response = client.post("/accounts/new", data={**account_form(), "csrf_token": token})
    assert response.status_code == 302


def test_templates_keep_to_the_content_security_policy():
    """script-src 'self'; style-src 'self': no inline scripts, handlers or styles, no CDN."""
    from pathlib import Path

    forbidden = [re.compile(p, re.I) for p in (
        r"\sstyle\s*=", r"\son[a-z]+\s*=", r"<script(?![^>]*\bsrc=)", r"<style",
        r"javascript:", r"(src|href)=\"(https?:)?//")]
    root = Path(__file__).resolve().parent.parent / "templates"
    problems = [f"{path.relative_to(root)}: {pattern.pattern}"
                for path in sorted(root.rglob("*.html"))
                for pattern in forbidden if pattern.search(path.read_text(encoding="utf-8"))]
    assert not problems, problems


def test_deregistration_decision_through_the_account_page(app, world):
    """The event form carries the decision's reason, successor and contact into the notice."""
    account = world.sponsor_a.post("/api/v1/accounts", account_body(world.unit_a["id"])).get_json()
    client = app.test_client()
    client.post("/login", data={"username": "sponsor_a", "password": PASSWORD})
    page = client.get(f"/accounts/{account['id']}").get_data(as_text=True)
    assert 'id="decision-fields"' in page and "内容和服务迁移至" in page
    decision = {"kind": "deregister", "event_date": "2026-11-16", "reason": "职能调整",
                "reason_category": "merged", "successor": "微信公众号“某县发布”",
                "contact": "县政府办公室"}
    response = client.post(f"/accounts/{account['id']}/events", data=decision)
    assert response.status_code == 200 and "某县发布" in response.get_data(as_text=True)
    response = client.post(f"/accounts/{account['id']}/events", data=decision | {"confirmed": "1"})
    assert response.status_code == 302
    notice = world.sponsor_a.post(f"/api/v1/accounts/{account['id']}/events", {
        "kind": "close", "event_date": "2026-11-17"})
    assert notice.status_code == 409  # deregistering: no more events
    public = app.test_client().get("/api/v1/public/notices").get_json()["items"]
    [mine] = [n for n in public if n["account"]["handle"] == account["handle"]]
    assert mine["kind"] == "deregister" and mine["reason_category"] == "merged"
    assert "某县发布" in mine["successor"] and "某县发布" in mine["text"]
    other = world.sponsor_a.post("/api/v1/accounts", account_body(
        world.unit_a["id"], platform="weibo", handle="1234567")).get_json()
    bad = client.post(f"/accounts/{other['id']}/events", data={
        "kind": "close", "event_date": "2026-11-18", "reason_category": "bored"})
    assert bad.status_code == 400
    assert re.search(r'class="field invalid">\s*<label for="f-reason_category"',
                     bad.get_data(as_text=True))
    assert world.sponsor_a.get(f"/api/v1/accounts/{other['id']}").get_json()["status"] == "active"


def test_static_files_are_kept_by_the_browser_for_an_hour_and_nothing_else_is(app, world):
    client = page_client(app, "sponsor_a")
    static = client.get("/static/js/app.js")
    assert static.status_code == 200 and static.cache_control.max_age == 3600
    page = client.get("/accounts")
    assert page.cache_control.max_age is None
