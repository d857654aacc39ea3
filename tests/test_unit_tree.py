"""Issue 16, the unit tree: every role is held at a unit and reaches that unit's subtree,
never a unit beside or above it; an admin or supervisor held at no unit reaches every unit.

The tree: province → city → county → township, plus a sibling county under the city. Each
unit holds a WeChat account and (by a platform exception) two Weibo accounts, so it shows in
the dormant list, the duplicates list and the summary. What each caller should see is derived
from the tree here (REACH), not from the code under test.
"""
import pytest
from conftest import PASSWORD, account_body, make_user
from sqlalchemy import event, select

from govmedia.errors import Forbidden
from govmedia.models import AuditEntry
from govmedia.extensions import db

TREE = {"province": None, "city": "province", "county": "city", "township": "county",
        "sibling": "city"}
NAMES = {"province": "某省人民政府", "city": "某市人民政府", "county": "某县人民政府",
         "township": "某镇人民政府", "sibling": "邻县人民政府"}
ACCOUNT = {key: f"{name[:2]}发布" for key, name in NAMES.items()}   # 某省发布, 邻县发布, ...

# caller -> (roles, the unit it is held at or None)
CALLERS = {"sup_all": (["supervisor"], None), "sup_city": (["supervisor"], "city"),
           "sup_county": (["supervisor"], "county"), "admin_county": (["admin"], "county"),
           "sponsor_county": (["sponsor"], "county"), "sponsor_town": (["sponsor"], "township"),
           "editor_sibling": (["editor"], "sibling")}


def below(unit: str) -> set[str]:
    """The unit and every unit under it, read off TREE."""
    found = {unit}
    while True:
        more = {u for u, parent in TREE.items() if parent in found} - found
        if not more:
            return found
        found |= more


def reach(caller: str) -> set[str]:
    unit = CALLERS[caller][1]
    return set(TREE) if unit is None else below(unit)


@pytest.fixture
def tree(app, admin_api, login):
    ids = {}
    for key in TREE:   # parents come first in TREE
        parent = ids[TREE[key]] if TREE[key] else None
        body = admin_api.post("/api/v1/units", {"name": NAMES[key], "parent_id": parent})
        assert body.status_code == 201, body.get_json()
        ids[key] = body.get_json()["id"]
    accounts = {}
    for n, key in enumerate(TREE):
        made = admin_api.post("/api/v1/accounts", account_body(
            ids[key], handle=f"gh_tree{n}abcdef", name=ACCOUNT[key], opened_on="2026-01-05"))
        assert made.status_code == 201, made.get_json()
        accounts[key] = made.get_json()["id"]
        assert admin_api.post(f"/api/v1/units/{ids[key]}/platform-exceptions", {
            "platform": "weibo", "reason": "两个微博账号分管政务与应急"}).status_code == 201
        for m in range(2):
            made = admin_api.post("/api/v1/accounts", account_body(
                ids[key], platform="weibo", handle=f"55{n}{m}000", opened_on="2026-01-05",
                name=f"{ACCOUNT[key]}微博{m}"))
            assert made.status_code == 201, made.get_json()
    for username, (roles, unit) in CALLERS.items():
        make_user(username, roles, ids[unit] if unit else None)

    class Tree:
        unit = ids
        account = accounts
        admin = admin_api
        api = {name: login(name) for name in CALLERS}
        key_of = {v: k for k, v in ids.items()}

    return Tree


def page_client(app, username):
    client = app.test_client()
    assert client.post("/login", data={"username": username,
                                       "password": PASSWORD}).status_code == 302
    return client


def units_in(tree, unit_ids) -> set[str]:
    return {tree.key_of[u] for u in unit_ids}


# --- lists: units, accounts, filings, supervision ----------------------------------------------

@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_every_api_list_holds_exactly_the_callers_subtree(tree, caller):
    api, expected = tree.api[caller], reach(caller)
    units = api.get("/api/v1/units", limit=500).get_json()["items"]
    assert units_in(tree, [u["id"] for u in units]) == expected
    accounts = api.get("/api/v1/accounts", limit=500).get_json()["items"]
    assert units_in(tree, [a["unit_id"] for a in accounts]) == expected
    assert len(accounts) == 3 * len(expected)
    filings = api.get("/api/v1/filings", limit=500).get_json()["items"]
    assert {f["account_id"] for f in filings} == {a["id"] for a in accounts}
    dormant = api.get("/api/v1/supervision/dormant", limit=500).get_json()
    assert units_in(tree, [i["unit_id"] for i in dormant["items"]]) == expected
    duplicates = api.get("/api/v1/supervision/duplicates").get_json()
    assert units_in(tree, [i["unit_id"] for i in duplicates["items"]]) == expected
    summary = api.get("/api/v1/supervision/summary", limit=500).get_json()
    assert units_in(tree, [u["unit_id"] for u in summary["units"]]) == expected
    assert summary["units_total"] == len(expected)
    assert sum(summary["accounts"].values()) == 3 * len(expected)


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_single_objects_and_unit_filters_beside_or_above_are_forbidden(tree, caller):
    api, inside = tree.api[caller], reach(caller)
    for key in TREE:
        unit, account = tree.unit[key], tree.account[key]
        want = 200 if key in inside else 403
        assert api.get(f"/api/v1/units/{unit}").status_code == want, key
        assert api.get(f"/api/v1/accounts/{account}").status_code == want, key
        for path in ("/api/v1/accounts", "/api/v1/filings", "/api/v1/supervision/dormant",
                     "/api/v1/supervision/duplicates", "/api/v1/supervision/summary",
                     "/api/v1/supervision/rectifications"):
            response = api.get(path, unit_id=unit)
            assert response.status_code == want, (path, key)
            if want == 403:
                assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("caller", ["sup_city", "sup_county", "sponsor_town", "editor_sibling"])
def test_pages_show_nothing_of_units_beside_or_above(app, tree, caller):
    client, inside = page_client(app, caller), reach(caller)
    for path in ("/units", "/accounts", "/filings", "/supervision", "/supervision/dormant",
                 "/supervision/duplicates"):
        html = client.get(path).get_data(as_text=True)
        for key in TREE:
            shown = ACCOUNT[key] in html or NAMES[key] in html
            if key not in inside:
                assert not shown, (path, key)
        if path in ("/accounts", "/supervision/dormant"):
            assert all(ACCOUNT[key] in html for key in inside), path
    for key in TREE:
        want = 200 if key in inside else 403
        assert client.get(f"/units/{tree.unit[key]}").status_code == want, key
        assert client.get(f"/accounts/{tree.account[key]}").status_code == want, key


# --- acting within the subtree ----------------------------------------------------------------

def test_roles_act_on_units_below_and_are_refused_beside_and_above(tree):
    county_sup, county_sponsor = tree.api["sup_county"], tree.api["sponsor_county"]
    for key, want in (("township", 201), ("county", 201), ("sibling", 403), ("city", 403)):
        order = county_sup.post("/api/v1/supervision/rectifications", {
            "unit_id": tree.unit[key], "kind": "other", "finding": "栏目长期未更新"})
        assert order.status_code == want, (key, order.get_json())
        made = county_sponsor.post("/api/v1/accounts", account_body(
            tree.unit[key], platform="douyin", handle=f"dy-{key}", name=f"{ACCOUNT[key]}抖音"))
        assert made.status_code == want, (key, made.get_json())
    # A township's order is the county's to close, and the township's sponsor answers it.
    orders = tree.api["sponsor_town"].get("/api/v1/supervision/rectifications").get_json()
    assert [tree.key_of[o["unit_id"]] for o in orders["items"]] == ["township"]


def test_quarterly_reports_cover_every_unit_so_only_an_unbound_supervisor_has_them(tree):
    assert tree.api["sup_county"].post("/api/v1/supervision/reports", {
        "year": 2026, "quarter": 3}).status_code == 403
    assert tree.api["sup_city"].get("/api/v1/supervision/reports").status_code == 403
    made = tree.api["sup_all"].post("/api/v1/supervision/reports", {"year": 2026, "quarter": 3})
    assert made.status_code == 201, made.get_json()
    report = made.get_json()["id"]
    assert tree.api["sup_city"].get(f"/api/v1/supervision/reports/{report}").status_code == 403


def test_the_reach_is_one_recursive_query_per_request(app, tree):
    statements = []

    def count(conn, cursor, statement, *args):
        if "RECURSIVE subtree" in statement:   # the reach (govmedia.auth.subtree_query)
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = tree.api["sup_city"].get("/api/v1/supervision/summary")
        assert response.status_code == 200
        dashboard = page_client(app, "sup_city").get("/supervision")
        assert dashboard.status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # The API call walks the tree once; the page once more (its own request).
    assert len(statements) == 2, statements


# --- units: parents within reach, no cycles, one name per parent --------------------------------

def test_a_units_parent_must_be_within_the_creators_reach(tree):
    county = tree.api["sup_county"]
    made = county.post("/api/v1/units", {"name": "某镇中心学校", "parent_id": tree.unit["township"]})
    assert made.status_code == 201, made.get_json()
    assert county.get(f"/api/v1/units/{made.get_json()['id']}").status_code == 200
    for parent in (tree.unit["sibling"], tree.unit["city"], None):
        refused = county.post("/api/v1/units", {"name": "越权新设单位", "parent_id": parent})
        assert refused.status_code == 403, parent
        assert refused.get_json()["error"]["fields"] == {"parent_id": refused.get_json()[
            "error"]["fields"]["parent_id"]}
    assert tree.api["sup_all"].post("/api/v1/units", {"name": "另一省人民政府"}).status_code == 201


def test_a_cycle_in_parent_id_is_refused_with_the_field_named(tree):
    for api in (tree.admin, tree.api["sup_county"]):
        for parent in ("county", "township"):
            response = api.patch(f"/api/v1/units/{tree.unit['county']}",
                                 {"parent_id": tree.unit[parent]})
            assert response.status_code == 400, (parent, response.get_json())
            error = response.get_json()["error"]
            assert error["code"] == "invalid" and "parent_id" in error["fields"]
    assert tree.admin.get(f"/api/v1/units/{tree.unit['county']}").get_json()[
        "parent_id"] == tree.unit["city"]


def test_unit_names_are_unique_within_their_parent(tree):
    admin = tree.admin
    # The same name under another parent is fine (every county has its education bureau).
    for parent in ("county", "sibling"):
        made = admin.post("/api/v1/units", {"name": "教育局", "parent_id": tree.unit[parent]})
        assert made.status_code == 201, made.get_json()
    for body in ({"name": "教育局", "parent_id": tree.unit["county"]},
                 {"name": NAMES["province"]}):                   # at the top too
        refused = admin.post("/api/v1/units", body)
        assert refused.status_code == 400, body
        assert refused.get_json()["error"]["code"] == "invalid"
        assert "name" in refused.get_json()["error"]["fields"]
    # Renaming into a clash, or moving a unit under a parent holding its name, is refused too.
    assert admin.patch(f"/api/v1/units/{tree.unit['sibling']}",
                       {"name": NAMES["county"]}).status_code == 400
    clash = admin.post("/api/v1/units", {"name": NAMES["township"],
                                         "parent_id": tree.unit["sibling"]}).get_json()
    moved = admin.patch(f"/api/v1/units/{clash['id']}", {"parent_id": tree.unit["county"]})
    assert moved.status_code == 400 and "name" in moved.get_json()["error"]["fields"]


def test_the_database_holds_one_name_per_parent_at_the_top_too(tree):
    from sqlalchemy.exc import IntegrityError

    from registry.models import Unit

    for parent in (tree.unit["county"], None):
        db.session.add(Unit(name="重名单位", parent_id=parent, contacts=[]))
        db.session.add(Unit(name="重名单位", parent_id=parent, contacts=[]))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


# --- moving a unit ------------------------------------------------------------------------------

def test_moving_a_unit_is_audited_and_takes_its_accounts_and_users_along(app, tree):
    township, account = tree.unit["township"], tree.account["township"]
    assert tree.api["sup_county"].patch(f"/api/v1/units/{township}", {
        "parent_id": tree.unit["sibling"]}).status_code == 403   # the sibling is out of reach
    moved = tree.api["sup_city"].patch(f"/api/v1/units/{township}",
                                       {"parent_id": tree.unit["sibling"]})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["parent_id"] == tree.unit["sibling"]
    assert moved.get_json()["name"] == NAMES["township"]   # nothing else changed
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "unit.move"))
    assert entry is not None and entry.object_id == township
    assert entry.before["parent_id"] == tree.unit["county"]
    assert entry.after["parent_id"] == tree.unit["sibling"]
    # The county no longer reaches the township, its accounts or its filings; the sibling's
    # staff now do; the township's own sponsor keeps its unit.
    assert tree.api["sup_county"].get(f"/api/v1/accounts/{account}").status_code == 403
    assert tree.api["editor_sibling"].get(f"/api/v1/accounts/{account}").status_code == 200
    assert tree.api["sponsor_town"].get(f"/api/v1/accounts/{account}").status_code == 200
    dormant = tree.api["sup_county"].get("/api/v1/supervision/dormant").get_json()["items"]
    assert tree.unit["township"] not in {i["unit_id"] for i in dormant}


def test_moving_a_unit_on_its_edit_page(app, tree):
    client = page_client(app, "sup_city")
    township = tree.unit["township"]
    form = client.get(f"/units/{township}/edit").get_data(as_text=True)
    assert NAMES["province"] not in form     # a parent out of reach is not offered
    response = client.post(f"/units/{township}/edit", data={
        "name": NAMES["township"], "parent_id": str(tree.unit["sibling"])})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert tree.admin.get(f"/api/v1/units/{township}").get_json()[
        "parent_id"] == tree.unit["sibling"]
    refused = client.post(f"/units/{tree.unit['city']}/edit", data={
        "name": NAMES["city"], "parent_id": str(township)})
    assert refused.status_code == 400   # the city under its own township: a cycle


# --- the dashboard one level at a time ------------------------------------------------------------

def expected_row(tree, key, dormant_by_unit) -> dict:
    """What a child's rolled-up row must say, counted from the tree and the dormant list."""
    units = below(key)
    return {"units": len(units), "active": 3 * len(units),
            "dormant": sum(dormant_by_unit.get(tree.unit[u], 0) for u in units)}


def test_the_dashboard_rolls_each_childs_subtree_up_and_drills_down_one_level(app, tree):
    from govmedia.models import User
    from govmedia.types import today_shanghai
    from registry.supervision import levels

    dormant_by_unit = {}
    for item in tree.api["sup_all"].get("/api/v1/supervision/dormant",
                                        limit=500).get_json()["items"]:
        dormant_by_unit[item["unit_id"]] = dormant_by_unit.get(item["unit_id"], 0) + 1
    assert sum(dormant_by_unit.values()) == 3 * len(TREE)   # every account is dormant
    today = today_shanghai()

    def rows_of(username, node=None):
        user = db.session.scalar(select(User).where(User.username == username))
        got = levels.level(user, today, node)
        return got, {tree.key_of[r["unit_id"]]: {"units": r["units"],
                                                  "active": r["accounts"]["active"],
                                                  "dormant": r["dormant"]}
                     for r in got["children"]}

    got, rows = rows_of("sup_city")     # starts at its own unit: the city's two counties
    assert got["node"] == tree.unit["city"] and got["own"]["unit_id"] == tree.unit["city"]
    assert rows == {k: expected_row(tree, k, dormant_by_unit) for k in ("county", "sibling")}
    city = expected_row(tree, "city", dormant_by_unit)     # the city's own row and both counties
    assert (got["total"]["units"], got["total"]["accounts"]["active"],
            got["total"]["dormant"]) == (city["units"], city["active"], city["dormant"])
    got, rows = rows_of("sup_city", tree.unit["county"])    # one level down
    assert rows == {"township": expected_row(tree, "township", dormant_by_unit)}
    assert [p["unit_id"] for p in got["path"]] == [tree.unit["city"], tree.unit["county"]]
    got, rows = rows_of("sup_all")      # held at no unit: the top of the tree
    assert got["node"] is None and got["own"] is None
    assert rows == {"province": expected_row(tree, "province", dormant_by_unit)}
    with pytest.raises(Forbidden):
        rows_of("sup_county", tree.unit["city"])


def test_each_rolled_up_row_is_the_sum_of_its_units_own_rows(app, tree):
    # The levels sum in SQL; the per-unit rows (the dashboard's unit table) are counted unit
    # by unit: every figure of a child's row must be the sum of its subtree's unit rows.
    from datetime import timedelta

    from govmedia.models import User
    from govmedia.types import today_shanghai
    from registry.models import Filing
    from registry.supervision import levels
    from registry.supervision.dashboard import unit_rows

    # Filings in every state: one filed late, one filed on time, the rest as they are.
    filings = db.session.scalars(select(Filing).order_by(Filing.id)).all()
    filings[0].filed_on = filings[0].due_on + timedelta(days=3)
    filings[1].filed_on = filings[1].due_on
    db.session.commit()
    today = today_shanghai()
    per_unit = unit_rows(list(tree.unit.values()), today)
    user = db.session.scalar(select(User).where(User.username == "sup_all"))
    for node, children in ((None, ["province"]), (tree.unit["city"], ["county", "sibling"])):
        got = levels.level(user, today, node)
        assert sorted(tree.key_of[r["unit_id"]] for r in got["children"]) == children
        for row in got["children"]:
            units = [per_unit[tree.unit[k]] for k in below(tree.key_of[row["unit_id"]])]
            assert row["units"] == len(units)
            assert row["accounts"] == {s: sum(u["accounts"][s] for u in units)
                                       for s in row["accounts"]}
            assert row["filings"] == {s: sum(u["filings"][s] for u in units)
                                      for s in row["filings"]}
            for key in ("dormant", "warning", "overdue_rectifications"):
                assert row[key] == sum(u[key] for u in units), key
    assert got["own"]["filings"] == per_unit[tree.unit["city"]]["filings"]
    # A node that is no unit (a stale link) has nothing below it, for one who reaches all.
    nowhere = levels.level(user, today, 10 ** 7)
    assert (nowhere["own"], nowhere["children"], nowhere["total"]) == (None, [], None)
    assert sum(got["total"]["filings"].values()) == sum(
        sum(per_unit[tree.unit[k]]["filings"].values()) for k in below("city"))
    assert {"filed", "late"} <= {s for u in per_unit.values() for s, n in u["filings"].items()
                                 if n}


def test_the_dashboard_page_links_one_level_down_and_refuses_above(app, tree):
    client = page_client(app, "sup_city")
    html = client.get("/supervision").get_data(as_text=True)
    level = html[html.index('id="level-table"'):html.index("</table>", html.index('id="level-table"'))]
    assert f"under={tree.unit['county']}" in level and f"under={tree.unit['sibling']}" in level
    assert NAMES["township"] not in level and NAMES["province"] not in level
    down = client.get(f"/supervision?under={tree.unit['county']}").get_data(as_text=True)
    level = down[down.index('id="level-table"'):]
    assert NAMES["township"] in level and f"under={tree.unit['township']}" in level
    assert client.get(f"/supervision?under={tree.unit['province']}").status_code == 403
    top = page_client(app, "sup_all").get("/supervision").get_data(as_text=True)
    assert f"under={tree.unit['province']}" in top[top.index('id="level-table"'):]


# --- the importer ---------------------------------------------------------------------------------

def test_units_an_import_creates_go_under_a_bound_importers_unit(tree):
    from registry.importer.run import import_inventory
    from registry.models import Unit

    user = make_user("importer_county", ["sponsor", "supervisor"], tree.unit["county"])
    content = ("主办单位,平台,账号名称,账号ID,开设日期\n"
               "某县新设中心,其他,某县新设中心网站,center-1,2026-03-02\n").encode("utf-8-sig")
    result = import_inventory(user, "inventory.csv", content, create_units=True)
    db.session.commit()
    assert result.errors == [] and result.units_created == 1
    made = db.session.scalar(select(Unit).where(Unit.name == "某县新设中心"))
    assert made.parent_id == tree.unit["county"]
    assert tree.api["sup_county"].get(f"/api/v1/units/{made.id}").status_code == 200
    assert tree.api["editor_sibling"].get(f"/api/v1/units/{made.id}").status_code == 403


def test_the_set_based_name_check_shared_with_the_importer(tree):
    from registry.checks import unit_name_clashes

    county = tree.unit["county"]
    clashes = unit_name_clashes([("a", county, NAMES["township"]), ("b", county, "新单位"),
                                 ("c", county, "新单位"), ("d", tree.unit["sibling"], "新单位"),
                                 ("e", None, NAMES["province"]), ("f", None, NAMES["city"])])
    assert clashes["a"].account_id == tree.unit["township"]      # the unit already there
    assert clashes["c"].earlier == "b"                           # an earlier entry of the batch
    assert clashes["e"].account_id == tree.unit["province"]      # at the top, NULL parent
    assert set(clashes) == {"a", "c", "e"}
    # A unit never clashes with itself (a rename keeping its name).
    assert unit_name_clashes([("a", county, NAMES["township"])],
                             exclude_id=tree.unit["township"]) == {}


# --- users: an admin held at a unit manages its subtree's people -----------------------------------

def test_an_admin_held_at_a_unit_manages_the_users_of_its_subtree_only(tree):
    from govmedia.models import User

    admin = tree.api["admin_county"]
    listed = {u["username"] for u in admin.get("/api/v1/users", limit=500).get_json()["items"]}
    assert listed == {name for name in CALLERS if CALLERS[name][1] in below("county")}
    ids = {u.username: u.id for u in db.session.scalars(select(User))}
    body = {"password": "Passw0rd-tree", "roles": ["editor"]}
    assert admin.post("/api/v1/users", body | {"username": "town_editor",
                                               "unit_id": tree.unit["township"]}).status_code == 201
    for unit in (tree.unit["sibling"], tree.unit["city"]):
        assert admin.post("/api/v1/users", body | {"username": "far_editor",
                                                   "unit_id": unit}).status_code == 403
    assert admin.post("/api/v1/users", {"username": "free_sup", "password": "Passw0rd-tree",
                                        "roles": ["supervisor"]}).status_code == 403
    assert admin.get(f"/api/v1/users/{ids['editor_sibling']}").status_code == 403
    assert admin.get(f"/api/v1/users/{ids['sup_all']}").status_code == 403
    assert admin.patch(f"/api/v1/users/{ids['editor_sibling']}",
                       {"display_name": "王五"}).status_code == 403
    assert admin.patch(f"/api/v1/users/{ids['sponsor_town']}",
                       {"unit_id": tree.unit["sibling"]}).status_code == 403
    assert admin.patch(f"/api/v1/users/{ids['sponsor_town']}",
                       {"display_name": "镇办 李四"}).status_code == 200
    # An admin held at no unit still manages everyone.
    assert tree.admin.get(f"/api/v1/users/{ids['editor_sibling']}").status_code == 200


def test_likely_duplicates_across_units_stay_within_the_reach(tree):
    made = {}
    for key, name in (("county", "某县教育在线"), ("sibling", "某县 教育 在线")):
        response = tree.admin.post("/api/v1/accounts", account_body(
            tree.unit[key], platform="douyin", handle=f"dy-dup-{key}", name=name,
            verified_subject="某县融媒体中心"))
        assert response.status_code == 201, response.get_json()
        made[key] = response.get_json()["id"]
    pair = sorted(made.values())

    def similar(caller):
        body = tree.api[caller].get("/api/v1/supervision/duplicates").get_json()
        return {(s["reason"], tuple(s["account_ids"])) for s in body["similar"]}

    for reason in ("similar_name", "same_verified_subject"):
        assert (reason, tuple(pair)) in similar("sup_city"), reason      # both below the city
        assert (reason, tuple(pair)) in similar("sup_all"), reason
    assert not any(made["sibling"] in ids for _r, ids in similar("sup_county"))
    assert not any(made["county"] in ids for _r, ids in similar("editor_sibling"))


def test_the_levels_api_answers_one_level_from_the_top_of_the_reach(tree):
    body = tree.api["sup_county"].get("/api/v1/supervision/levels").get_json()
    assert body["node"] == tree.unit["county"] and body["own"]["unit_id"] == tree.unit["county"]
    assert [c["unit_id"] for c in body["children"]] == [tree.unit["township"]]
    assert body["total"]["units"] == 2 and body["total"]["accounts"]["active"] == 6
    top = tree.api["sup_all"].get("/api/v1/supervision/levels").get_json()
    assert top["node"] is None and [c["unit_id"] for c in top["children"]] == [
        tree.unit["province"]]
    assert top["children"][0]["units"] == len(TREE)
    city = tree.api["sup_all"].get("/api/v1/supervision/levels",
                                   under=tree.unit["city"]).get_json()
    assert sorted(c["unit_id"] for c in city["children"]) == sorted(
        [tree.unit["county"], tree.unit["sibling"]])
    assert [p["unit_id"] for p in city["path"]] == [tree.unit["province"], tree.unit["city"]]
    refused = tree.api["sup_county"].get("/api/v1/supervision/levels", under=tree.unit["city"])
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "forbidden"


def test_the_top_unit_of_a_reach_keeps_its_unseen_parent_when_edited_on_its_page(app, tree):
    client = page_client(app, "sup_county")
    county = tree.unit["county"]
    form = client.get(f"/units/{county}/edit").get_data(as_text=True)
    assert NAMES["city"] not in form        # the parent stays unnamed, but selected
    assert f'<option value="{tree.unit["city"]}" selected>' in form
    response = client.post(f"/units/{county}/edit", data={
        "name": NAMES["county"], "office": "县政府办公室", "parent_id": str(tree.unit["city"])})
    assert response.status_code == 302, response.get_data(as_text=True)
    unit = tree.admin.get(f"/api/v1/units/{county}").get_json()
    assert unit["office"] == "县政府办公室" and unit["parent_id"] == tree.unit["city"]
    # Without the parent the form would put the county at the top: not for a county supervisor.
    refused = client.post(f"/units/{county}/edit", data={"name": NAMES["county"]})
    assert refused.status_code == 403
