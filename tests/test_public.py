"""The public side (no login): notices as JSON, page and Atom feed; lookup, verify and account
pages; open data; cache headers and ETags that follow the registry; nothing private leaks."""
import csv
import io
import json
import re
from datetime import date
from xml.etree import ElementTree

import pytest
from conftest import account_body
from sqlalchemy import select

from govmedia.extensions import db
from govmedia.models import User
from notices import services
from notices.models import Notice

ATOM = "{http://www.w3.org/2005/Atom}"


def open_account(api, unit_id, **kw):
    response = api.post("/api/v1/accounts", account_body(unit_id, **kw))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def event(api, account_id, kind, event_date="2026-11-16", **kw):
    response = api.post(f"/api/v1/accounts/{account_id}/events",
                        {"kind": kind, "event_date": event_date,
                         "reason": kw.pop("reason", "测试"), **kw})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def registry(world):
    """Active, renamed, deregistering, deregistered and closed accounts in two units."""
    a = world.sponsor_a
    active = open_account(a, world.unit_a["id"], name="某县发布")
    renamed = open_account(world.sponsor_b, world.unit_b["id"], platform="weibo",
                           handle="1234567890", name="某县教育")
    event(world.sponsor_b, renamed["id"], "change", changes={"name": "某县教育发布"})
    leaving = open_account(a, world.unit_a["id"], platform="douyin", handle="dy-leaving",
                           name="某县抖音")
    dereg = event(a, leaving["id"], "deregister", reason="无力维护",
                  reason_category="cannot_maintain", successor="微信公众号“某县发布”")
    gone = open_account(a, world.unit_a["id"], platform="kuaishou", handle="ks-gone",
                        name="某县快手")
    gone_notice = event(a, gone["id"], "deregister")["notice"]
    ends_on = date.fromisoformat(gone_notice["ends_on"])
    # move the earlier notice into the past and let the job complete it
    db.session.execute(Notice.__table__.update().where(Notice.id == gone_notice["id"])
                       .values(starts_on=date(2026, 1, 5), ends_on=date(2026, 1, 26)))
    db.session.commit()
    assert services.complete_deregistrations(today=max(ends_on, date(2026, 1, 27)))[
        "completed"] == [gone["id"]]
    db.session.commit()
    closed = open_account(world.sponsor_b, world.unit_b["id"], platform="toutiao",
                          handle="tt-closed", name="某县教育头条")
    event(world.sponsor_b, closed["id"], "close")

    class Registry:
        pass

    Registry.active, Registry.renamed, Registry.leaving = active, renamed, leaving
    Registry.gone, Registry.closed, Registry.dereg_notice = gone, closed, dereg["notice"]
    Registry.world = world
    return Registry


# --- contract --------------------------------------------------------------------------------

def test_public_notices_json(client, registry):
    response = client.get("/api/v1/public/notices")
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 4 and len(body["items"]) == 4
    for item in body["items"]:
        assert set(item) >= {"id", "kind", "account", "unit_name", "starts_on", "ends_on", "text"}
        assert set(item["account"]) == {"name", "platform", "handle"}
    kinds = sorted(item["kind"] for item in body["items"])
    assert kinds == ["change", "close", "deregister", "deregister"]
    past = [item for item in body["items"] if item["ends_on"] == "2026-01-26"]
    assert len(past) == 1 and not past[0]["current"] and past[0]["completed"]
    assert client.get("/api/v1/public/notices?limit=1").get_json()["items"][0]["id"] == \
        body["items"][0]["id"]


def test_public_accounts_search_by_name_handle_unit_and_platform(client, registry):
    everything = client.get("/api/v1/public/accounts").get_json()
    assert everything["total"] == 5
    first = everything["items"][0]
    assert set(first) == {"id", "name", "platform", "handle", "unit_name", "status", "opened_on"}
    by_part = client.get("/api/v1/public/accounts", query_string={"q": "教育"}).get_json()
    assert sorted(i["name"] for i in by_part["items"]) == ["某县教育发布", "某县教育头条"]
    by_handle = client.get("/api/v1/public/accounts", query_string={"q": "KS-GONE"}).get_json()
    assert [i["status"] for i in by_handle["items"]] == ["deregistered"]
    by_unit = client.get("/api/v1/public/accounts", query_string={"q": "人民政府"}).get_json()
    assert by_unit["total"] == 3
    weibo = client.get("/api/v1/public/accounts", query_string={"q": "某县",
                                                                 "platform": "weibo"}).get_json()
    assert [i["handle"] for i in weibo["items"]] == ["1234567890"]
    wild = client.get("/api/v1/public/accounts", query_string={"q": "%"}).get_json()
    assert wild["total"] == 0   # LIKE wildcards are searched for literally
    bad = client.get("/api/v1/public/accounts?platform=myspace")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid"


def test_verify_answers_official_former_or_not(client, registry):
    def verify(platform, handle):
        response = client.get("/api/v1/public/verify",
                              query_string={"platform": platform, "handle": handle})
        assert response.status_code == 200
        return response.get_json()

    yes = verify("wechat", "gh_0123456789ab")
    assert yes["official"] is True and yes["account"]["status"] == "active"
    assert yes["account"]["unit_name"] == "某县人民政府办公室" and "notice" not in yes["account"]
    leaving = verify("douyin", "dy-leaving")
    assert leaving["official"] is True and leaving["account"]["status"] == "deregistering"
    assert leaving["account"]["notice"]["id"] == registry.dereg_notice["id"]
    former = verify("kuaishou", "ks-gone")
    assert former["official"] is False and former["former"]["name"] == "某县快手"
    assert former["former"]["status"] == "deregistered" and former["former"]["deregistered_on"]
    assert verify("wechat", "gh_fake") == {"official": False}
    assert verify("weibo", "gh_0123456789ab") == {"official": False}  # right handle, wrong platform
    closed = verify("toutiao", "tt-closed")
    assert closed["official"] is True and closed["account"]["status"] == "closed"
    missing = client.get("/api/v1/public/verify?handle=x")
    assert missing.status_code == 400 and "platform" in missing.get_json()["error"]["fields"]


def test_public_endpoints_need_no_login_and_are_documented(app, client, registry):
    # a POST-free, cookie-free client: nothing to log in with, nothing refused
    for path in ("/notices", "/notices.atom", "/public", "/public?q=某县", "/public/data.csv",
                 "/public/data.json", "/api/v1/public/notices", "/api/v1/public/accounts",
                 f"/public/accounts/{registry.active['id']}"):
        assert client.get(path).status_code == 200, path
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/public/notices", "/api/v1/public/accounts", "/api/v1/public/verify"):
        assert "security" not in spec["paths"][path]["get"], path
    assert "/api/v1/notices/{notice_id}/withdraw" in spec["paths"]


# --- pages -----------------------------------------------------------------------------------

def test_the_notices_page_shows_current_and_past_with_periods(client, registry):
    page = client.get("/notices").get_data(as_text=True)
    current, past = page.split('id="past"')
    assert "关于注销政务新媒体账号“某县抖音”的公告" in current
    assert "关于注销政务新媒体账号“某县快手”的公告" in past
    assert "2026-01-05 至 2026-01-26" in past
    notice = registry.dereg_notice
    assert f"{notice['starts_on']} 至 {notice['ends_on']}" in current
    assert "登录" not in page and "退出" not in page


def test_the_lookup_page_and_the_clear_not_in_the_registry_answer(client, registry):
    page = client.get("/public", query_string={"q": "教育"}).get_data(as_text=True)
    assert "某县教育发布" in page and "某县教育头条" in page and "not-in-registry" not in page
    nothing = client.get("/public", query_string={"q": "冒充账号"}).get_data(as_text=True)
    assert 'id="not-in-registry"' in nothing and "不在登记库中" in nothing
    filtered = client.get("/public", query_string={"q": "某县", "platform": "douyin"})
    assert "某县抖音" in filtered.get_data(as_text=True)
    assert "某县发布</a>" not in filtered.get_data(as_text=True)
    assert client.get("/public/accounts/99999").status_code == 404


def test_the_account_page_shows_sponsor_status_and_history_of_names(client, registry):
    page = client.get(f"/public/accounts/{registry.renamed['id']}").get_data(as_text=True)
    assert "某县教育局" in page and "某县教育发布" in page
    assert "<del>某县教育</del>" in page                      # the former name
    assert "登记在册的政务新媒体账号" in page
    gone = client.get(f"/public/accounts/{registry.gone['id']}").get_data(as_text=True)
    assert "已注销" in gone and "不再是政务新媒体账号" in gone


# --- Atom ------------------------------------------------------------------------------------

def test_the_atom_feed_is_valid_atom(client, registry):
    response = client.get("/notices.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = ElementTree.fromstring(response.get_data())
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert (root.find(f"{ATOM}{name}").text or "").strip(), name
    assert root.find(f"{ATOM}author/{ATOM}name") is not None
    assert root.find(f"{ATOM}link[@rel='self']").get("href").endswith("/notices.atom")
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 4
    ids = set()
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert (entry.find(f"{ATOM}{name}").text or "").strip(), name
        date.fromisoformat(entry.find(f"{ATOM}updated").text[:10])
        ids.add(entry.find(f"{ATOM}id").text)
    assert len(ids) == 4
    titles = [e.find(f"{ATOM}title").text for e in entries]
    assert "关于注销政务新媒体账号“某县抖音”的公告" in titles


# --- open data -------------------------------------------------------------------------------

def test_open_data_csv_and_json(client, registry, world):
    # a formula in a name must not run when the file is opened in Excel
    open_account(world.sponsor_b, world.unit_b["id"], platform="other", handle="x-formula",
                 name="=HYPERLINK(\"http://evil\")")
    raw = client.get("/public/data.csv")
    assert raw.headers["Content-Disposition"].startswith("attachment")
    data = raw.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 6
    # Chinese headings and labels by default (a file for people, opened in Excel)
    assert list(rows[0]) == ["登记编号", "平台", "名称", "账号ID", "主办单位", "状态", "开通日期",
                             "曾用名"]
    renamed = next(r for r in rows if r["登记编号"] == str(registry.renamed["id"]))
    assert renamed["名称"] == "某县教育发布" and renamed["曾用名"] == "某县教育"
    assert renamed["平台"] in ("微信公众号", "微博", "其他平台") and renamed["状态"] == "正常运行"
    assert next(r for r in rows if r["账号ID"] == "x-formula")["名称"].startswith("'=")
    # English on request, by the link itself (one URL, one file)
    english = client.get("/public/data.csv?lang=en").get_data().decode("utf-8-sig")
    rows_en = list(csv.DictReader(io.StringIO(english)))
    assert list(rows_en[0])[:3] == ["Registry number", "Platform", "Name"]
    assert next(r for r in rows_en if r["Registry number"] == str(registry.renamed["id"]))[
        "Status"] == "Active"
    assert not re.search(r"[\u4e00-\u9fff]", "".join(
        v for r in rows_en for k, v in r.items() if k in ("Platform", "Status")))
    body = json.loads(client.get("/public/data.json").get_data())
    assert body["total"] == 6 and len(body["items"]) == 6
    assert set(body["items"][0]) == set(body["fields"])


# --- caching ---------------------------------------------------------------------------------

def test_etags_conditional_get_and_invalidation_when_the_registry_changes(client, registry,
                                                                          world):
    for path in ("/api/v1/public/verify?platform=wechat&handle=gh_new", "/public?q=某县",
                 "/notices", "/notices.atom", "/public/data.csv",
                 "/api/v1/public/accounts?q=某县"):
        first = client.get(path)
        etag = first.headers["ETag"]
        assert "max-age=" in first.headers["Cache-Control"], path
        assert "public" in first.headers["Cache-Control"], path
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.get_data() == b"", path
        assert again.headers["ETag"] == etag
    path = "/api/v1/public/verify?platform=wechat&handle=gh_new"
    before = client.get(path)
    assert before.get_json() == {"official": False}
    open_account(world.sponsor_b, world.unit_b["id"], handle="gh_new", name="某县教育微信")
    after = client.get(path, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.get_json()["official"] is True
    assert after.headers["ETag"] != before.headers["ETag"]
    # a unit's new name reaches the cached lookup at once
    lookup = client.get("/public?q=某县教育微信").get_data(as_text=True)
    assert "某县教育局" in lookup
    world.admin.put(f"/api/v1/units/{world.unit_b['id']}", {"name": "某县教育体育局"})
    assert "某县教育体育局" in client.get("/public?q=某县教育微信").get_data(as_text=True)
    # language is part of the key
    english = client.get("/notices?lang=en")
    assert english.headers["ETag"] != client.get("/notices").headers["ETag"]


# --- nothing private leaks -------------------------------------------------------------------

def test_nothing_private_leaks_into_any_public_response(app, client, world):
    markers = {}

    def mark(name):
        markers[name] = f"PRIVMARK{len(markers):02d}X"
        return markers[name]

    admin = world.admin
    unit = admin.post("/api/v1/units", {
        "name": "某县卫生健康委员会", "leader": mark("leader"), "deputy_leader": mark("deputy"),
        "contacts": [{"name": mark("contact_name"), "phone": mark("contact_phone"),
                      "title": mark("contact_title")}]}).get_json()
    from conftest import make_user

    make_user("sponsor_c", ["sponsor"], unit["id"])
    for user in db.session.scalars(select(User)):
        user.display_name = mark(f"display_{user.username}")
    db.session.commit()
    sponsor = world.sponsor_a.__class__(client, None)
    sponsor.token = client.post("/api/v1/auth/tokens", json={
        "username": "sponsor_c", "password": "Passw0rd-test"}).get_json()["token"]
    staff = [{"name": mark("staff_name"), "phone": mark("staff_phone"), "platform_role": "admin"}]
    wechat = open_account(sponsor, unit["id"], handle="gh_health00001", name="某县健康",
                          office=mark("account_office"), staff=staff,
                          verified_subject=mark("verified_subject"),
                          filing_reference=mark("filing_ref"), filed_on="2026-11-03")
    assert sponsor.put(f"/api/v1/accounts/{wechat['id']}/credentials",
                       {"app_id": mark("app_id"), "app_secret": mark("app_secret")}
                       ).status_code == 204
    weibo = open_account(sponsor, unit["id"], platform="weibo", handle="555000111",
                         name="某县健康微博", staff=staff)
    assert sponsor.put(f"/api/v1/accounts/{weibo['id']}/credentials",
                       {"access_token": mark("access_token")}).status_code == 204
    app_account = open_account(sponsor, unit["id"], platform="app", handle="cn.gov.health",
                               name="某县健康App", staff=staff)
    dereg = event(sponsor, app_account["id"], "deregister", internal_note=mark("internal_note"),
                  takedown=[{"kind": "store", "label": "应用宝"}])["notice"]
    amended = sponsor.post(f"/api/v1/notices/{dereg['id']}/amendments",
                           {"text": "修改后的注销公告", "note": mark("amend_note")})
    assert amended.status_code == 201
    closing = event(sponsor, weibo["id"], "close")["notice"]
    assert world.supervisor.post(f"/api/v1/notices/{closing['id']}/withdraw",
                                 {"reason": mark("withdraw_reason")}).status_code == 200
    assert admin.post(f"/api/v1/units/{unit['id']}/platform-exceptions",
                      {"platform": "wechat", "reason": mark("exception_reason")}
                      ).status_code == 201
    event(sponsor, wechat["id"], "change", changes={"name": "某县卫健"})

    paths = ["/notices", "/notices?lang=en", "/notices.atom", "/public", "/public?q=某县",
             "/public?q=健康&lang=en", "/public/data.csv", "/public/data.json",
             "/api/v1/public/notices", "/api/v1/public/accounts",
             "/api/v1/public/accounts?q=健康"]
    for account in (wechat, weibo, app_account):
        paths += [f"/public/accounts/{account['id']}",
                  f"/public/accounts/{account['id']}?lang=en",
                  f"/api/v1/public/accounts/{account['id']}",
                  (f"/api/v1/public/verify?platform={account['platform']}&handle="
                   f"{account['handle']}")]
    seen = 0
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data().decode("utf-8-sig")
        seen += len(body)
        leaked = [name for name, value in markers.items() if value in body]
        assert not leaked, (path, leaked)
    # the markers really are in the database, and the public side really showed these accounts
    inside = world.supervisor.get(f"/api/v1/notices/{dereg['id']}").get_data(as_text=True)
    assert markers["internal_note"] in inside and markers["amend_note"] in inside
    inside = world.supervisor.get(f"/api/v1/notices/{closing['id']}").get_data(as_text=True)
    assert markers["withdraw_reason"] in inside
    assert "某县卫健" in client.get("/public?q=某县").get_data(as_text=True)
    assert "某县健康App" in [n["account"]["name"] for n in
                          client.get("/api/v1/public/notices").get_json()["items"]]
    private = admin.get(f"/api/v1/accounts/{wechat['id']}").get_data(as_text=True)
    assert markers["staff_phone"] in private and markers["verified_subject"] in private
    assert seen > 10_000
