"""Supervision work: rectification orders, post-log import, quarterly reports kept as generated,
daily reminders (in product and by e-mail through a real local SMTP server), and the pages."""
import csv
import io
from datetime import date

import pytest
from conftest import PASSWORD, account_body
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from govmedia.extensions import db
from govmedia.holidays import load_calendar
from govmedia.types import today_shanghai
from registry.models import Post
from registry.supervision import jobs
from registry.supervision.models import NotificationAddress, UpdateGap


def register(api, unit_id, platform="wechat", handle="gh_0123456789ab", name="某县发布",
             opened_on="2026-10-01", **extra):
    r = api.post("/api/v1/accounts", account_body(unit_id, platform=platform, handle=handle,
                                                  name=name, opened_on=opened_on, **extra))
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


# --- rectification ---------------------------------------------------------------------------------

def test_rectification_lifecycle(world):
    a = world.unit_a["id"]
    account = register(world.sponsor_a, a)
    r = world.supervisor.post("/api/v1/supervision/rectifications",
                              {"unit_id": a, "account_id": account, "kind": "dormant",
                               "finding": "账号超过 10 天未更新"})
    assert r.status_code == 201, r.get_json()
    order = r.get_json()
    expected, _prov = load_calendar().add_workdays(today_shanghai(), 5)
    assert order["deadline"] == expected.isoformat() and order["status"] == "open"
    assert world.sponsor_a.post("/api/v1/supervision/rectifications",
                                {"unit_id": a, "kind": "other", "finding": "x"}).status_code == 403
    oid = order["id"]
    # another unit's sponsor may neither see nor answer it
    assert world.sponsor_b.get(f"/api/v1/supervision/rectifications/{oid}").status_code == 403
    assert world.sponsor_b.post(f"/api/v1/supervision/rectifications/{oid}/answer",
                                {"answer": "x"}).status_code == 403
    r = world.sponsor_a.post(f"/api/v1/supervision/rectifications/{oid}/answer",
                             {"answer": "已恢复每周更新"})
    assert r.status_code == 200 and r.get_json()["status"] == "answered"
    assert world.sponsor_a.post(f"/api/v1/supervision/rectifications/{oid}/close",
                                {}).status_code == 403
    r = world.supervisor.post(f"/api/v1/supervision/rectifications/{oid}/reopen",
                              {"note": "仍未更新", "deadline": "2026-01-05"})
    assert r.get_json()["status"] == "open" and r.get_json()["deadline"] == "2026-01-05"
    # overdue: on the dashboard figures and the list
    summary = world.supervisor.get("/api/v1/supervision/summary").get_json()
    assert summary["overdue_rectifications"] == 1
    listed = world.sponsor_a.get("/api/v1/supervision/rectifications", overdue="1").get_json()
    assert listed["total"] == 1 and listed["items"][0]["overdue"] is True
    r = world.supervisor.post(f"/api/v1/supervision/rectifications/{oid}/close", {"note": "已整改"})
    assert r.get_json()["status"] == "closed" and r.get_json()["overdue"] is False
    assert world.supervisor.post(f"/api/v1/supervision/rectifications/{oid}/close",
                                 {}).get_json()["error"]["code"] == "invalid_transition"
    r = world.supervisor.post("/api/v1/supervision/rectifications",
                              {"unit_id": a, "kind": "nonsense", "finding": "x"})
    assert r.status_code == 400 and "kind" in r.get_json()["error"]["fields"]


# --- post logs ---------------------------------------------------------------------------------------

def _upload(api, content: bytes, filename="log.csv", account_id=None):
    data = {"file": (io.BytesIO(content), filename)}
    if account_id is not None:
        data["account_id"] = str(account_id)
    return api.client.post("/api/v1/supervision/post-logs", data=data,
                           headers={"Authorization": f"Bearer {api.token}"},
                           content_type="multipart/form-data")


def test_post_log_import_all_or_nothing(world):
    a = world.unit_a["id"]
    wechat = register(world.sponsor_a, a, "wechat", "gh_0123456789ab")
    weibo = register(world.sponsor_a, a, "weibo", "1234567890")
    other = register(world.sponsor_b, world.unit_b["id"], "wechat", "gh_bbbbbbbbbbbb")
    bad = ("账号ID,发布时间,标题,链接\n"
           "gh_0123456789ab,2026-11-10 01:00,第一条,https://mp.weixin.qq.com/s/1\n"
           "gh_0123456789ab,2026/11/31 9:00,日期错,\n"
           "gh_unknown,2026-11-10 09:00,无此账号,\n"
           "gh_bbbbbbbbbbbb,2026-11-10 09:00,别的单位,\n"
           "1234567890,2026-11-11 10:00,,\n").encode("gbk")
    r = _upload(world.sponsor_a, bad)
    assert r.status_code == 400
    errors = r.get_json()["error"]["errors"]
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [
        (3, "发布时间", "invalid"), (4, "账号ID", "unknown_account"), (5, "账号ID", "forbidden"),
        (6, "标题", "required")]
    assert db.session.scalar(select(Post.id).limit(1)) is None   # nothing written

    good = ("账号ID,发布时间,标题,链接\n"
            "gh_0123456789ab,2026-11-10 01:00,第一条,https://mp.weixin.qq.com/s/1\n"
            "gh_0123456789ab,2026-10-20T12:00:00+08:00,更早一条,\n"
            "1234567890,2026年11月11日 10:00,微博一条,\n").encode("utf-8-sig")
    r = _upload(world.sponsor_a, good)
    assert r.status_code == 201 and r.get_json() == {"created": 3, "skipped": 0, "accounts": 2}
    assert _upload(world.sponsor_a, good).get_json() == {"created": 0, "skipped": 3, "accounts": 0}
    account = world.sponsor_a.get(f"/api/v1/accounts/{wechat}", as_of="2026-11-20").get_json()
    # 01:00 Beijing on 11-10 counts for 11-10
    assert account["last_update_on"] == "2026-11-10" and account["days_since_update"] == 10
    gaps = db.session.execute(select(UpdateGap.start_day, UpdateGap.end_day)
                              .where(UpdateGap.account_id == wechat)).all()
    assert sorted(gaps, key=str) == [(date(2026, 10, 20), date(2026, 11, 10)),
                                     (date(2026, 11, 10), None)]
    dormant = world.supervisor.get("/api/v1/supervision/dormant", as_of="2026-11-20",
                                   include="warning").get_json()
    assert {(i["account_id"], i["band"], i["days_since_update"]) for i in dormant["items"]} == {
        (wechat, "warning", 10), (weibo, "warning", 9), (other, "dormant", 50)}

    # XLSX, one account chosen for the whole file, an Excel datetime cell
    wb = Workbook()
    ws = wb.active
    ws.append(["序号", "标题", "发布时间"])
    from datetime import datetime
    ws.append([1, "表格里的一条", datetime(2026, 11, 19, 0, 30)])
    buffer = io.BytesIO()
    wb.save(buffer)
    r = _upload(world.sponsor_a, buffer.getvalue(), "导出.xlsx", account_id=weibo)
    assert r.status_code == 201 and r.get_json()["created"] == 1
    account = world.sponsor_a.get(f"/api/v1/accounts/{weibo}", as_of="2026-11-20").get_json()
    assert account["last_update_on"] == "2026-11-19"
    r = _upload(world.sponsor_a, "名称,备注\n甲,乙\n".encode(), "x.csv")
    assert r.status_code == 400 and r.get_json()["error"]["errors"][0]["code"] == "no_header"


# --- quarterly report --------------------------------------------------------------------------------

def test_quarterly_report_is_kept_as_generated(world):
    a = world.unit_a["id"]
    account = register(world.sponsor_a, a, opened_on="2026-07-01")
    for when in ("2026-07-02T09:00:00+08:00", "2026-08-20T09:00:00+08:00",
                 "2026-09-25T09:00:00+08:00"):
        world.sponsor_a.post(f"/api/v1/accounts/{account}/posts",
                             {"published_at": when, "title": "t"})
    assert world.sponsor_a.post("/api/v1/supervision/reports",
                                {"year": 2026, "quarter": 3}).status_code == 403
    r = world.supervisor.post("/api/v1/supervision/reports", {"year": 2026, "quarter": 3})
    assert r.status_code == 201, r.get_json()
    report = r.get_json()
    assert report["as_of"] == "2026-09-30"
    rows = world.supervisor.get(f"/api/v1/supervision/reports/{report['id']}").get_json()["rows"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["updates"], row["longest_gap_days"], row["filings_overdue"]) == (3, 49, 1)
    assert "本季度最长 49 天未更新" in row["findings"] and "逾期未办" in row["findings"]
    # later data does not change the kept report
    world.sponsor_a.post(f"/api/v1/accounts/{account}/posts",
                         {"published_at": "2026-08-01T09:00:00+08:00", "title": "补录"})
    again = world.supervisor.get(f"/api/v1/supervision/reports/{report['id']}").get_json()
    assert again["rows"] == rows
    fresh = world.supervisor.post("/api/v1/supervision/reports", {"year": 2026, "quarter": 3})
    fresh_rows = world.supervisor.get(
        f"/api/v1/supervision/reports/{fresh.get_json()['id']}").get_json()["rows"]
    assert fresh_rows[0]["updates"] == 4

    x = world.supervisor.get(f"/api/v1/supervision/reports/{report['id']}/xlsx")
    assert x.status_code == 200 and "spreadsheetml" in x.headers["Content-Type"]
    wb = load_workbook(io.BytesIO(x.data))
    ws = wb["季度检查"]
    # a title row and the period row above the headings; dates are date cells, not text
    assert ws["A1"].value == "2026年第3季度政务新媒体检查情况"
    assert ws["A2"].value == "检查期间：2026-07-01 至 2026-09-30（截至 2026-09-30）"
    assert ws["A3"].value == "主办单位" and ws["F3"].value == "本季度更新次数"
    assert ws.max_row == 4 and ws["F4"].value == 3 and ws["G4"].value == 49
    assert ws["H4"].is_date and ws["H4"].value.date() == date(2026, 9, 25)
    assert ws["H4"].number_format == "yyyy-mm-dd"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert ws.print_title_rows == "$3:$3"
    c = world.supervisor.get(f"/api/v1/supervision/reports/{report['id']}/csv")
    assert c.data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(c.data.decode("utf-8-sig"))))
    assert table[0][0] == "主办单位" and table[1][5] == "3"


def test_report_neutralises_formulas(world):
    a = world.unit_a["id"]
    register(world.sponsor_a, a, name="=HYPERLINK(\"x\")", opened_on="2026-07-01")
    r = world.supervisor.post("/api/v1/supervision/reports", {"year": 2026, "quarter": 3})
    x = world.supervisor.get(f"/api/v1/supervision/reports/{r.get_json()['id']}/xlsx")
    ws = load_workbook(io.BytesIO(x.data))["季度检查"]
    assert ws["D4"].value.startswith("'=")


def test_the_longest_gap_of_a_quarter_is_counted_within_the_quarter(world):
    """An account silent for over a year: "本季度最长 N 天" counts the quarter's days only."""
    a = world.unit_a["id"]
    account = register(world.sponsor_a, a, opened_on="2025-06-01")
    world.sponsor_a.post(f"/api/v1/accounts/{account}/posts",
                         {"published_at": "2025-06-02T09:00:00+08:00", "title": "t"})
    world.sponsor_a.post(f"/api/v1/accounts/{account}/posts",
                         {"published_at": "2026-08-20T09:00:00+08:00", "title": "t"})
    r = world.supervisor.post("/api/v1/supervision/reports", {"year": 2026, "quarter": 3})
    row = world.supervisor.get(f"/api/v1/supervision/reports/{r.get_json()['id']}").get_json()[
        "rows"][0]
    # 07-01 .. 08-20 is 50 days; 08-20 .. 09-30 is 41: never the 444 days since 2025-06-02
    assert row["longest_gap_days"] == 50
    assert "本季度最长 50 天未更新" in row["findings"]


# --- reminders ----------------------------------------------------------------------------------------

@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 in a thread; collects the messages."""
    from aiosmtpd.controller import Controller

    class Collect:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    from services import free_port

    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, handler
    controller.stop()


def test_daily_reminders_once_in_product_and_by_email(app, world, smtp_server):
    port, handler = smtp_server
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_FROM="govmedia@example.org")
    a = world.unit_a["id"]
    today = today_shanghai()
    opened = date.fromordinal(today.toordinal() - 30).isoformat()
    register(world.sponsor_a, a, opened_on=opened, filed_on=opened, filing_reference="R1",
                       verification_expires_on=date.fromordinal(today.toordinal() + 10).isoformat())
    from govmedia.models import User
    user = db.session.scalar(select(User).where(User.username == "sponsor_a"))
    db.session.add(NotificationAddress(user_id=user.id, email="sponsor_a@example.org"))
    world.supervisor.post("/api/v1/supervision/rectifications",
                          {"unit_id": a, "kind": "dormant", "finding": "长期未更新",
                           "deadline": today.isoformat()})
    db.session.commit()

    # The order itself was told at once (govmedia.notify, issue 12), e-mailed on its own.
    assert len(handler.messages) == 1 and "长期未更新" in handler.messages[0][1]
    result = jobs.send_daily_reminders()
    assert result["created"] == 3 and result["emailed"] == 1   # dormant, verification, order
    notes = world.sponsor_a.get("/api/v1/notifications").get_json()
    assert notes["unread"] == 4
    kinds = sorted(n["kind"] for n in notes["items"])
    assert kinds == ["dormant", "rectification_due", "rectification_order", "verification"]
    assert all(n["emailed"] for n in notes["items"])
    assert len(handler.messages) == 2
    rcpt, body = handler.messages[1]
    assert rcpt == ["sponsor_a@example.org"] and "govmedia@example.org" in body
    # once only: running again (or twice a day) creates and sends nothing new
    assert jobs.send_daily_reminders() == {"created": 0, "emailed": 0}
    assert len(handler.messages) == 2
    assert world.sponsor_b.get("/api/v1/notifications").get_json()["total"] == 0
    first = notes["items"][0]["id"]
    assert world.sponsor_b.post(f"/api/v1/notifications/{first}/read").status_code == 404
    assert world.sponsor_a.post(f"/api/v1/notifications/{first}/read").get_json()["read"] is True
    assert world.sponsor_a.get("/api/v1/notifications").get_json()["unread"] == 3
    assert "daily_reminders" in app.extensions["govmedia_periodic"]
    job = app.extensions["govmedia_periodic"]["daily_reminders"]
    assert job.function is jobs.send_daily_reminders
    assert job.daily_at.isoformat() == "07:00:00"


# --- pages -------------------------------------------------------------------------------------------

def test_pages_render_for_supervisor_and_sponsor(app, world, client):
    a = world.unit_a["id"]
    register(world.sponsor_a, a)
    jobs.create_notifications()
    for username in ("supervisor", "sponsor_a"):
        client.post("/logout")
        r = client.post("/login", data={"username": username, "password": PASSWORD})
        assert r.status_code in (302, 303)
        for path in ("/supervision", "/supervision?as_of=2026-11-20", "/supervision/dormant?include=warning",
                     "/supervision/duplicates", "/supervision/rectifications", "/notifications"):
            page = client.get(path)
            assert page.status_code == 200, (username, path)
            assert "<script>" not in page.get_data(as_text=True)
        html = client.get("/supervision?as_of=2026-11-20").get_data(as_text=True)
        assert 'id="trend-chart"' in html and "chart.umd.min.js" in html
    assert 'id="notification-badge"' in client.get("/notifications").get_data(as_text=True)
    assert client.get("/supervision/reports").status_code == 403   # sponsors: no reports
    assert client.get("/supervision/post-logs").status_code == 200


def test_inventory_import_keeps_day_totals(world):
    """The inventory import's bulk (Core) path adds the new accounts' band-entry days: the
    totals equal a rebuild and the per-account rule."""
    from govmedia.models import User
    from registry import importer
    from registry.models import Account
    from registry.posts import dormancy
    from registry.supervision import services as sv
    from registry.supervision.models import DayTotal

    headers = ["主办单位", "平台", "账号名称", "账号ID", "开设日期", "管理科室", "管理人员"]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for i, (platform, handle) in enumerate([("微信公众号", "gh_0123456789ab"),
                                            ("新浪微博", "5550001"), ("抖音", "dy_1")]):
        writer.writerow(["某县人民政府办公室", platform, "某县发布", handle,
                         f"2026-10-0{i + 1}", "办公室信息科", "张三/13800000000/管理员"])
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    result = importer.import_inventory(admin, "inventory.csv",
                                       buffer.getvalue().encode("utf-8-sig"))
    assert result.errors == [] and result.created == 3
    db.session.commit()
    accounts = db.session.scalars(select(Account)).all()
    for as_of in (date(2026, 10, 9), date(2026, 10, 12), date(2026, 11, 20)):
        states = [dormancy(a, as_of)["band"] for a in accounts]
        assert sv.band_totals([as_of]) == [(states.count("dormant"),
                                            states.count("dormant") + states.count("warning"))]

    def totals():
        return sorted((d.day, d.band, d.dormant, d.posts)
                      for d in db.session.scalars(select(DayTotal)) if d.band or d.dormant)

    before = totals()
    sv.rebuild_all()
    assert totals() == before and before


def test_lists_page_through_the_shared_pager(app, world, client):
    """Orders, reports and reminders: ?page=N on the pages, limit/offset on the API, one count."""
    from govmedia.models import User
    from registry.supervision import reports, services
    from registry.supervision.models import Notification

    a = world.unit_a["id"]
    supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
    sponsor = db.session.scalar(select(User).where(User.username == "sponsor_a"))
    today = today_shanghai()
    # 55 reminders exactly: the 53 orders are not told to the sponsor (turned off, issue 12).
    from govmedia.models import NotificationMute
    db.session.add(NotificationMute(user_id=sponsor.id, kind="rectification_order"))
    for i in range(53):
        services.create_rectification(supervisor, a, "other", f"问题{i}",
                                      deadline=date.fromordinal(today.toordinal() + i))
    reports.generate(supervisor, 2026, 1)
    reports.generate(supervisor, 2026, 2)
    db.session.add_all(Notification(user_id=sponsor.id, unit_id=a, key=f"k{i}", kind="other",
                                    text=f"提醒{i}") for i in range(55))
    db.session.commit()

    listed = world.supervisor.get("/api/v1/supervision/rectifications", limit=5, offset=50)
    body = listed.get_json()
    assert body["total"] == 53
    assert [o["finding"] for o in body["items"]] == ["问题50", "问题51", "问题52"]
    assert world.supervisor.get("/api/v1/supervision/rectifications",
                                limit=501).status_code == 400
    body = world.supervisor.get("/api/v1/supervision/reports", limit=1, offset=1).get_json()
    assert body["total"] == 2 and body["items"][0]["quarter"] == 1
    body = world.sponsor_a.get("/api/v1/notifications", limit=10, offset=50).get_json()
    assert body["total"] == 55 and body["unread"] == 55 and len(body["items"]) == 5
    assert body["items"][-1]["text"] == "提醒0"   # newest first

    client.post("/login", data={"username": "supervisor", "password": PASSWORD})
    first = client.get("/supervision/rectifications").get_data(as_text=True)
    assert "<td>问题0</td>" in first and "<td>问题50</td>" not in first
    assert "第 1 页，共 2 页" in first
    second = client.get("/supervision/rectifications?page=2").get_data(as_text=True)
    assert "<td>问题50</td>" in second and "<td>问题0</td>" not in second
    assert "共 2 条" in client.get("/supervision/reports").get_data(as_text=True)
    assert "2026 Q2" in client.get("/supervision/reports?shown=2").get_data(as_text=True)

    client.post("/logout")
    client.post("/login", data={"username": "sponsor_a", "password": PASSWORD})
    page = client.get("/notifications?page=2").get_data(as_text=True)
    assert "提醒4 <span" in page and "提醒5 <span" not in page
    refused = client.post("/notifications", data={"action": "email", "email": "no-at-sign"},
                          follow_redirects=True).get_data(as_text=True)
    assert "请填写有效的电子邮箱地址" in refused
    assert db.session.get(NotificationAddress, sponsor.id) is None
    client.post("/notifications", data={"action": "email", "email": "a@example.org"})
    assert db.session.get(NotificationAddress, sponsor.id).email == "a@example.org"
    client.post("/notifications", data={"action": "read_all"})
    assert world.sponsor_a.get("/api/v1/notifications").get_json()["unread"] == 0
    client.post("/notifications", data={"action": "email", "email": ""})
    db.session.expire_all()
    assert db.session.get(NotificationAddress, sponsor.id) is None


def test_reminders_read_in_chinese_and_api_messages_follow_the_language(world):
    a = world.unit_a["id"]
    deadline = date.fromordinal(today_shanghai().toordinal() + 1).isoformat()
    order = world.supervisor.post("/api/v1/supervision/rectifications",
                                  {"unit_id": a, "kind": "other", "finding": "栏目长期未更新",
                                   "deadline": deadline}).get_json()
    jobs.create_notifications()
    texts = [n["text"] for n in world.sponsor_a.get("/api/v1/notifications").get_json()["items"]]
    assert texts == [f"整改单 {order['id']} 将于 {deadline} 到期：栏目长期未更新",
                     f"整改单 {order['id']}（期限 {deadline}）：栏目长期未更新"]  # when issued
    r = world.supervisor.get("/api/v1/supervision/trend", weeks=105)
    assert r.status_code == 400 and r.get_json()["error"]["message"] == "weeks 须在 1 到 104 之间"
    r = world.supervisor.client.get("/api/v1/supervision/trend?weeks=0&lang=en",
                                    headers=world.supervisor._headers())
    assert r.get_json()["error"]["message"] == "weeks must be from 1 to 104"
