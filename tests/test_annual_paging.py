"""Issue 16: the annual report a page at a time (API limit/offset, the page's ?page=N), with
the unit, platform and grand totals summed by the database over the whole report, whatever
the page. The expected figures are worked out here from the fixture's inserted rows
(test_annual_report's POSTS and MESSAGES), not by the code under test."""
import re
from collections import Counter
from datetime import date

from test_annual_report import (  # noqa: F401  (world: a fixture)
    NAMES, YEAR, at, expected, insert_activity, page_client, world)

# The fixture's accounts in the report (the one opened after the year and the one
# deregistered before it are not), with their unit and platform.
UNIT_OF = {"wechat": "county", "douyin": "county", "app": "township",
           "town_wechat": "township", "sibling": "sibling", "city": "city"}
PLATFORM_OF = {"wechat": "wechat", "douyin": "douyin", "app": "app", "town_wechat": "wechat",
               "sibling": "wechat", "city": "weibo"}
OPENED, CLOSED = {"douyin"}, {"town_wechat"}
COUNTS = ("posts", "original", "messages_received", "messages_answered")


def sums(group_of):
    """{group: totals} worked out from the inserted rows."""
    want = expected(UNIT_OF)
    out = {}
    for key, group in group_of.items():
        total = out.setdefault(group, Counter())
        total["accounts"] += 1
        total["opened"] += key in OPENED
        total["closed"] += key in CLOSED
        for name in COUNTS:
            total[name] += want[key][name] or 0
    return {group: {k: total[k] for k in ("accounts", "opened", "closed", *COUNTS)}
            for group, total in out.items()}


def figures_of(groups):
    return {g["label"] if "label" in g else g: {k: g[k] for k in (
        "accounts", "opened", "closed", *COUNTS)} for g in groups}


def test_pages_of_the_api_add_up_to_the_report_and_the_totals_do_not_depend_on_the_page(
        app, world, login):
    insert_activity(world)
    sup = login("sup_all")
    key_of = {v: k for k, v in world.account.items()}
    pages, answers = [], []
    for offset in (0, 4, 6):
        answer = sup.get("/api/v1/supervision/annual", year=YEAR, limit=4, offset=offset)
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        answers.append(body)
        pages.append([key_of[r["account_id"]] for r in body["rows"]])
    # A page boundary: four, then the last two, then none; no account twice or missing.
    assert [len(p) for p in pages] == [4, 2, 0]
    assert sorted(pages[0] + pages[1]) == sorted(UNIT_OF)
    assert [(b["total"], b["limit"], b["offset"]) for b in answers] == [
        (6, 4, 0), (6, 4, 4), (6, 4, 6)]
    # The pages are the report's order: the same as the whole report's rows, cut in two.
    from registry.supervision import annual
    whole = annual.compute(None, YEAR, date(YEAR, 12, 31))
    assert pages[0] + pages[1] == [key_of[r["account_id"]] for r in whole["rows"]]
    assert answers[0]["rows"] + answers[1]["rows"] == whole["rows"]
    want = expected(UNIT_OF)
    for row in answers[0]["rows"] + answers[1]["rows"]:
        key = key_of[row["account_id"]]
        assert {k: row[k] for k in COUNTS} == want[key], key
    # The totals are the whole report's on every page, and match the inserted rows.
    by_unit = {NAMES[u]: t for u, t in sums(UNIT_OF).items()}
    by_platform = sums(PLATFORM_OF)
    grand = sums({k: "all" for k in UNIT_OF})["all"]
    for body in answers:
        assert figures_of(body["units"]) == by_unit
        assert {p["key"]: figures_of([p])[p["label"]] for p in body["platforms"]} == by_platform
        assert figures_of([body["totals"]])["合计"] == grand
    assert grand["posts"] == 10 and grand["messages_received"] == 6
    # The default page is fifty rows; a limit out of range is refused.
    assert len(sup.get("/api/v1/supervision/annual", year=YEAR).get_json()["rows"]) == 6
    for limit in (0, 501):
        bad = sup.get("/api/v1/supervision/annual", year=YEAR, limit=limit)
        assert bad.status_code == 400 and "limit" in bad.get_json()["error"]["fields"]


def test_a_county_page_holds_only_its_subtree_and_its_totals(app, world, login):
    insert_activity(world)
    county = login("sup_county").get("/api/v1/supervision/annual", year=YEAR, limit=1,
                                     offset=1).get_json()
    mine = {k: u for k, u in UNIT_OF.items() if u in ("county", "township")}
    assert county["total"] == 4 and len(county["rows"]) == 1
    assert figures_of([county["totals"]])["合计"] == sums({k: "all" for k in mine})["all"]
    assert figures_of(county["units"]) == {NAMES[u]: t for u, t in sums(mine).items()}


def test_a_page_as_of_a_day_in_the_year_matches_the_whole_report(app, world):
    # The page's rows are figured for its accounts only; as of 30 June the year's later posts
    # are left out the same way as in the whole report.
    from registry.supervision import annual
    insert_activity(world)
    mid = date(YEAR, 6, 30)
    whole = annual.compute(None, YEAR, mid)
    paged = [annual.compute(None, YEAR, mid, limit=2, offset=n)["rows"] for n in (0, 2, 4)]
    assert paged[0] + paged[1] + paged[2] == whole["rows"]
    lo, hi = at(f"{YEAR}-01-01T00:00:00"), at(f"{YEAR}-07-01T00:00:00")
    from test_annual_report import POSTS
    assert whole["totals"]["posts"] == sum(1 for k, when, _o in POSTS
                                           if k in UNIT_OF and lo <= at(when) < hi) == 7


def test_the_page_lists_the_accounts_a_page_at_a_time(app, world, monkeypatch):
    insert_activity(world)
    from registry.supervision import annual_views
    monkeypatch.setattr(annual_views, "PER_PAGE", 4)
    client = page_client(app, "sup_all")
    first = client.get("/supervision/annual", query_string={"year": YEAR}).get_data(as_text=True)
    second = client.get("/supervision/annual", query_string={"year": YEAR, "page": 2}).get_data(
        as_text=True)
    listed = [[a for a in world.account.values() if f'data-account="{a}"' in html]
              for html in (first, second)]
    assert [len(ids) for ids in listed] == [4, 2] and not set(listed[0]) & set(listed[1])
    assert "page=2" in first and "page=2" not in second and "page=1" in second
    # The totals tables are the whole report's on both pages (a row per unit, the grand total).
    grand = sums({k: "all" for k in UNIT_OF})["all"]
    cells = "".join(f"<td>{grand[k]}</td>" for k in ("accounts", "opened", "closed", *COUNTS))
    for html in (first, second):
        assert re.search(r'<tr class="total"><th scope="row">[^<]+</th>' + cells, html)
        assert all(NAMES[u] in html for u in set(UNIT_OF.values()))


def test_an_account_deregistered_in_the_year_stays_on_its_page_and_in_the_totals(app, world):
    # Deregistered during the year: in the report (closed in the year); the one deregistered
    # before the year stays out, on the pages and in the totals alike.
    from govmedia.extensions import db
    from registry.models import Account, AccountEvent
    from registry.supervision import annual
    insert_activity(world)
    db.session.add(AccountEvent(account_id=world.account["city"], kind="deregister",
                                event_date=date(YEAR, 3, 1), reason="测试"))
    db.session.get(Account, world.account["city"]).status = "deregistered"
    db.session.commit()
    end = date(YEAR, 12, 31)
    whole = annual.compute(None, YEAR, end)
    paged = [annual.compute(None, YEAR, end, limit=3, offset=n) for n in (0, 3)]
    assert paged[0]["rows"] + paged[1]["rows"] == whole["rows"]
    ids = {r["account_id"] for r in whole["rows"]}
    assert ids == {world.account[k] for k in UNIT_OF}
    city = [r for r in whole["rows"] if r["account_id"] == world.account["city"]][0]
    assert city["closed_on"] == f"{YEAR}-03-01"
    assert [p["totals"]["closed"] for p in paged] == [2, 2]
    assert [p["total"] for p in paged] == [6, 6]
