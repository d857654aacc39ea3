"""Issue 16: the annual report's new-media section (年度工作报表, seed 001 §42) and apps' filing
numbers (网信备案号).

The data goes into the tables directly (posts, messages, account events); the expected counts
are worked out here from what was inserted, with the year's bounds in Asia/Shanghai, not by the
code under test.
"""
import io
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import PASSWORD, account_body, make_user
from openpyxl import load_workbook
from sqlalchemy import select

from govmedia.extensions import db
from govmedia.models import AuditEntry
from govmedia.types import today_shanghai
from interaction.models import Message
from registry.models import Account, AccountEvent, Post
from registry.supervision.models import AccountYear, AnnualReport

BEIJING = ZoneInfo("Asia/Shanghai")
YEAR = 2025
TREE = {"city": None, "county": "city", "township": "county", "sibling": "city"}
NAMES = {"city": "某市人民政府", "county": "某县人民政府", "township": "某镇人民政府",
         "sibling": "邻县人民政府"}


def page_client(app, username):
    client = app.test_client()
    assert client.post("/login", data={"username": username,
                                       "password": PASSWORD}).status_code == 302
    return client


@pytest.fixture
def world(app, admin_api):
    units = {}
    for key, parent in TREE.items():
        made = admin_api.post("/api/v1/units", {"name": NAMES[key],
                                                "parent_id": units.get(parent)})
        assert made.status_code == 201, made.get_json()
        units[key] = made.get_json()["id"]
    accounts = {}

    def register(key, unit, platform, handle, opened_on, **extra):
        made = admin_api.post("/api/v1/accounts", account_body(
            units[unit], platform=platform, handle=handle, name=f"{NAMES[unit][:2]}{key}",
            opened_on=opened_on, **extra))
        assert made.status_code == 201, made.get_json()
        accounts[key] = made.get_json()["id"]

    register("wechat", "county", "wechat", "gh_county0000a", "2023-03-01")
    register("douyin", "county", "douyin", "7001", "2025-04-10")        # opened in the year
    register("app", "township", "app", "cn.gov.town", "2024-05-01",
             app_filing_number="网信备 2024-001", app_version="2.1.0")
    register("town_wechat", "township", "wechat", "gh_town00000a", "2022-01-01")
    register("old", "township", "weibo", "9001", "2020-01-01")         # deregistered in 2024
    register("late", "county", "kuaishou", "8001", "2026-02-01")       # opened after the year
    register("sibling", "sibling", "wechat", "gh_sibling000a", "2021-01-01")
    register("city", "city", "weibo", "9100", "2021-06-01")
    for username, roles, unit in (("sup_all", ["supervisor"], None),
                                  ("sup_city", ["supervisor"], "city"),
                                  ("sup_county", ["supervisor"], "county"),
                                  ("sponsor_town", ["sponsor"], "township")):
        make_user(username, roles, units[unit] if unit else None)

    def event(key, kind, day, status=None):
        db.session.add(AccountEvent(account_id=accounts[key], kind=kind, event_date=day,
                                    reason="测试"))
        if status:
            db.session.get(Account, accounts[key]).status = status

    event("old", "deregister", date(2024, 9, 1), "deregistered")
    event("town_wechat", "close", date(2025, 8, 15), "closed")
    db.session.commit()

    class World:
        unit, account, admin = units, accounts, admin_api

    return World


def at(text: str) -> datetime:
    """A Beijing wall-clock time."""
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


# (account, Beijing time, origin): on both sides of the year's bounds, every origin
POSTS = [
    ("wechat", "2024-12-31T23:59:59", "govmedia"),   # before the year
    ("wechat", "2025-01-01T00:00:00", "govmedia"),   # its first instant (UTC: 2024-12-31)
    ("wechat", "2025-03-03T10:00:00", "platform"),
    ("wechat", "2025-07-01T08:00:00", "manual"),
    ("wechat", "2025-12-31T23:59:59", "govmedia"),   # its last second
    ("wechat", "2026-01-01T00:00:00", "govmedia"),   # after
    ("douyin", "2025-05-01T12:00:00", "govmedia"),
    ("douyin", "2025-05-02T12:00:00", "platform"),
    ("app", "2025-02-02T09:00:00", "manual"),
    ("town_wechat", "2025-06-30T09:00:00", "govmedia"),
    ("old", "2024-06-01T09:00:00", "manual"),
    ("sibling", "2025-04-04T09:00:00", "govmedia"),
    ("city", "2025-09-09T09:00:00", "platform"),
]
# (account, received, replied or None)
MESSAGES = [
    ("wechat", "2024-12-31T22:00:00", "2025-01-02T09:00:00"),   # received before the year
    ("wechat", "2025-02-01T09:00:00", "2025-02-01T10:00:00"),
    ("wechat", "2025-03-01T09:00:00", None),
    ("wechat", "2025-12-31T20:00:00", "2026-01-04T09:00:00"),   # answered after the year
    ("town_wechat", "2025-05-05T09:00:00", "2025-05-06T09:00:00"),
    ("sibling", "2025-06-06T09:00:00", "2025-06-06T12:00:00"),
    ("city", "2025-07-07T09:00:00", None),
]


def insert_activity(world, posts=POSTS, messages=MESSAGES, start=0):
    for n, (key, when, origin) in enumerate(posts, start=start):
        db.session.add(Post(account_id=world.account[key], published_at=at(when),
                            title=f"更新{n}", source="api",
                            origin=origin))   # uncounted by default: through the outbox
    for n, (key, received, replied) in enumerate(messages, start=start):
        account = db.session.get(Account, world.account[key])
        db.session.add(Message(unit_id=account.unit_id, account_id=account.id,
                               platform=account.platform, platform_msg_id=f"m{n}",
                               sender=f"o{n}", text="请问", received_at=at(received),
                               reply_due_on=at(received).date() + timedelta(days=3),
                               replied_at=at(replied) if replied else None))
    db.session.commit()


def expected(keys):
    """The report's counts worked out from POSTS and MESSAGES alone."""
    lo, hi = at(f"{YEAR}-01-01T00:00:00"), at(f"{YEAR + 1}-01-01T00:00:00")
    posts = Counter(k for k, when, _o in POSTS if lo <= at(when) < hi)
    original = Counter(k for k, when, o in POSTS if lo <= at(when) < hi and o == "govmedia")
    received = Counter(k for k, r, _a in MESSAGES if lo <= at(r) < hi)
    answered = Counter(k for k, r, a in MESSAGES if lo <= at(r) < hi and a and at(a) < hi)
    inbox = {"wechat", "town_wechat", "sibling", "city"}   # WeChat and Weibo accounts
    return {k: {"posts": posts[k], "original": original[k],
                "messages_received": received[k] if k in inbox else None,
                "messages_answered": answered[k] if k in inbox else None} for k in keys}


def by_account(world, data):
    key_of = {v: k for k, v in world.account.items()}
    return {key_of[row["account_id"]]: row for row in data["rows"]}


def live(app, username, **query):
    client = page_client(app, username)
    return client, client.get("/supervision/annual", query_string={"year": YEAR, **query})


def test_counts_match_the_ones_worked_out_from_the_inserted_rows(app, world):
    from registry.supervision import annual
    insert_activity(world)
    data = annual.compute(None, YEAR, date(YEAR, 12, 31))
    rows = by_account(world, data)
    # Opened after the year, and deregistered before it: not in the report.
    assert set(rows) == {"wechat", "douyin", "app", "town_wechat", "sibling", "city"}
    want = expected(rows)
    for key, row in rows.items():
        assert {k: row[k] for k in want[key]} == want[key], key
    assert rows["douyin"]["opened_on"] == "2025-04-10" and rows["wechat"]["opened_on"] == ""
    assert rows["town_wechat"]["closed_on"] == "2025-08-15"
    assert [rows[k]["closed_on"] for k in ("wechat", "douyin", "app")] == ["", "", ""]
    totals = data["totals"]
    assert totals["posts"] == sum(w["posts"] for w in want.values()) == 10
    assert totals["original"] == sum(w["original"] for w in want.values()) == 5
    assert totals["messages_received"] == 6 and totals["messages_answered"] == 3
    assert (totals["accounts"], totals["opened"], totals["closed"]) == (6, 1, 1)
    units = {u["label"]: u for u in data["units"]}
    assert units["某镇人民政府"]["posts"] == want["app"]["posts"] + want["town_wechat"]["posts"]
    assert units["某县人民政府"]["accounts"] == 2
    platforms = {p["key"]: p for p in data["platforms"]}
    assert platforms["wechat"]["posts"] == sum(want[k]["posts"] for k in
                                               ("wechat", "town_wechat", "sibling"))
    assert platforms["wechat"]["accounts"] == 3 and platforms["app"]["accounts"] == 1
    assert sum(p["posts"] for p in data["platforms"]) == totals["posts"]
    assert sum(u["messages_received"] for u in data["units"]) == totals["messages_received"]


def test_posts_counted_ahead_stay_right_mid_year_after_a_removal_and_a_rebuild(app, world):
    # The yearly counts are kept by the outbox applier; a report as of a day inside the year
    # leaves out the year's later posts, a removed post stops counting, and a rebuild from
    # the posts gives the same figures.
    from registry.supervision import annual
    from registry.supervision.pending import rebuild_all, remove_post
    insert_activity(world)
    mid = date(YEAR, 6, 30)
    lo, hi = at(f"{YEAR}-01-01T00:00:00"), at(f"{YEAR}-07-01T00:00:00")
    want = Counter(k for k, when, _o in POSTS if lo <= at(when) < hi)
    want_original = Counter(k for k, when, o in POSTS if lo <= at(when) < hi and o == "govmedia")
    rows = by_account(world, annual.compute(None, YEAR, mid))
    assert {k: r["posts"] for k, r in rows.items()} == {k: want[k] for k in rows}
    assert {k: r["original"] for k, r in rows.items()} == {k: want_original[k] for k in rows}
    assert sum(want.values()) == 7 and rows["wechat"]["posts"] == 2   # 1 January and 3 March
    # The WeChat account's last post of the year (a govmedia one) is removed.
    last = db.session.scalar(select(Post.id).where(
        Post.account_id == world.account["wechat"],
        Post.published_at == at(f"{YEAR}-12-31T23:59:59")))
    remove_post(last)
    # And the sibling unit's only post of the year: its yearly row goes with it.
    remove_post(db.session.scalar(select(Post.id).where(
        Post.account_id == world.account["sibling"])))
    db.session.commit()
    before = by_account(world, annual.compute(None, YEAR, date(YEAR, 12, 31)))
    assert (before["wechat"]["posts"], before["wechat"]["original"]) == (3, 1)
    assert before["sibling"]["posts"] == 0

    def kept_counts():
        return set(db.session.execute(select(AccountYear.account_id, AccountYear.year,
                                             AccountYear.posts, AccountYear.original)))

    kept = kept_counts()
    rebuild_all()
    db.session.commit()
    # The counts kept post by post are exactly what a rebuild from the posts writes.
    assert kept_counts() == kept
    after = by_account(world, annual.compute(None, YEAR, date(YEAR, 12, 31)))
    assert {k: (r["posts"], r["original"]) for k, r in after.items()} == \
        {k: (r["posts"], r["original"]) for k, r in before.items()}


def test_a_county_supervisors_report_holds_only_its_subtree(app, world):
    insert_activity(world)
    client, page = live(app, "sup_county")   # no unit chosen: its own unit
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("某县wechat", "某县douyin", "某镇app", "某镇town_wechat"):
        assert name in html
    for name in ("邻县sibling", "某市city"):
        assert name not in html
    for unit in ("city", "sibling"):
        assert client.get("/supervision/annual", query_string={
            "year": YEAR, "unit_id": world.unit[unit]}).status_code == 403
        assert client.get("/supervision/annual.xlsx", query_string={
            "year": YEAR, "unit_id": world.unit[unit]}).status_code == 403
    # The township, below it, is in reach; the city supervisor reaches both counties.
    town = client.get("/supervision/annual", query_string={"year": YEAR,
                                                          "unit_id": world.unit["township"]})
    assert town.status_code == 200 and "某县wechat" not in town.get_data(as_text=True)
    _c, city = live(app, "sup_city")
    assert "邻县sibling" in city.get_data(as_text=True)
    assert "某市city" in city.get_data(as_text=True)
    # A sponsor is no supervisor; a supervisor held at a unit cannot ask for every unit.
    assert page_client(app, "sponsor_town").get("/supervision/annual").status_code == 403
    from registry.supervision import annual
    from govmedia.errors import Forbidden
    with pytest.raises(Forbidden):
        annual.require_reader(_user("sup_county"), None)


def _user(username):
    from govmedia.models import User
    return db.session.scalar(select(User).where(User.username == username))


def test_the_xlsx_has_the_title_and_period_rows_and_real_numbers_and_dates(app, world):
    insert_activity(world)
    client = page_client(app, "sup_county")
    response = client.get("/supervision/annual.xlsx", query_string={"year": YEAR})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["新媒体账号", "按单位合计", "按平台合计"]
    sheet = book["新媒体账号"]
    assert sheet["A1"].value == f"某县人民政府{YEAR}年度政务新媒体工作报表"
    assert sheet["A2"].value.startswith(f"统计期间：{YEAR}-01-01 至 {YEAR}-12-31")
    headings = [c.value for c in sheet[3]]
    assert headings[:3] == ["主办单位", "账号名称", "平台"]
    rows = {r[1]: dict(zip(headings, r)) for r in sheet.iter_rows(min_row=4, values_only=True)}
    want = expected(["wechat", "douyin"])
    assert rows["某县wechat"]["本年发布信息数"] == want["wechat"]["posts"]
    assert rows["某县wechat"]["收到网民留言数"] == want["wechat"]["messages_received"]
    assert rows["某县douyin"]["收到网民留言数"] is None    # no inbox on Douyin
    assert rows["某县douyin"]["本年开设日期"] == datetime(2025, 4, 10)   # a real date cell
    total = [r for r in sheet.iter_rows(min_row=4, values_only=True) if r[0] == "合计"]
    assert len(total) == 1 and total[0][headings.index("本年发布信息数")] == sum(
        w["posts"] for w in expected(["wechat", "douyin", "app", "town_wechat"]).values())
    assert book["按平台合计"]["A1"].value == sheet["A1"].value


def test_issuing_freezes_the_report_and_publishes_only_issued_ones(app, world, client):
    insert_activity(world)
    assert "某县人民政府" not in client.get("/public/annual-reports").get_data(as_text=True)
    sup, _page = live(app, "sup_county")
    # The year in progress cannot be issued.
    this_year = sup.post("/supervision/annual", data={"year": today_shanghai().year})
    assert this_year.status_code == 400
    issued = sup.post("/supervision/annual", data={"year": YEAR})
    assert issued.status_code == 302, issued.get_data(as_text=True)
    report = db.session.scalar(select(AnnualReport))
    assert (report.year, report.unit_id) == (YEAR, world.unit["county"])
    frozen_posts = report.data["totals"]["posts"]
    assert frozen_posts == sum(w["posts"] for w in expected(
        ["wechat", "douyin", "app", "town_wechat"]).values())
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "annual_report.issue"))
    assert entry.object_id == report.id and entry.after["posts"] == frozen_posts
    # Issued once per year and node.
    assert sup.post("/supervision/annual", data={"year": YEAR}).status_code == 400
    # The data changes after the issue: the issued report does not.
    insert_activity(world, posts=[("wechat", "2025-10-10T10:00:00", "govmedia")],
                    messages=[], start=100)
    db.session.get(Account, world.account["wechat"]).name = "改名后的账号"
    db.session.commit()
    db.session.expire_all()
    again = db.session.get(AnnualReport, report.id)
    assert again.data["totals"]["posts"] == frozen_posts
    public = client.get(f"/public/annual-reports/{report.id}")
    assert public.status_code == 200
    text = public.get_data(as_text=True)
    assert "某县wechat" in text and "改名后的账号" not in text
    book = load_workbook(io.BytesIO(client.get(f"/public/annual-reports/{report.id}.xlsx").data))
    assert book.active["A2"].value.startswith(f"统计期间：{YEAR}-01-01")
    posts_column = [c.value for c in book.active[3]].index("本年发布信息数")
    assert [r for r in book.active.iter_rows(min_row=4, values_only=True)
            if r[0] == "合计"][0][posts_column] == frozen_posts
    # The live report has the new post.
    from registry.supervision import annual
    assert annual.compute(world.unit["county"], YEAR)["totals"]["posts"] == frozen_posts + 1
    # The public list shows the issued report only: no other year, no other node.
    listing = client.get("/public/annual-reports").get_data(as_text=True)
    assert report.title in listing and listing.count("/public/annual-reports/") == 2
    assert client.get(f"/public/annual-reports/{report.id + 1}").status_code == 404
    # The issuing county supervisor sees it; the sibling's branch does not exist for it.
    assert sup.get(f"/supervision/annual/{report.id}.xlsx").status_code == 200
    make_user("sup_sibling", ["supervisor"], world.unit["sibling"])
    assert page_client(app, "sup_sibling").get(
        f"/supervision/annual/{report.id}.xlsx").status_code == 403


def test_an_app_without_a_filing_number_is_flagged(app, world):
    api = world.admin
    made = api.post("/api/v1/accounts", account_body(
        world.unit["county"], platform="app", handle="cn.gov.county", name="某县app客户端"))
    assert made.status_code == 201
    body = made.get_json()
    assert "missing_app_filing" in body["flags"]
    assert body["app_filing_number"] is None
    assert "missing_app_filing" in [w["code"] for w in body["warnings"]]
    account_id = body["id"]
    # The dashboard counts apps without one in the reader's reach (the fixture's township app
    # has its number; a closed or deregistered app would not count).
    summary = world.admin.get("/api/v1/supervision/summary").get_json()
    assert summary["apps_without_filing"] == 1
    sibling = make_user("sup_sibling", ["supervisor"], world.unit["sibling"])
    assert sibling.unit_id == world.unit["sibling"]
    dashboard = page_client(app, "sup_sibling").get("/supervision").get_data(as_text=True)
    assert 'id="apps-without-filing">0<' in dashboard
    # The account page shows the flag; the quarterly report lists it as a finding.
    sponsor = page_client(app, "admin")
    page = sponsor.get(f"/accounts/{account_id}").get_data(as_text=True)
    assert "未登记网信备案号（移动客户端）" in page and "id=\"app-form\"" in page
    from registry.supervision import reports
    rows = reports.compute(2026, 4)["rows"]
    assert "未登记网信备案号" in [r for r in rows if r["account_id"] == account_id][0]["findings"]
    # Recorded later: the flag goes, the change is audited.
    put = api.put(f"/api/v1/accounts/{account_id}/app",
                  {"app_filing_number": "网信备 2026-017", "app_version": "1.0.3"})
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["flags"] == [] and put.get_json()["app_version"] == "1.0.3"
    assert world.admin.get("/api/v1/supervision/summary").get_json()["apps_without_filing"] == 0
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "account.app_details"))
    assert entry.after == {"app_filing_number": "网信备 2026-017", "app_version": "1.0.3"}
    # The page form too; cleared again, the flag is back.
    form = sponsor.post(f"/accounts/{account_id}/app", data={"app_filing_number": "",
                                                             "app_version": "1.1"})
    assert form.status_code == 302
    assert db.session.get(Account, account_id).flags == ["missing_app_filing"]
    # Other platforms carry no filing number; other units' sponsors cannot set it.
    wechat = world.account["wechat"]
    refused = api.put(f"/api/v1/accounts/{wechat}/app", {"app_filing_number": "x"})
    assert refused.status_code == 400 and "app_filing_number" in refused.get_json()["error"]["fields"]
    assert "app_filing_number" not in api.get(f"/api/v1/accounts/{wechat}").get_json()
    assert api.post("/api/v1/accounts", account_body(
        world.unit["county"], platform="weibo", handle="123", name="某县微博",
        app_version="1")).status_code == 400
    make_user("sponsor_sibling", ["sponsor"], world.unit["sibling"])
    assert page_client(app, "sponsor_sibling").post(
        f"/accounts/{account_id}/app", data={"app_filing_number": "y"}).status_code == 403


def test_the_api_gives_the_figures_issues_once_and_lists_in_reach(app, world, login):
    insert_activity(world)
    county = login("sup_county")
    figures = county.get("/api/v1/supervision/annual", year=YEAR)     # its own unit by default
    assert figures.status_code == 200, figures.get_json()
    rows = by_account(world, figures.get_json())
    assert set(rows) == {"wechat", "douyin", "app", "town_wechat"}   # the county and below
    want = expected(rows)
    for key, row in rows.items():
        assert {k: row[k] for k in want[key]} == want[key], key
    assert rows["town_wechat"]["status_code"] == "closed"
    assert county.get("/api/v1/supervision/annual", year=YEAR,
                      unit_id=world.unit["sibling"]).status_code == 403
    bad = county.get("/api/v1/supervision/annual", year=1999)
    assert bad.status_code == 400 and "year" in bad.get_json()["error"]["fields"]
    issued = county.post("/api/v1/supervision/annual", {"year": YEAR,
                                                        "unit_id": world.unit["county"]})
    assert issued.status_code == 201, issued.get_json()
    body = issued.get_json()
    assert body["issued_by"] == "sup_county" and body["data"]["totals"]["posts"] == sum(
        w["posts"] for w in want.values())
    again = county.post("/api/v1/supervision/annual", {"year": YEAR,
                                                       "unit_id": world.unit["county"]})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_issued"
    # frozen: a post recorded afterwards changes the live figures, not the issued report
    insert_activity(world, posts=[("douyin", "2025-06-01T09:00:00", "manual")], messages=[],
                    start=100)
    report = county.get(f"/api/v1/supervision/annual-reports/{body['id']}").get_json()
    assert report["data"] == body["data"]
    live_rows = by_account(world, county.get("/api/v1/supervision/annual", year=YEAR).get_json())
    assert live_rows["douyin"]["posts"] == want["douyin"]["posts"] + 1
    listed = county.get("/api/v1/supervision/annual-reports").get_json()
    assert [r["id"] for r in listed["items"]] == [body["id"]]
    city = login("sup_city")
    assert [r["id"] for r in city.get("/api/v1/supervision/annual-reports",
                                      unit_id=world.unit["county"]).get_json()["items"]] == [
        body["id"]]
    assert city.get("/api/v1/supervision/annual-reports",
                    unit_id=world.unit["sibling"]).get_json()["items"] == []
    assert login("sponsor_town").get("/api/v1/supervision/annual-reports").status_code == 403
