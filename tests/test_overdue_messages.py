"""Overdue messages from the public (issue 14): the reply deadline in working days across the
2025 National Day holidays, the dashboard's counts per unit and account, the daily reminder
told once per message, the inbox filter, the inspection moment (监测时间点) at two instants,
scoped to the caller's subtree, as a page, as files and in the API, and the overdue messages
per account in the quarterly report."""
import csv
import io
from datetime import date, datetime, timedelta

import pytest
from conftest import PASSWORD, account_body, make_user
from openpyxl import load_workbook
from sqlalchemy import func, insert, select

from govmedia.extensions import db
from govmedia.models import Notification, NotificationMute, User
from govmedia.types import SHANGHAI
from interaction.models import Message
from interaction.overdue import overdue_reminders
from interaction.services import store_message
from interaction.wechat_callback import Incoming
from registry.models import Account
from registry.posts import record_post
from registry.supervision import jobs
from registry.supervision.inspection import inspection

# Received on Tuesday 30 September 2025, 10:00 Beijing. 1-8 October are the National Day
# holidays and Saturday 11 October a make-up working day, so the 5 working days after the
# message (its own day not counted) are 9, 10, 11, 13 and 14 October: due on the 14th,
# overdue from the 15th. Worked out here by hand, not by the product's calendar.
RECEIVED = datetime(2025, 9, 30, 10, 0, tzinfo=SHANGHAI)
DUE = date(2025, 10, 14)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def tree(world, admin_api, login):
    """A city with two counties (X, Y); each county has a WeChat account; a supervisor held at
    county X; unit A (world) has one account too. Every account opened on 1 September 2025."""
    city = admin_api.post("/api/v1/units", {"name": "某市人民政府办公室"}).get_json()
    x = admin_api.post("/api/v1/units", {"name": "甲县人民政府办公室",
                                         "parent_id": city["id"]}).get_json()
    y = admin_api.post("/api/v1/units", {"name": "乙县人民政府办公室",
                                         "parent_id": city["id"]}).get_json()
    make_user("sponsor_x", ["sponsor"], x["id"])
    make_user("sup_x", ["supervisor"], x["id"])

    def open_account(unit_id, handle, name):
        r = admin_api.post("/api/v1/accounts", account_body(unit_id, handle=handle, name=name,
                                                            opened_on="2025-09-01"))
        assert r.status_code == 201, r.get_json()
        return r.get_json()["id"]

    class Tree:
        units = {"x": x["id"], "y": y["id"], "a": world.unit_a["id"]}
        accounts = {"x": open_account(x["id"], "gh_0000000000a1", "甲县发布"),
                    "y": open_account(y["id"], "gh_0000000000b2", "乙县发布"),
                    "a": open_account(world.unit_a["id"], "gh_0000000000c3", "某县政务")}
        supervisor_x = login("sup_x")
        supervisor = world.supervisor

    return Tree


def message(account_id, msg_id, received=RECEIVED, sender="oSender00001") -> Message:
    account = db.session.get(Account, account_id)
    assert store_message(account, Incoming(msg_id=msg_id, sender=sender, kind="text",
                                           text="请问办事指南在哪里", received_at=received))
    db.session.commit()
    return db.session.scalar(select(Message).where(Message.platform_msg_id == msg_id))


def browser(app, username):
    client = app.test_client()
    assert client.post("/login", data={"username": username,
                                       "password": PASSWORD}).status_code == 302
    return client


def test_the_reply_deadline_skips_the_holidays_and_counts_the_make_up_day(tree):
    m = message(tree.accounts["x"], "9001")
    assert m.reply_due_on == DUE and not m.due_provisional


def test_dashboard_counts_overdue_messages_per_unit_and_account(tree, app):
    message(tree.accounts["x"], "9001")
    message(tree.accounts["x"], "9002", sender="oSender00002")
    message(tree.accounts["y"], "9003")
    answered = message(tree.accounts["y"], "9004", sender="oSender00004")
    answered.replied_at = at(2025, 10, 10, 9, 0)
    db.session.commit()
    summary = tree.supervisor.get("/api/v1/supervision/summary", as_of="2025-10-14").get_json()
    assert summary["overdue_messages"] == 0        # the deadline day itself is still in time
    summary = tree.supervisor.get("/api/v1/supervision/summary", as_of="2025-10-15",
                                  limit=100).get_json()
    assert summary["overdue_messages"] == 3
    per_unit = {u["unit_id"]: u["overdue_messages"] for u in summary["units"]}
    assert per_unit[tree.units["x"]] == 2 and per_unit[tree.units["y"]] == 1
    assert per_unit[tree.units["a"]] == 0
    page = browser(app, "supervisor").get("/supervision?as_of=2025-10-15").get_data(as_text=True)
    assert 'id="overdue-message-accounts"' in page and "逾期留言" in page
    table = page.split('id="overdue-message-accounts"')[1].split("</table>")[0]
    assert table.index("甲县发布") < table.index("乙县发布")   # most first
    assert f"account_id={tree.accounts['x']}\">2</a>" in table.replace("&amp;", "&")
    # The county supervisor sees its county only.
    scoped = browser(app, "sup_x").get("/supervision?as_of=2025-10-15").get_data(as_text=True)
    table = scoped.split('id="overdue-message-accounts"')[1].split("</table>")[0]
    assert "甲县发布" in table and "乙县发布" not in table


def test_the_overdue_reminder_is_sent_once_per_message_to_the_accounts_unit(tree, app):
    m = message(tree.accounts["x"], "9001")
    jobs.create_notifications(date(2025, 10, 14))
    kinds = select(Notification).where(Notification.kind == "message_overdue")
    assert db.session.scalars(kinds).all() == []           # not overdue yet on the 14th
    jobs.create_notifications(date(2025, 10, 15))
    [note] = db.session.scalars(kinds).all()
    sponsor_x = db.session.scalar(select(User).where(User.username == "sponsor_x"))
    assert note.user_id == sponsor_x.id and note.unit_id == tree.units["x"] and note.key == f"message_overdue:{m.id}"
    assert "甲县发布" in note.text and "2025-10-14" in note.text
    assert note.link.endswith(f"#message-{m.id}")
    assert jobs.create_notifications(date(2025, 10, 15)) == 0   # the second run: nothing new
    jobs.create_notifications(date(2025, 10, 16))               # nor the next day's
    assert len(db.session.scalars(kinds).all()) == 1


def test_the_overdue_reminder_can_be_turned_off_on_the_profile_page(tree, login):
    from govmedia.notify import KINDS
    assert "message_overdue" in KINDS
    sponsor = login("sponsor_x")
    assert sponsor.put("/api/v1/me/notification-settings",
                       {"off": ["message_overdue"]}).status_code in (200, 204)
    assert db.session.scalars(select(NotificationMute.kind)).all() == ["message_overdue"]
    message(tree.accounts["x"], "9001")
    jobs.create_notifications(date(2025, 10, 15))
    assert db.session.scalars(select(Notification).where(
        Notification.kind == "message_overdue")).all() == []


def test_the_inbox_filters_overdue_messages(tree, app):
    message(tree.accounts["x"], "9001")
    fresh = message(tree.accounts["x"], "9002", received=at(2025, 10, 14, 9, 0),
                    sender="oSender00002")
    page = browser(app, "sponsor_x").get("/inbox?status=overdue&as_of=2025-10-15")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "已逾期" in text
    assert text.count('class="card message"') == 1 and f'id="message-{fresh.id}"' not in text


def test_the_inspection_moment_lists_an_account_at_one_instant_and_not_at_another(tree, app):
    x, y, a = tree.accounts["x"], tree.accounts["y"], tree.accounts["a"]
    for account_id in (x, y, a):     # every account updated on 1 October 2025, 12:00
        record_post(account_id, at(2025, 10, 1, 12, 0), "国庆节假期安排", "https://example.gov.cn/1",
                    "manual")
    db.session.commit()
    message(x, "9001")                # due 14 October

    def failing(moment, actor):
        return {r["account_id"]: r for r in inspection(actor, moment)}

    sup = db.session.scalar(select(User).where(User.username == "supervisor"))
    # 14 October 23:00: posted 13 days before, the message still in time: everyone passes.
    assert failing(at(2025, 10, 14, 23, 0), sup) == {}
    # 15 October 00:30: the message is past its deadline; the update is still within 14 days.
    rows = failing(at(2025, 10, 15, 0, 30), sup)
    assert set(rows) == {x}
    assert rows[x]["fails_interaction"] and not rows[x]["fails_updates"]
    assert rows[x]["overdue_messages"] == 1 and rows[x]["oldest_overdue_at"] == RECEIVED
    # 15 October 12:30: more than 14 days since the update: all three fail on updates.
    rows = failing(at(2025, 10, 15, 12, 30), sup)
    assert set(rows) == {x, y, a} and all(r["fails_updates"] for r in rows.values())
    assert rows[y]["last_post_title"] == "国庆节假期安排"
    # Answered on 16 October: at the 17th the message no longer counts; before it, it did.
    db.session.get(Message, db.session.scalar(select(Message.id))).replied_at = \
        at(2025, 10, 16, 9, 0)
    record_post(x, at(2025, 10, 16, 10, 0), "新的动态", None, "manual")
    db.session.commit()
    assert set(failing(at(2025, 10, 17, 9, 0), sup)) == {y, a}
    assert set(failing(at(2025, 10, 15, 12, 30), sup)) == {x, y, a}


def test_the_inspection_page_and_files_keep_to_the_callers_subtree(tree, app, login):
    message(tree.accounts["x"], "9001")
    message(tree.accounts["y"], "9002")
    county = browser(app, "sup_x")
    page = county.get("/supervision/inspection?moment=2025-10-15T09:00")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'data-account-id="{tree.accounts["x"]}"' in text
    assert f'data-account-id="{tree.accounts["y"]}"' not in text   # the sibling county
    assert county.get(f"/supervision/inspection?moment=2025-10-15T09:00"
                      f"&unit_id={tree.units['y']}").status_code == 403
    body = county.get("/supervision/inspection.csv?moment=2025-10-15T09:00")
    rows = list(csv.reader(io.StringIO(body.get_data().decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["甲县发布"]
    book = load_workbook(io.BytesIO(county.get(
        "/supervision/inspection.xlsx?moment=2025-10-15T09:00").get_data()))
    sheet = book.active
    assert sheet.cell(row=4, column=1).value == "甲县发布" and sheet.cell(row=5, column=1).value is None
    everyone = browser(app, "supervisor").get("/supervision/inspection?moment=2025-10-15T09:00")
    assert f'data-account-id="{tree.accounts["y"]}"' in everyone.get_data(as_text=True)
    assert browser(app, "sponsor_x").get("/supervision/inspection").status_code == 403
    bad = county.get("/supervision/inspection?moment=yesterday")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_data(as_text=True)
    assert county.get("/supervision/inspection.csv?moment=yesterday").status_code == 400


def test_the_inspection_moment_api_gives_the_evidence_within_the_callers_subtree(tree, login):
    x, y, a = tree.accounts["x"], tree.accounts["y"], tree.accounts["a"]
    record_post(x, at(2025, 10, 1, 12, 0), "国庆节假期安排", "https://example.gov.cn/1", "manual")
    record_post(y, at(2025, 9, 20, 8, 0), "秋季开学", None, "manual")
    db.session.commit()
    first = message(x, "9001")                                         # due 14 October
    second = message(x, "9002", received=at(2025, 10, 2, 8, 15), sender="oSender00002")
    message(x, "9003", received=at(2025, 10, 15, 8, 0), sender="oSender00003")  # not yet due

    # 15 October 09:00 Beijing, given as UTC: x fails on interaction (two messages), y on
    # updates (nothing since 20 September), a on updates (no post at all).
    body = tree.supervisor.get("/api/v1/supervision/inspection",
                               moment="2025-10-15T01:00:00Z").get_json()
    assert body["moment"] == "2025-10-15T09:00:00+08:00" and body["window_days"] == 14
    items = {i["account_id"]: i for i in body["items"]}
    assert set(items) == {x, y, a} and body["total"] == 3
    assert body["counts"] == {"updates": 2, "interaction": 1}
    assert items[x]["findings"] == ["interaction"]
    assert items[x]["last_post"] == {"title": "国庆节假期安排",
                                     "published_at": "2025-10-01T12:00:00+08:00",
                                     "url": "https://example.gov.cn/1"}
    assert items[x]["overdue_messages"] == 2
    assert items[x]["oldest_overdue_at"] == "2025-09-30T10:00:00+08:00"
    assert items[x]["messages"] == [
        {"id": first.id, "received_at": "2025-09-30T10:00:00+08:00", "reply_due_on": "2025-10-14"},
        {"id": second.id, "received_at": "2025-10-02T08:15:00+08:00",
         "reply_due_on": second.reply_due_on.isoformat()}]
    assert second.reply_due_on < date(2025, 10, 15)
    assert items[y]["findings"] == ["updates"] and items[y]["messages"] == []
    assert items[y]["last_post"]["title"] == "秋季开学" and items[y]["last_post"]["url"] is None
    assert items[a]["last_post"] is None and items[a]["unit_name"]
    # The same instant with an offset, and with a "+" the query string turned into a space.
    for moment in ("2025-10-15T09:00+08:00", "2025-10-15T09:00:00 08:00", "2025-10-15T09:00",
                   "2025-10-15 09:00:00+08:00", "2025-10-15T02:00:00+01:00"):
        again = tree.supervisor.get("/api/v1/supervision/inspection", moment=moment).get_json()
        assert again["moment"] == "2025-10-15T09:00:00+08:00", moment
        assert {i["account_id"] for i in again["items"]} == {x, y, a}
    # One page at a time, the total unchanged.
    page = tree.supervisor.get("/api/v1/supervision/inspection", moment="2025-10-15T09:00",
                               limit=1, offset=1).get_json()
    assert page["total"] == 3 and len(page["items"]) == 1
    assert page["items"][0]["account_id"] == body["items"][1]["account_id"]

    # The county supervisor: its county only; the sibling county is refused.
    county = tree.supervisor_x.get("/api/v1/supervision/inspection",
                                   moment="2025-10-15T09:00:00+08:00").get_json()
    assert [i["account_id"] for i in county["items"]] == [x]
    assert tree.supervisor_x.get("/api/v1/supervision/inspection", moment="2025-10-15T09:00",
                                 unit_id=tree.units["y"]).status_code == 403
    assert login("sponsor_x").get("/api/v1/supervision/inspection").status_code == 403


@pytest.mark.parametrize("moment", ["yesterday", "2025-10-15", "2025-13-01T09:00",
                                    "2025-10-15T25:00", "2025-10-15T09:00+25:00",
                                    "1800-01-01T00:00+08:00"])
def test_a_bad_inspection_moment_is_400_invalid_naming_the_field(tree, moment):
    response = tree.supervisor.get("/api/v1/supervision/inspection", moment=moment)
    assert response.status_code == 400, moment
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and set(error["fields"]) == {"moment"}
    assert "监测时间点" in error["message"]      # Chinese by default


# (account, received, reply deadline worked out by hand, replied or None). 2025: 1-8 October
# are holidays, 11 October a make-up working day; 1 September is a Monday.
REPORT_MESSAGES = [
    ("x", at(2025, 9, 30, 10, 0), date(2025, 10, 14), None),                      # unanswered
    ("x", at(2025, 9, 30, 10, 0), date(2025, 10, 14), at(2025, 10, 13, 9, 0)),    # in time
    ("x", at(2025, 9, 30, 10, 0), date(2025, 10, 14), at(2025, 10, 20, 9, 0)),    # late
    ("x", at(2025, 9, 30, 10, 0), date(2025, 10, 14), at(2025, 10, 14, 23, 0)),   # deadline day
    ("x", at(2025, 9, 30, 10, 0), date(2025, 10, 14), at(2025, 10, 15, 9, 0)),    # 9 h late
    ("y", at(2025, 9, 1, 10, 0), date(2025, 9, 8), at(2025, 10, 3, 9, 0)),        # late into Q4
    ("y", at(2025, 9, 1, 10, 0), date(2025, 9, 8), at(2025, 9, 25, 9, 0)),        # late in Q3
    ("y", at(2025, 12, 22, 10, 0), date(2025, 12, 29), None),                     # due 29 Dec
    ("y", at(2025, 12, 29, 10, 0), date(2026, 1, 6), None),                       # due next year
]


def expected_overdue(account, start: date, as_of: date) -> tuple[int, int]:
    """(past the deadline at some time of the period, of those unanswered at its end), from
    REPORT_MESSAGES by the plain rule: a message is late from the midnight after its deadline
    day until its reply."""
    begin, finish = at(start.year, start.month, start.day), at(as_of.year, as_of.month,
                                                               as_of.day) + timedelta(days=1)
    overdue = unanswered = 0
    for who, _received, due, replied in REPORT_MESSAGES:
        late_from = at(due.year, due.month, due.day) + timedelta(days=1)
        if who != account or late_from >= finish:
            continue
        if replied is not None and (replied < late_from or replied <= begin):
            continue
        overdue += 1
        unanswered += replied is None or replied >= finish
    return overdue, unanswered


def test_the_quarterly_report_counts_each_accounts_overdue_messages(tree):
    for n, (who, received, due, replied) in enumerate(REPORT_MESSAGES):
        m = message(tree.accounts[who], f"77{n:02d}", received=received, sender=f"oSender7{n}")
        assert m.reply_due_on == due, (n, m.reply_due_on)
        m.replied_at = replied
    db.session.commit()
    cases = {(2025, 4, None): {"x": (3, 1), "y": (2, 1), "a": (0, 0)},
             (2025, 4, "2025-12-29"): {"x": (3, 1), "y": (1, 0), "a": (0, 0)},
             (2025, 3, None): {"x": (0, 0), "y": (2, 1), "a": (0, 0)}}
    for (year, quarter, as_of), by_hand in cases.items():
        body = {"year": year, "quarter": quarter, **({"as_of": as_of} if as_of else {})}
        created = tree.supervisor.post("/api/v1/supervision/reports", body)
        assert created.status_code == 201, created.get_json()
        report = tree.supervisor.get(f"/api/v1/supervision/reports/{created.get_json()['id']}")
        rows = {r["account_id"]: r for r in report.get_json()["rows"]}
        start = date(year, 3 * quarter - 2, 1)
        day = date.fromisoformat(report.get_json()["as_of"])
        for who, counts in by_hand.items():
            assert expected_overdue(who, start, day) == counts, (year, quarter, who)
            row = rows[tree.accounts[who]]
            assert (row["overdue_messages"], row["overdue_unanswered"]) == counts, \
                (year, quarter, as_of, who)
            assert ("条网民留言超过答复期限" in row["findings"]) == (counts[0] > 0)
        assert created.get_json()["totals"]["overdue_messages"] == sum(
            c[0] for c in by_hand.values())
    x_row = rows[tree.accounts["x"]]    # the last report, Q3: y's two late replies
    assert x_row["overdue_messages"] == 0
    assert "2 条网民留言超过答复期限（1 条仍未答复）" in rows[tree.accounts["y"]]["findings"]

    # The XLSX and the page carry the two columns.
    report_id = created.get_json()["id"]
    sheet = load_workbook(io.BytesIO(tree.supervisor.get(
        f"/api/v1/supervision/reports/{report_id}/xlsx").get_data()))["季度检查"]
    headings = [c.value for c in sheet[3]]
    col = headings.index("超过答复期限的留言")
    assert headings[col + 1] == "其中仍未答复"
    by_name = {r[3].value: (r[col].value, r[col + 1].value) for r in sheet.iter_rows(min_row=4)}
    assert by_name["乙县发布"] == (2, 1) and by_name["甲县发布"] == (0, 0)


def test_the_daily_run_reads_only_the_messages_that_fell_due_since_its_last_run(tree):
    """Province scale: yesterday's overdue messages are not read again every day (each was
    told once already); after days without a run, what fell due meanwhile is told."""
    x = tree.accounts["x"]
    received = at(2025, 9, 1, 10, 0)            # a Monday: due Monday 8 September
    db.session.execute(insert(Message), [
        {"unit_id": tree.units["x"], "account_id": x, "platform": "wechat",
         "platform_msg_id": f"old{n}", "sender": f"oOld{n}", "kind": "text", "text": "旧留言",
         "received_at": received, "reply_due_on": date(2025, 9, 8), "due_provisional": False,
         "created_at": received} for n in range(300)])
    db.session.commit()
    notes = select(func.count()).select_from(Notification).where(
        Notification.kind == "message_overdue")     # for sponsor_x, the unit's one sponsor
    jobs.create_notifications(date(2025, 9, 9))
    assert db.session.scalar(notes) == 300          # overdue from the 9th
    jobs.create_notifications(date(2025, 9, 10))
    assert db.session.scalar(notes) == 300

    def read(day):
        return overdue_reminders(day, jobs.messages_since(day))

    assert len(overdue_reminders(date(2025, 9, 11))) == 300     # every overdue message
    assert read(date(2025, 9, 11)) == []                        # what the run reads
    jobs.create_notifications(date(2025, 9, 11))
    # No run from 12 September to 14 October (every worker down): the message due on the 14th
    # is told on the 15th all the same, and the run after it reads that one only.
    fresh = message(x, "9001")
    jobs.create_notifications(date(2025, 10, 15))
    assert db.session.scalar(notes) == 301
    assert [key for _u, key, *_rest in read(date(2025, 10, 16))] == [f"message_overdue:{fresh.id}"]
    jobs.create_notifications(date(2025, 10, 16))
    assert read(date(2025, 10, 17)) == []
    assert db.session.scalar(notes) == 301
    # A run for an earlier day (remind --date) does not move the last run back.
    jobs.create_notifications(date(2025, 9, 20))
    assert jobs.messages_since(date(2025, 10, 17)) == date(2025, 10, 15)
