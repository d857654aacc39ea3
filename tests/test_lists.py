"""Lists for thousands of rows (issue 12): pages, natural order, text search on PostgreSQL's
own indexes, exports of the supervision lists, bulk orders, "not a duplicate" decisions."""
import re

from conftest import PASSWORD, account_body, make_user
from sqlalchemy import text

from govmedia.extensions import db
from publisher.editorial.articles import create_article
from publisher.schemas import ArticleIn
from registry.models import Unit

UNITS = ["某县第99中学", "某县第9中学", "某县第10中学", "某县第100中学", "某县第1中学"]


def page_login(app, username):
    client = app.test_client()
    assert client.post("/login", data={"username": username,
                                       "password": PASSWORD}).status_code == 302
    return client


def names_in(html: str, names) -> list[str]:
    """The given names in the order the page shows them."""
    found = [(html.find(f">{n}<"), n) for n in names if f">{n}<" in html]
    return [n for _at, n in sorted(found)]


def test_units_are_in_natural_order_searched_and_paged(app, world):
    for name in UNITS:
        world.admin.post("/api/v1/units", {"name": name})
    supervisor = page_login(app, "supervisor")
    page = supervisor.get("/units").get_data(as_text=True)
    assert names_in(page, UNITS) == ["某县第1中学", "某县第9中学", "某县第10中学", "某县第99中学",
                                     "某县第100中学"]
    page = supervisor.get("/units?sort=-name").get_data(as_text=True)
    assert names_in(page, UNITS) == ["某县第100中学", "某县第99中学", "某县第10中学", "某县第9中学",
                                     "某县第1中学"]
    assert 'aria-sort="descending"' in page
    page = supervisor.get("/units?q=第9").get_data(as_text=True)
    assert names_in(page, UNITS) == ["某县第9中学", "某县第99中学"]
    assert "某县教育局" not in page
    # a wildcard in the search is a character, not a pattern
    assert names_in(supervisor.get("/units?q=%25").get_data(as_text=True), UNITS) == []
    for n in range(60):
        db.session.add(Unit(name=f"乡镇{n}"))
    db.session.commit()
    first = supervisor.get("/units?q=乡镇").get_data(as_text=True)
    second = supervisor.get("/units?q=乡镇&page=2").get_data(as_text=True)
    assert ">乡镇0<" in first and ">乡镇9<" in first and ">乡镇49<" in first
    assert ">乡镇50<" in second and ">乡镇59<" in second and ">乡镇49<" not in second
    assert re.search(r"共 60 条", first)


def test_accounts_search_by_name_or_handle_and_sort(app, world):
    unit = world.unit_a["id"]
    for n, platform in ((9, "douyin"), (99, "kuaishou"), (10, "toutiao")):
        assert world.sponsor_a.post("/api/v1/accounts", account_body(
            unit, platform=platform, handle=f"hd-{n}", name=f"某县发布第{n}号")).status_code == 201
    sponsor = page_login(app, "sponsor_a")
    page = sponsor.get("/accounts?sort=name").get_data(as_text=True)
    names = ["某县发布第9号", "某县发布第10号", "某县发布第99号"]
    assert names_in(page, names) == names
    page = sponsor.get("/accounts?q=HD-9").get_data(as_text=True)   # the handle, any case
    assert names_in(page, names) == ["某县发布第9号", "某县发布第99号"]
    page = sponsor.get("/accounts?q=第10").get_data(as_text=True)
    assert names_in(page, names) == ["某县发布第10号"]


def test_articles_search_by_title(app, world):
    weibo = world.sponsor_a.post("/api/v1/accounts", account_body(
        world.unit_a["id"], platform="weibo", handle="7000000123", name="某县发布")).get_json()
    editor = make_user("editor_a", ["editor"], world.unit_a["id"])
    for title in ("防汛工作部署", "秋季招生公告"):
        create_article(editor, ArticleIn(title=title, body_html="<p>正文内容。</p>",
                                         target_account_ids=[weibo["id"]]))
    db.session.commit()
    client = page_login(app, "editor_a")
    page = client.get("/articles?q=防汛").get_data(as_text=True)
    assert "防汛工作部署" in page and "秋季招生公告" not in page
    page = client.get("/articles").get_data(as_text=True)
    assert "防汛工作部署" in page and "秋季招生公告" in page


def test_searches_and_natural_order_use_the_indexes(app, world):
    """With sequential scans priced out, the planner can serve each list from an index: the
    trigram GIN indexes for ILIKE, the (name_sort, id) index for the order."""
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plans = {}
    for name, sql in {
        "units search": "SELECT id FROM units WHERE name ILIKE '%第9%'",
        "accounts search": "SELECT id FROM accounts WHERE handle ILIKE '%hd-9%'",
        "articles search": "SELECT id FROM articles WHERE title ILIKE '%防汛%'",
        "units order": "SELECT id FROM units ORDER BY name_sort, id LIMIT 50",
        "accounts order": "SELECT id FROM accounts ORDER BY name_sort, id OFFSET 10 LIMIT 50",
    }.items():
        plans[name] = "\n".join(r[0] for r in db.session.execute(text("EXPLAIN " + sql)))
    db.session.rollback()
    assert "ix_units_name_trgm" in plans["units search"]
    assert "ix_accounts_handle_trgm" in plans["accounts search"]
    assert "ix_articles_title_trgm" in plans["articles search"]
    assert "ix_units_natural_name" in plans["units order"]
    assert "ix_accounts_natural_name" in plans["accounts order"]
    assert db.session.scalar(text("SELECT natural_key('第9') < natural_key('第10')"))


# --- supervision lists ------------------------------------------------------------------------

def register(api, unit_id, platform, handle, name, opened_on="2026-01-05") -> int:
    response = api.post("/api/v1/accounts", account_body(unit_id, platform=platform,
                                                         handle=handle, name=name,
                                                         opened_on=opened_on))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def similar_pairs(api) -> set:
    body = api.get("/api/v1/supervision/duplicates").get_json()
    return {tuple(s["account_ids"]) for s in body["similar"] if s["reason"] == "similar_name"}


def test_not_a_duplicate_is_audited_and_keeps_the_pair_off_the_list(app, world):
    first = register(world.sponsor_a, world.unit_a["id"], "wechat", "gh_0123456789ab",
                     "某县教育发布")
    second = register(world.sponsor_b, world.unit_b["id"], "wechat", "gh_0123456789ac",
                      "某县 教育 在线")
    assert (first, second) in similar_pairs(world.supervisor)
    supervisor, sponsor = page_login(app, "supervisor"), page_login(app, "sponsor_a")
    page = supervisor.get("/supervision/duplicates").get_data(as_text=True)
    assert "不是重复账号" in page and "某县教育发布" in page and "某县 教育 在线" in page
    form = {"low_id": str(first), "high_id": str(second), "reason": "  "}
    assert sponsor.post("/supervision/duplicates/dismissals", data=form).status_code == 403
    supervisor.post("/supervision/duplicates/dismissals", data=form)   # a blank reason
    assert (first, second) in similar_pairs(world.supervisor)
    form["reason"] = "一个是教育局，一个是教育在线平台，分属不同单位"
    response = supervisor.post("/supervision/duplicates/dismissals", data=form)
    assert response.status_code == 302
    assert (first, second) not in similar_pairs(world.supervisor)
    page = supervisor.get("/supervision/duplicates").get_data(as_text=True)
    assert "某县 教育 在线" not in page
    audit = supervisor.get("/audit?object_type=duplicate_pair").get_data(as_text=True)
    assert "确认不是重复账号" in audit and "分属不同单位" in audit
    assert "某县教育发布" in audit        # the accounts by name, not by id
    # the same decision again writes nothing new
    supervisor.post("/supervision/duplicates/dismissals", data=form)
    count = db.session.scalar(text(
        "SELECT count(*) FROM audit_entries WHERE action = 'duplicate.dismiss'"))
    assert count == 1


def test_bulk_rectification_orders_from_the_dormant_list(app, world):
    unit = world.unit_a["id"]
    ids = [register(world.sponsor_a, unit, p, f"h-{p}", f"某县发布{p}")
           for p in ("douyin", "kuaishou", "toutiao")]
    supervisor = page_login(app, "supervisor")
    page = supervisor.get("/supervision/dormant").get_data(as_text=True)
    assert 'name="account_ids"' in page and "对勾选的账号下发整改通知" in page
    sponsor = page_login(app, "sponsor_a")
    assert 'name="account_ids"' not in sponsor.get("/supervision/dormant").get_data(as_text=True)
    assert sponsor.post("/supervision/dormant/orders",
                        data={"account_ids": [str(ids[0])]}).status_code == 403
    response = supervisor.post("/supervision/dormant/orders",
                               data={"account_ids": [str(i) for i in ids[:2]]})
    assert response.status_code == 302
    orders = world.supervisor.get("/api/v1/supervision/rectifications").get_json()["items"]
    assert sorted(o["account_id"] for o in orders) == sorted(ids[:2])
    assert all(o["kind"] == "dormant" for o in orders)
    assert any("某县发布douyin" in o["finding"] and "天未更新" in o["finding"] for o in orders)
    # again with all three: the two with an open order are skipped
    supervisor.post("/supervision/dormant/orders", data={"account_ids": [str(i) for i in ids]})
    orders = world.supervisor.get("/api/v1/supervision/rectifications").get_json()["items"]
    assert sorted(o["account_id"] for o in orders) == sorted(ids)


def test_every_supervision_list_exports_as_xlsx_and_csv(app, world):
    import csv
    import io
    from datetime import date

    from openpyxl import load_workbook

    unit = world.unit_a["id"]
    register(world.sponsor_a, unit, "douyin", "h-1", "=某县发布抖音")
    register(world.sponsor_a, unit, "wechat", "gh_0123456789ab", "某县教育发布")
    register(world.sponsor_b, world.unit_b["id"], "wechat", "gh_0123456789ac", "某县 教育 在线")
    supervisor = page_login(app, "supervisor")
    page = supervisor.get("/supervision/dormant?include=warning").get_data(as_text=True)
    assert "/supervision/dormant.xlsx?include=warning" in page

    book = load_workbook(io.BytesIO(supervisor.get("/supervision/dormant.xlsx").data))
    ws = book.active
    title = re.search(r"<h1>([^<]+)</h1>", page)[1]
    assert ws["A1"].value == title                       # the list's title, as on the page
    assert ws["A2"].value.startswith("截至 ")
    headings = [c.value for c in ws[3]]
    assert headings[:4] == ["账号", "平台", "单位", "最近更新"]
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    assert len(rows) == 3
    assert {r[0] for r in rows} == {"'=某县发布抖音", "某县教育发布", "某县 教育 在线"}  # formula: text
    assert all(isinstance(r[3], (date,)) for r in rows)              # real dates
    raw = supervisor.get("/supervision/dormant.csv").data
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][:2] == ["账号", "平台"] and len(table) == 4

    table = list(csv.reader(io.StringIO(
        supervisor.get("/supervision/duplicates.csv").data.decode("utf-8-sig"))))
    assert ["名称相近", "微信公众号", "某县教育发布；某县 教育 在线",
            "某县人民政府办公室；某县教育局"] in table

    world.supervisor.post("/api/v1/supervision/rectifications",
                          {"unit_id": unit, "kind": "other", "finding": "栏目长期未更新"})
    book = load_workbook(io.BytesIO(supervisor.get("/supervision/rectifications.xlsx").data))
    rows = list(book.active.iter_rows(min_row=4, values_only=True))
    assert rows[0][1] == "某县人民政府办公室" and rows[0][4] == "栏目长期未更新"
    assert isinstance(rows[0][6], date) and rows[0][7] == "待整改"
    # English headings for an English reader; a unit's user exports only its own unit
    supervisor.get("/lang/en")
    english = supervisor.get("/supervision/dormant.csv").data.decode("utf-8-sig")
    assert english.splitlines()[0].startswith("Account,Platform,Unit,Last update")
    sponsor_b = page_login(app, "sponsor_b")
    assert "某县教育发布" not in sponsor_b.get("/supervision/dormant.csv").data.decode("utf-8-sig")


def test_the_account_picker_finds_accounts_instead_of_listing_all(app, world):
    unit = world.unit_a["id"]
    for n in range(30):
        db.session.execute(text(
            "INSERT INTO accounts (unit_id, platform, name, handle, status, opened_on, staff, "
            "created_at, updated_at) VALUES (:u, 'other', :name, :handle, 'active', "
            "'2026-01-05', '[]', now(), now())"), {"u": unit, "name": f"某县发布{n}号",
                                                    "handle": f"picker-{n}"})
    db.session.commit()
    register(world.sponsor_b, world.unit_b["id"], "wechat", "gh_0123456789bb", "某县发布乙")
    sponsor = page_login(app, "sponsor_a")
    page = sponsor.get("/supervision/post-logs").get_data(as_text=True)
    assert page.count("<option value=") == 1 + 20          # the blank choice and 20 matches
    assert "某县发布0号" in page and "某县发布29号" not in page   # natural order: 0, 1, 2, … 19
    page = sponsor.get("/supervision/post-logs?account_q=29").get_data(as_text=True)
    assert "某县发布29号" in page and "某县发布3号" not in page    # "Find" without a script
    body = sponsor.get("/accounts/picker.json?q=发布2").get_json()
    assert [i["name"] for i in body["items"]][:3] == ["某县发布2号", "某县发布20号", "某县发布21号"]
    assert all("乙" not in i["name"] for i in
               sponsor.get("/accounts/picker.json?q=发布").get_json()["items"])
    assert body["items"][0]["text"].startswith("某县发布2号 · 其他平台 · ")


def test_the_api_lists_search_and_sort_too(app, world):
    for name in UNITS:
        world.admin.post("/api/v1/units", {"name": name})
    body = world.supervisor.get("/api/v1/units", q="中学", sort="name").get_json()
    assert [u["name"] for u in body["items"]] == ["某县第1中学", "某县第9中学", "某县第10中学",
                                                  "某县第99中学", "某县第100中学"]
    assert body["total"] == 5
    ids = [u["id"] for u in world.supervisor.get("/api/v1/units").get_json()["items"]]
    assert ids == sorted(ids)                                   # the default stays by id
    unit = world.unit_a["id"]
    for n in (9, 99, 10):
        register(world.sponsor_a, unit, "other", f"hd-{n}", f"某县发布第{n}号")
    body = world.sponsor_a.get("/api/v1/accounts", q="发布第", sort="-name").get_json()
    assert [a["name"] for a in body["items"]] == ["某县发布第99号", "某县发布第10号", "某县发布第9号"]
    assert world.sponsor_a.get("/api/v1/accounts", q="hd-1").get_json()["total"] == 1
    spec = world.supervisor.get("/api/v1/openapi.json").get_json()
    names = {p["name"] for p in spec["paths"]["/api/v1/accounts"]["get"]["parameters"]}
    assert {"q", "sort"} <= names


def test_bulk_orders_and_dismissals_through_the_api(app, world):
    unit = world.unit_a["id"]
    ids = [register(world.sponsor_a, unit, p, f"h-{p}", f"某县发布{p}") for p in ("douyin", "toutiao")]
    first = register(world.sponsor_a, unit, "wechat", "gh_0123456789ab", "某县教育发布")
    second = register(world.sponsor_b, world.unit_b["id"], "wechat", "gh_0123456789ac",
                      "某县 教育 在线")
    assert world.sponsor_a.post("/api/v1/supervision/rectifications/bulk",
                                {"account_ids": ids}).status_code == 403
    r = world.supervisor.post("/api/v1/supervision/rectifications/bulk",
                              {"account_ids": ids, "deadline": "2026-12-31"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert sorted(o["account_id"] for o in body["items"]) == sorted(ids)
    assert {o["deadline"] for o in body["items"]} == {"2026-12-31"} and body["skipped"] == []
    again = world.supervisor.post("/api/v1/supervision/rectifications/bulk",
                                  {"account_ids": ids}).get_json()
    assert again["items"] == [] and sorted(again["skipped"]) == sorted(ids)
    r = world.supervisor.post("/api/v1/supervision/rectifications/bulk", {"account_ids": []})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid"

    r = world.supervisor.post("/api/v1/supervision/duplicates/dismissals",
                              {"account_ids": [second, first], "reason": " "})
    assert r.status_code == 400 and "reason" in r.get_json()["error"]["fields"]
    r = world.supervisor.post("/api/v1/supervision/duplicates/dismissals",
                              {"account_ids": [second, first], "reason": "分属不同单位"})
    assert r.status_code == 201 and r.get_json()["account_ids"] == sorted([first, second])
    assert (min(first, second), max(first, second)) not in similar_pairs(world.supervisor)
    spec = world.supervisor.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/supervision/duplicates/dismissals" in spec["paths"]
    assert "/api/v1/supervision/rectifications/bulk" in spec["paths"]


def test_a_supervisor_over_many_units_filters_accounts_by_part_of_a_units_name(app, world):
    """More units than a drop-down holds: the accounts list asks for part of the unit's name
    (the filter was lost when two helpers shared one name; each has its own now)."""
    from registry.models import Unit
    from registry.views.accounts import UNIT_SELECT_MAX

    db.session.add_all(Unit(name=f"某县第{n}乡镇", office="党政办") for n in range(UNIT_SELECT_MAX))
    db.session.commit()
    page = page_login(app, "supervisor").get("/accounts").get_data(as_text=True)
    assert 'name="unit_q"' in page and '<select name="unit_id">' not in page
    few = page_login(app, "sponsor_a").get("/accounts").get_data(as_text=True)
    assert 'name="unit_q"' not in few


def test_units_are_picked_by_search_on_every_form(app, world):
    """Issue 12: no flat drop-down of every unit (a province has thousands): the account form,
    a transfer, a unit's parent, a user's unit and the filings filter search for the unit."""
    from registry.picker import PICKER_LIMIT

    db.session.add_all(Unit(name=f"某县第{n}乡镇", office="党政办") for n in range(1, 41))
    db.session.commit()
    admin = page_login(app, "admin")
    for path in ("/accounts/new", "/units/new", "/users", "/filings"):
        page = admin.get(path).get_data(as_text=True)
        assert 'data-source="/units/picker.json' in page, path
        assert page.count("某县第") <= PICKER_LIMIT, (path, page.count("某县第"))
    found = admin.get("/units/picker.json?q=第3").get_json()["items"]
    assert [u["name"] for u in found][:2] == ["某县第3乡镇", "某县第30乡镇"]
    assert all("第3" in u["name"] for u in found)
    # a sponsor's transfer may go to any unit; an editor's ask for every unit lists its own
    sponsor = page_login(app, "sponsor_a")
    every = sponsor.get("/units/picker.json?reach=all&q=乡镇").get_json()["items"]
    assert len(every) == PICKER_LIMIT
    make_user("editor_a", ["editor"], world.unit_a["id"])
    editor = page_login(app, "editor_a")
    own = editor.get("/units/picker.json?reach=all").get_json()["items"]
    assert [u["id"] for u in own] == [world.unit_a["id"]]
    # without scripts: "Find" reloads the form with the matches, the chosen unit kept
    page = admin.get("/accounts/new?unit_id_q=第40").get_data(as_text=True)
    assert "某县第40乡镇" in page and "某县第39乡镇" not in page
