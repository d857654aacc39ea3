"""Issue 16: rule profiles per jurisdiction — set at a node, inherited below it, versioned and
audited, and every "as of" figure uses the profile in force that day.

Expected states are worked out here from the rule's definition (days since the last update,
working days counted with chinese_calendar directly), not by calling the code under test.
"""
from datetime import date, datetime, time, timedelta

import chinese_calendar
import pytest
from conftest import PASSWORD, account_body, make_user
from sqlalchemy import select

from govmedia.extensions import db
from govmedia.models import AuditEntry, RuleProfileVersion
from govmedia.types import SHANGHAI, today_shanghai
from registry.models import Filing
from registry.posts import record_post

TODAY = today_shanghai()
LAST_MONTH = TODAY - timedelta(days=30)
TREE = {"city": None, "county": "city", "township": "county", "sibling": "city"}


@pytest.fixture
def tree(app, admin_api, login):
    units = {}
    for key, parent in TREE.items():
        made = admin_api.post("/api/v1/units", {"name": f"{key}人民政府",
                                                "parent_id": units.get(parent)})
        assert made.status_code == 201, made.get_json()
        units[key] = made.get_json()["id"]
    accounts = {}
    for key in ("township", "sibling", "city"):
        made = admin_api.post("/api/v1/accounts", account_body(
            units[key], name=f"{key}发布", handle=f"gh_{key}",
            opened_on=(TODAY - timedelta(days=200)).isoformat()))
        assert made.status_code == 201, made.get_json()
        accounts[key] = made.get_json()["id"]
        # Updated 39 and 8 days ago: as of last month 9 days had passed, as of today 8.
        for days_ago in (60, 39, 8):
            record_post(accounts[key], datetime.combine(TODAY - timedelta(days=days_ago),
                                                     time(10), tzinfo=SHANGHAI),
                        "一条更新", None, "manual")
    make_user("sup_all", ["supervisor"])
    make_user("sup_county", ["supervisor"], units["county"])
    make_user("admin_county", ["admin"], units["county"])
    make_user("sponsor_township", ["sponsor"], units["township"])
    db.session.commit()

    class Tree:
        unit, account = units, accounts
        flask_app = app
        admin = admin_api
        sup_all, sup_county = login("sup_all"), login("sup_county")
        admin_county = login("admin_county")
        sponsor = login("sponsor_township")

    return Tree


def app_client(t, username):
    browser = t.flask_app.test_client()
    assert browser.post("/login", data={"username": username,
                                        "password": PASSWORD}).status_code == 302
    return browser


def weekly(t, unit_key="county", **extra):
    """The weekly check some provinces run: dormant after 7 days, a warning from the 5th."""
    body = {"values": {"update_window": 7, "warning_from": 5},
            "basis": {"update_window": "某省政务新媒体管理办法第十条：每周至少更新一次"}, **extra}
    if unit_key:
        body["unit_id"] = t.unit[unit_key]
    return t.admin.post("/api/v1/supervision/rule-profiles", body)


def bands(api, as_of: date) -> dict[int, str]:
    body = api.get("/api/v1/supervision/dormant", as_of=as_of.isoformat(),
                   include="warning", limit=100).get_json()
    return {item["account_id"]: item["band"] for item in body["items"]}


def test_a_profile_change_turns_an_account_dormant_today_but_not_last_month(tree):
    before_today, before_last_month = bands(tree.sup_all, TODAY), bands(tree.sup_all, LAST_MONTH)
    for key in ("township", "sibling", "city"):
        assert before_today[tree.account[key]] == "warning"        # 8 days: 7 to 10
        assert before_last_month[tree.account[key]] == "warning"   # 9 days
    made = weekly(tree)
    assert made.status_code == 201, made.get_json()
    today, last_month = bands(tree.sup_all, TODAY), bands(tree.sup_all, LAST_MONTH)
    # Below the county (its township) the weekly profile holds from today: 8 > 7 days.
    assert today[tree.account["township"]] == "dormant"
    # Last month the seeds' profile was in force: 9 days was a warning, and still is.
    assert last_month[tree.account["township"]] == "warning"
    # Beside and above the county nothing changed.
    assert today[tree.account["sibling"]] == today[tree.account["city"]] == "warning"
    # The per-account answer agrees with the list, for today and for last month.
    township = tree.account["township"]
    assert tree.sponsor.get(f"/api/v1/accounts/{township}").get_json()["dormant"] is True
    counts = tree.sup_county.get("/api/v1/supervision/summary").get_json()
    assert counts["dormant"] == 1, counts
    totals = tree.sup_all.get("/api/v1/supervision/summary").get_json()
    assert (totals["dormant"], totals["warning"]) == (1, 2), totals
    # the county's dashboard states the window it counts by
    browser = app_client(tree, "sup_county")
    page = browser.get("/supervision").get_data(as_text=True)
    assert "个账号超过 7 天未更新" in page and "个账号 5 至 7 天未更新" in page
    earlier = tree.sup_all.get("/api/v1/supervision/summary",
                               as_of=LAST_MONTH.isoformat()).get_json()
    assert (earlier["dormant"], earlier["warning"]) == (0, 3), earlier


def test_the_nearest_node_wins_and_a_node_can_follow_its_parent_again(tree):
    assert weekly(tree, "city").status_code == 201
    # the county keeps the seeds' window for its own subtree
    own = tree.admin.post("/api/v1/supervision/rule-profiles", {
        "unit_id": tree.unit["county"], "values": {"update_window": 10, "warning_from": 7}})
    assert own.status_code == 201, own.get_json()
    today = bands(tree.sup_all, TODAY)
    assert today[tree.account["township"]] == "warning"     # the county's own
    assert today[tree.account["sibling"]] == "dormant"      # the city's weekly rule
    assert today[tree.account["city"]] == "dormant"
    held = tree.sup_county.get("/api/v1/supervision/rule-profiles",
                               unit_id=tree.unit["township"]).get_json()
    assert held["set_at"] == tree.unit["county"] and held["values"]["update_window"] == 10
    ended = tree.admin.post("/api/v1/supervision/rule-profiles",
                            {"unit_id": tree.unit["county"], "inherit": True})
    assert ended.status_code == 201, ended.get_json()
    assert ended.get_json()["in_force"]["set_at"] == tree.unit["city"]
    assert bands(tree.sup_all, TODAY)[tree.account["township"]] == "dormant"
    history = tree.sup_county.get("/api/v1/supervision/rule-profiles/history",
                                  unit_id=tree.unit["county"]).get_json()["items"]
    assert [v["inherit"] for v in history] == [True, False]


def test_every_change_is_a_new_version_audited_with_its_legal_basis(tree):
    assert weekly(tree).status_code == 201
    again = tree.admin.post("/api/v1/supervision/rule-profiles", {
        "unit_id": tree.unit["county"], "values": {"filing_workdays": 3},
        "valid_from": (TODAY + timedelta(days=10)).isoformat(), "note": "省里新规"})
    assert again.status_code == 201, again.get_json()
    rows = db.session.scalars(select(RuleProfileVersion).order_by(RuleProfileVersion.id)).all()
    assert [r.values["update_window"] for r in rows] == [7, 7]      # the later one kept it
    assert [r.values["filing_workdays"] for r in rows] == [5, 3]
    assert rows[1].basis["update_window"].startswith("某省")        # basis carried over
    held = tree.sup_county.get("/api/v1/supervision/rule-profiles",
                               unit_id=tree.unit["county"]).get_json()
    assert held["values"]["filing_workdays"] == 5                   # not yet in force
    assert held["basis"]["update_window"].startswith("某省")
    assert held["basis"]["filing_workdays"]                         # the seeds' default basis
    later = tree.sup_county.get("/api/v1/supervision/rule-profiles", unit_id=tree.unit["county"],
                                as_of=(TODAY + timedelta(days=10)).isoformat()).get_json()
    assert later["values"]["filing_workdays"] == 3
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "rule_profile.set").order_by(AuditEntry.id)).all()
    assert [e.object_id for e in entries] == [r.id for r in rows]
    assert entries[0].before["update_window"] == 10 and entries[0].after["update_window"] == 7
    assert entries[1].after["valid_from"] == (TODAY + timedelta(days=10)).isoformat()


@pytest.mark.parametrize("values, field", [
    ({"update_window": 3}, "update_window"),          # below the shortest window
    ({"warning_from": 9, "update_window": 8}, "warning_from"),
    ({"window_unit": "weeks"}, "window_unit"),
    ({"spot_check_share": "1.5"}, "spot_check_share"),
    ({"spot_check_share": "NaN"}, "spot_check_share"),
    ({"filing_workdays": "五"}, "filing_workdays"),
])
def test_bad_numbers_are_refused_with_the_field_named_and_nothing_saved(tree, values, field):
    refused = tree.admin.post("/api/v1/supervision/rule-profiles",
                              {"unit_id": tree.unit["county"], "values": values})
    assert refused.status_code == 400, refused.get_json()
    assert field in refused.get_json()["error"]["fields"], refused.get_json()
    assert db.session.scalar(select(RuleProfileVersion)) is None


def test_who_may_change_and_read_a_profile(tree):
    past = tree.admin.post("/api/v1/supervision/rule-profiles", {
        "unit_id": tree.unit["county"], "values": {"update_window": 7, "warning_from": 5},
        "valid_from": (TODAY - timedelta(days=1)).isoformat()})
    assert past.status_code == 400 and "valid_from" in past.get_json()["error"]["fields"]
    # a supervisor reads but does not change; an admin of the county changes its subtree only
    assert tree.sup_county.post("/api/v1/supervision/rule-profiles", {
        "unit_id": tree.unit["county"], "values": {"update_window": 7}}).status_code == 403
    assert tree.admin_county.post("/api/v1/supervision/rule-profiles", {
        "unit_id": tree.unit["township"], "values": {"update_window": 8}}).status_code == 201
    for unit in (tree.unit["sibling"], None):
        body = {"values": {"update_window": 8}} | ({"unit_id": unit} if unit else {})
        assert tree.admin_county.post("/api/v1/supervision/rule-profiles",
                                      body).status_code == 403
    assert tree.sup_county.get("/api/v1/supervision/rule-profiles",
                               unit_id=tree.unit["sibling"]).status_code == 403
    # with no unit named, a caller held at a unit reads its own unit's numbers
    own = tree.sup_county.get("/api/v1/supervision/rule-profiles")
    assert own.status_code == 200 and own.get_json()["unit_id"] == tree.unit["county"]
    assert tree.admin.post("/api/v1/supervision/rule-profiles", {
        "unit_id": 999999, "values": {}}).status_code == 404


def _nth_workday_after(day: date, n: int) -> date:
    while n:
        day += timedelta(days=1)
        n -= chinese_calendar.is_workday(day)
    return day


def _workdays_in(start: date, end: date) -> int:
    return sum(chinese_calendar.is_workday(start + timedelta(days=k))
               for k in range(1, (end - start).days + 1))


def test_a_window_in_working_days_and_the_filing_period_follow_the_profile(tree):
    made = tree.admin.post("/api/v1/supervision/rule-profiles", {
        "unit_id": tree.unit["county"],
        "values": {"window_unit": "workdays", "update_window": 5, "warning_from": 5,
                   "filing_workdays": 3}})
    assert made.status_code == 201, made.get_json()
    township = tree.account["township"]
    last = TODAY - timedelta(days=8)
    elapsed = _workdays_in(last, TODAY)
    expected = "dormant" if elapsed > 5 else "warning" if elapsed >= 5 else None
    assert bands(tree.sup_all, TODAY).get(township) == expected
    account = tree.sponsor.get(f"/api/v1/accounts/{township}").get_json()
    assert account["dormant"] is (expected == "dormant")
    # an opening in the township today is filed by the 3rd working day, the sibling's by the
    # 5th (the period is the one in force on the event's day)
    opened = TODAY
    for key, n in (("township", 3), ("sibling", 5)):
        api = tree.admin
        made = api.post("/api/v1/accounts", account_body(
            tree.unit[key], platform="weibo", name=f"{key}微博", handle=f"wb_{key}",
            opened_on=opened.isoformat()))
        assert made.status_code == 201, made.get_json()
        filing = db.session.scalar(select(Filing).where(Filing.account_id == made.get_json()["id"]))
        assert filing.due_on == _nth_workday_after(opened, n), key


def test_the_spot_check_draws_the_share_of_the_profile_at_its_node(tree):
    assert tree.admin.post("/api/v1/supervision/rule-profiles", {
        "unit_id": tree.unit["county"], "values": {"spot_check_share": "0.5"}}).status_code == 201
    year, quarter = TODAY.year, (TODAY.month - 1) // 3 + 1
    county = tree.sup_county.post("/api/v1/supervision/spot-checks",
                                  {"year": year, "quarter": quarter,
                                   "unit_id": tree.unit["county"]})
    assert county.status_code == 201 and county.get_json()["share"] == "0.5"
    everyone = tree.sup_all.post("/api/v1/supervision/spot-checks",
                                 {"year": year, "quarter": quarter})
    assert everyone.status_code == 201 and everyone.get_json()["share"] == "1"


def test_the_page_shows_the_basis_and_an_admin_sets_a_version(app, tree):
    browser = app.test_client()
    assert browser.post("/login", data={"username": "admin",
                                        "password": PASSWORD}).status_code == 302
    county = tree.unit["county"]
    shown = browser.get(f"/supervision/rule-profiles?unit_id={county}").get_data(as_text=True)
    assert "第五条" in shown or "§5" in shown
    refused = browser.post("/supervision/rule-profiles", data={
        "unit_id": str(county), "update_window": "3", "warning_from": "5", "window_unit": "days",
        "filing_workdays": "5", "notice_workdays": "15", "message_reply_workdays": "5",
        "spot_check_share": "1", "valid_from": TODAY.isoformat()})
    assert refused.status_code == 200
    page = refused.get_data(as_text=True)
    assert 'aria-invalid="true"' in page and 'value="3"' in page
    assert db.session.scalar(select(RuleProfileVersion)) is None
    saved = browser.post("/supervision/rule-profiles", data={
        "unit_id": str(county), "update_window": "7", "warning_from": "5", "window_unit": "days",
        "filing_workdays": "5", "notice_workdays": "15", "message_reply_workdays": "5",
        "spot_check_share": "1", "valid_from": TODAY.isoformat(),
        "basis_update_window": "某省办法第十条"})
    assert saved.status_code == 302
    shown = browser.get(f"/supervision/rule-profiles?unit_id={tree.unit['township']}")
    text = shown.get_data(as_text=True)
    assert "某省办法第十条" in text and "county人民政府" in text
    supervisor = app.test_client()
    assert supervisor.post("/login", data={"username": "sup_county",
                                           "password": PASSWORD}).status_code == 302
    assert 'id="rule-profile-form"' not in supervisor.get(
        f"/supervision/rule-profiles?unit_id={county}").get_data(as_text=True)
    assert supervisor.post("/supervision/rule-profiles", data={
        "unit_id": str(county), "update_window": "8"}).status_code == 403


def test_the_trend_counts_each_week_under_the_profile_in_force_that_week(tree):
    """Before any profile the day totals answer; after, each week is counted band by band:
    both must agree with the dormant list as of each week's end."""
    def check(api, unit_id=None):
        query = {"weeks": 8, "as_of": TODAY.isoformat()}
        if unit_id:
            query["unit_id"] = unit_id
        weeks = api.get("/api/v1/supervision/trend", **query).get_json()["items"]
        for week in weeks:
            listed = {"as_of": week["week_end"], "include": "warning", "limit": 100}
            if unit_id:
                listed["unit_id"] = unit_id
            items = api.get("/api/v1/supervision/dormant", **listed).get_json()["items"]
            assert (week["dormant"], week["warning"]) == (
                sum(i["band"] == "dormant" for i in items),
                sum(i["band"] == "warning" for i in items)), week
        return weeks

    before = check(tree.sup_all)
    assert weekly(tree).status_code == 201
    after = check(tree.sup_all)
    check(tree.sup_county, tree.unit["township"])
    # only this week changed: the profile is in force from today
    assert before[:-1] == after[:-1]
    assert (after[-1]["dormant"], after[-1]["warning"]) == (
        before[-1]["dormant"] + 1, before[-1]["warning"] - 1)


def test_the_pages_state_the_numbers_of_the_profile_in_force(tree):
    """A county's own numbers (a weekly window, 7 working days to file, a 20-day notice) are
    the numbers its pages state, not the seeds' 10 days, 5 and 15 working days."""
    body = {"unit_id": tree.unit["county"],
            "values": {"update_window": 7, "warning_from": 5, "filing_workdays": 7,
                       "notice_workdays": 20},
            "basis": {"update_window": "某省办法：每周至少更新一次"}}
    assert tree.admin.post("/api/v1/supervision/rule-profiles", body).status_code == 201
    sponsor = app_client(tree, "sponsor_township")
    home = sponsor.get("/").get_data(as_text=True)
    assert "均须在 7 个工作日内备案" in home and "5 个工作日内备案" not in home
    account = sponsor.get(f"/accounts/{tree.account['township']}").get_data(as_text=True)
    assert "须在 7 个工作日内备案" in account and "公示不少于 20 个工作日" in account
    supervisor = app_client(tree, "sup_county")
    dormant = supervisor.get(f"/supervision/dormant?unit_id={tree.unit['county']}")
    text = dormant.get_data(as_text=True)
    assert "包括即将超期（5 至 7 天）" in text and "超过 7 天的在用账号" in text
    assert "10 天" not in text
    # the seeds' numbers where no profile is set (the city above the county)
    city = supervisor.get("/supervision/dormant").get_data(as_text=True)
    assert "包括即将超期（5 至 7 天）" in city   # the county supervisor's own node
    everyone = app_client(tree, "sup_all").get("/supervision/dormant").get_data(as_text=True)
    assert "包括即将超期（7 至 10 天）" in everyone
