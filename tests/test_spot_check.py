"""Issue 16: the quarterly spot check (抽查) — a reproducible, recorded, stratified sample of a
node's active accounts, drawn once per quarter and node, shown in the quarterly report.

The accounts go into the table directly (many per platform and unit, which registration's one
account per platform would not allow); the expected samples are recomputed here from the
documented procedure (registry/supervision/spotcheck.py), not by calling the code under test.
"""
import io
import random
from collections import Counter
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import ceil
from zoneinfo import ZoneInfo

import pytest
from conftest import PASSWORD, ApiClient, make_user
from openpyxl import load_workbook
from sqlalchemy import select

from govmedia.extensions import db
from govmedia.models import AuditEntry
from govmedia.types import today_shanghai
from registry.models import Account
from registry.supervision.models import SpotCheck
from registry.supervision.reports import spot_check_lines
from registry.supervision.spotcheck import draw_sample, stratum_size

TREE = {"city": None, "county": "city", "township": "county", "sibling": "city"}
NAMES = {"city": "某市人民政府", "county": "某县人民政府", "township": "某镇人民政府",
         "sibling": "邻县人民政府"}
# (unit, platform, how many active accounts); plus closed ones that must never be drawn
ACTIVE = [("county", "wechat", 7), ("county", "weibo", 3), ("township", "wechat", 5),
          ("township", "douyin", 1), ("township", "app", 2), ("sibling", "wechat", 4),
          ("sibling", "kuaishou", 2), ("city", "weibo", 2)]
CLOSED = [("county", "wechat", 2), ("township", "kuaishou", 1)]
TODAY = today_shanghai()
YEAR, QUARTER = TODAY.year, (TODAY.month - 1) // 3 + 1


@pytest.fixture
def tree(app, admin_api, login):
    units = {}
    for key, parent in TREE.items():
        made = admin_api.post("/api/v1/units", {"name": NAMES[key],
                                                "parent_id": units.get(parent)})
        assert made.status_code == 201, made.get_json()
        units[key] = made.get_json()["id"]
    platform_of, unit_of = {}, {}
    for rows, status in ((ACTIVE, "active"), (CLOSED, "closed")):
        for key, platform, n in rows:
            for i in range(n):
                account = Account(unit_id=units[key], platform=platform, status=status,
                                  name=f"{NAMES[key][:2]}{platform}{status}{i}",
                                  handle=f"{key}-{platform}-{status}-{i}",
                                  opened_on=date(2024, 1, 2), staff=[])
                db.session.add(account)
                db.session.flush()
                platform_of[account.id] = (platform, status)
                unit_of[account.id] = key
    for username, unit in (("sup_all", None), ("sup_city", "city"), ("sup_county", "county")):
        make_user(username, ["supervisor"], units[unit] if unit else None)
    make_user("sponsor_county", ["sponsor"], units["county"])
    db.session.commit()

    class Tree:
        unit, platform, unit_key = units, platform_of, unit_of
        admin = admin_api
        sup_all, sup_city, sup_county = login("sup_all"), login("sup_city"), login("sup_county")

    return Tree


def population(t, keys) -> list[tuple[int, str]]:
    """(id, platform) of the active accounts of these units, from what the fixture inserted."""
    return sorted((aid, platform) for aid, (platform, status) in t.platform.items()
                  if status == "active" and t.unit_key[aid] in keys)


def expected_sample(pop, share: str, seed: int) -> list[int]:
    """The documented draw, written out again: per platform in code order, k = ceil(share×n)
    (at least one) drawn with one random.Random(seed) from the ids in ascending order."""
    rng = random.Random(seed)
    out = []
    for platform in sorted({p for _i, p in pop}):
        ids = sorted(i for i, p in pop if p == platform)
        k = max(1, ceil(Fraction(share) * len(ids)))
        out += rng.sample(ids, min(k, len(ids)))
    return sorted(out)


def set_share(tree, share: str) -> None:
    """The registry's rule profile sets the share (issue 16's profiles; nodes may differ)."""
    made = tree.admin.post("/api/v1/supervision/rule-profiles",
                           {"values": {"spot_check_share": share}})
    assert made.status_code == 201, made.get_json()


def draw(api, unit_id, year=YEAR, quarter=QUARTER):
    body = {"year": year, "quarter": quarter}
    if unit_id is not None:
        body["unit_id"] = unit_id
    return api.post("/api/v1/supervision/spot-checks", body)


def test_the_sample_is_reproducible_from_its_recorded_seed(app, tree):
    set_share(tree, "0.3")
    made = draw(tree.sup_city, tree.unit["county"])
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    pop = population(tree, {"county", "township"})
    assert body["population"] == len(pop) == 18
    assert body["share"] == "0.3"
    assert body["account_ids"] == expected_sample(pop, "0.3", body["seed"])
    row = db.session.get(SpotCheck, body["id"])
    assert row.population_ids == [i for i, _p in pop]
    # the same seed over the same population gives the same sample; another seed another one
    seeds = {body["seed"] + n: expected_sample(pop, "0.3", body["seed"] + n) for n in range(1, 6)}
    assert any(sample != body["account_ids"] for sample in seeds.values())
    for seed, sample in seeds.items():
        assert draw_sample(pop, Decimal("0.3"), seed) == sample
        assert draw_sample(list(reversed(pop)), Decimal("0.3"), seed) == sample   # order-free
    # recorded and audited: who, when, the seed and the accounts
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "spot_check.draw"))
    assert entry.object_id == body["id"] and entry.username == "sup_city"
    assert entry.after["seed"] == body["seed"]
    assert entry.after["account_ids"] == body["account_ids"]
    assert body["drawn_by"]["name"] == "sup_city"


def test_each_platform_gives_its_share_rounded_up_and_at_least_one(app, tree):
    set_share(tree, "0.1")
    made = draw(tree.sup_all, None)
    assert made.status_code == 201, made.get_json()
    sample = made.get_json()["account_ids"]
    pop = population(tree, set(TREE))
    per_platform = Counter(p for _i, p in pop)
    drawn = Counter(tree.platform[aid][0] for aid in sample)
    # exact decimals: in floats 0.07 × 100 is 7.000000000000001, and 8 would be drawn
    assert ceil(0.07 * 100) == 8 and stratum_size(Decimal("0.07"), 100) == 7
    assert stratum_size(Decimal("0.1"), 1) == 1 and stratum_size(Decimal("1"), 7) == 7
    assert drawn == {p: max(1, -(-n // 10)) for p, n in per_platform.items()}
    assert drawn == {"wechat": 2, "weibo": 1, "douyin": 1, "app": 1, "kuaishou": 1}
    assert all(tree.platform[aid][1] == "active" for aid in sample)   # never a closed one
    assert len(set(sample)) == len(sample)


def test_the_default_share_is_the_seeds_every_account(app, tree):
    made = draw(tree.sup_county, tree.unit["township"])
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["share"] == "1"
    assert made.get_json()["account_ids"] == [i for i, _p in population(tree, {"township"})]


def test_a_county_supervisor_draws_only_within_its_subtree(app, tree):
    set_share(tree, "0.5")
    sibling = draw(tree.sup_county, tree.unit["sibling"])
    assert sibling.status_code == 403
    parent = draw(tree.sup_county, tree.unit["city"])
    assert parent.status_code == 403
    everything = draw(tree.sup_county, None)
    assert everything.status_code == 403
    assert db.session.scalar(select(SpotCheck.id)) is None
    own = draw(tree.sup_county, tree.unit["county"])
    assert own.status_code == 201, own.get_json()
    keys = {tree.unit_key[aid] for aid in own.get_json()["account_ids"]}
    assert keys <= {"county", "township"} and keys
    # the list: the county's own draw, not the sibling's (drawn by the city)
    assert draw(tree.sup_city, tree.unit["sibling"]).status_code == 201
    listed = tree.sup_county.get("/api/v1/supervision/spot-checks").get_json()
    assert [d["unit_id"] for d in listed["items"]] == [tree.unit["county"]]
    assert tree.sup_county.get("/api/v1/supervision/spot-checks",
                               unit_id=tree.unit["sibling"]).status_code == 403
    city = tree.sup_city.get("/api/v1/supervision/spot-checks").get_json()
    assert sorted(d["unit_id"] for d in city["items"]) == sorted(
        [tree.unit["county"], tree.unit["sibling"]])
    sponsor = make_user_api(app, "sponsor_county")
    assert sponsor.get("/api/v1/supervision/spot-checks").status_code == 403


def make_user_api(app, username):
    client = app.test_client()
    token = client.post("/api/v1/auth/tokens", json={"username": username,
                                                     "password": PASSWORD}).get_json()["token"]
    return ApiClient(client, token)


def test_one_draw_per_quarter_and_node(app, tree):
    first = draw(tree.sup_city, tree.unit["county"])
    assert first.status_code == 201
    again = draw(tree.sup_all, tree.unit["county"])
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "already_drawn"
    # another node, or another quarter of the same node, is a draw of its own
    assert draw(tree.sup_city, tree.unit["township"]).status_code == 201
    earlier = (YEAR, QUARTER - 1) if QUARTER > 1 else (YEAR - 1, 4)
    assert draw(tree.sup_city, tree.unit["county"], *earlier).status_code == 201
    later = (YEAR, QUARTER + 1) if QUARTER < 4 else (YEAR + 1, 1)
    future = draw(tree.sup_city, tree.unit["county"], *later)
    assert future.status_code == 400 and "quarter" in future.get_json()["error"]["fields"]
    assert draw(tree.sup_all, None).status_code == 201
    assert draw(tree.sup_all, None).status_code == 409     # every unit: NULL is one node too
    assert db.session.query(SpotCheck).count() == 4
    assert db.session.query(AuditEntry).filter_by(action="spot_check.draw").count() == 4


def test_a_voided_draw_stays_on_record_and_the_quarter_can_be_drawn_again(app, tree):
    first = draw(tree.sup_city, tree.unit["county"]).get_json()
    path = f"/api/v1/supervision/spot-checks/{first['id']}/void"
    blank = tree.sup_city.post(path, {"reason": "  "})
    assert blank.status_code == 400 and "reason" in blank.get_json()["error"]["fields"]
    # a supervisor of the township below does not reach the county's draw
    assert tree.sup_county.post(
        f"/api/v1/supervision/spot-checks/{draw(tree.sup_city, tree.unit['sibling']).get_json()['id']}/void",
        {"reason": "不是我的"}).status_code == 403
    voided = tree.sup_county.post(path, {"reason": "抽样节点选错"})
    assert voided.status_code == 200, voided.get_json()
    assert voided.get_json()["voided"] is True and voided.get_json()["void_reason"] == "抽样节点选错"
    assert tree.sup_city.post(path, {"reason": "再作废一次"}).status_code == 409
    again = draw(tree.sup_city, tree.unit["county"])
    assert again.status_code == 201 and again.get_json()["id"] != first["id"]
    rows = db.session.scalars(select(SpotCheck).where(
        SpotCheck.unit_id == tree.unit["county"]).order_by(SpotCheck.id)).all()
    assert [r.voided_at is not None for r in rows] == [True, False]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "spot_check.void"))
    assert entry.object_id == first["id"] and entry.username == "sup_county"
    # the quarterly report lists the draw in force, not the voided one
    listed = [line["id"] for line in spot_check_lines(YEAR, QUARTER)]
    assert first["id"] not in listed and again.get_json()["id"] in listed


def page(app, username):
    client = app.test_client()
    assert client.post("/login", data={"username": username,
                                       "password": PASSWORD}).status_code == 302
    return client


def test_the_pages_list_show_and_export_a_draw(app, tree):
    set_share(tree, "0.5")
    browser = page(app, "sup_county")
    made = browser.post("/supervision/spot-checks", data={
        "year": str(YEAR), "quarter": str(QUARTER), "unit_id": str(tree.unit["county"])})
    assert made.status_code == 302, made.get_data(as_text=True)
    row = db.session.scalar(select(SpotCheck))
    assert made.headers["Location"].endswith(f"/supervision/spot-checks/{row.id}")
    shown = browser.get(f"/supervision/spot-checks/{row.id}").get_data(as_text=True)
    assert str(row.seed) in shown and "sup_county" in shown
    names = dict(db.session.execute(select(Account.id, Account.name)).all())
    for aid in row.account_ids:
        assert names[aid] in shown
    listed = browser.get("/supervision/spot-checks").get_data(as_text=True)
    assert f'id="draw-{row.id}"' in listed
    twice = browser.post("/supervision/spot-checks", data={
        "year": str(YEAR), "quarter": str(QUARTER), "unit_id": str(tree.unit["county"])})
    assert twice.status_code == 400
    assert page(app, "sup_all").get(f"/supervision/spot-checks/{row.id}").status_code == 200
    sibling = page(app, "sup_city").post("/supervision/spot-checks", data={
        "year": str(YEAR), "quarter": str(QUARTER), "unit_id": str(tree.unit["sibling"])})
    assert sibling.status_code == 302
    other = db.session.scalar(select(SpotCheck).where(SpotCheck.unit_id == tree.unit["sibling"]))
    assert browser.get(f"/supervision/spot-checks/{other.id}").status_code == 403
    xlsx = browser.get(f"/supervision/spot-checks/{row.id}.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert "抽查样本" in sheet["A1"].value and str(row.seed) in sheet["A2"].value
    assert "sup_county" in sheet["A2"].value
    ids = sorted(sheet.cell(row=r, column=2).value for r in range(4, sheet.max_row + 1))
    assert ids == row.account_ids


def test_the_quarterly_report_says_who_drew_the_sample_and_when(app, tree):
    set_share(tree, "0.5")
    assert draw(tree.sup_city, tree.unit["county"]).status_code == 201
    row = db.session.scalar(select(SpotCheck))
    report = tree.sup_all.post("/api/v1/supervision/reports",
                               {"year": YEAR, "quarter": QUARTER})
    assert report.status_code == 201, report.get_json()
    report_id = report.get_json()["id"]
    browser = page(app, "sup_all")
    shown = browser.get(f"/supervision/reports?shown={report_id}").get_data(as_text=True)
    drawn_at = row.drawn_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert 'id="shown-spot-checks"' in shown
    assert "sup_city" in shown and drawn_at.strftime("%Y-%m-%d %H:%M") in shown
    assert NAMES["county"] in shown
    book = load_workbook(io.BytesIO(browser.get(f"/supervision/reports/{report_id}.xlsx").data))
    sheet = book["抽查"]
    values = [sheet.cell(row=4, column=c).value for c in range(1, 8)]
    assert values[:3] == [NAMES["county"], "sup_city", drawn_at.strftime("%Y-%m-%d %H:%M")]
    assert values[4:6] == [len(row.population_ids), len(row.account_ids)]
    # frozen: a draw after the report was generated does not change it
    assert draw(tree.sup_city, tree.unit["sibling"]).status_code == 201
    again = browser.get(f"/supervision/reports?shown={report_id}").get_data(as_text=True)
    assert NAMES["sibling"] not in again.split('id="shown-spot-checks"')[1]
