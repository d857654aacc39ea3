"""Bulk inventory import: formats, every rule per row, all or nothing, the job, pages and API."""
import csv
import io
from datetime import date, datetime

import flask_babel
import openpyxl
import pytest
from conftest import PASSWORD
from sqlalchemy import func, select
from stdnum.cn import uscc

from govmedia import audit
from govmedia.extensions import db
from govmedia.models import AuditEntry, User
from registry import importer
from registry.importer import reading as import_reading
from registry.importer import run as import_run
from registry.models import Account, AccountChange, AccountEvent, Filing, ImportJob, Unit

HEADERS = ["主办单位", "统一社会信用代码", "平台", "账号名称", "账号ID", "认证主体", "认证到期日",
           "开设日期", "管理科室", "管理人员", "备案日期", "备案编号"]
UNIT_A = "某县人民政府办公室"
UNIT_B = "某县教育局"


def code_for(base17: str) -> str:
    return base17 + uscc.calc_check_digit(base17)


CODE_NEW = code_for("11450000MB0000001")


@pytest.fixture(autouse=True)
def imports_blueprint(app):
    """Until registry/__init__.py registers the blueprint, register it here (before any request)."""
    if "imports" not in app.blueprints:
        from registry.importer.views import bp

        app.register_blueprint(bp)
    return app


def row(unit=UNIT_A, platform="微信公众号", name="某县发布", handle="gh_0123456789ab",
        opened="2024-03-15", **extra) -> dict:
    values = {"主办单位": unit, "平台": platform, "账号名称": name, "账号ID": handle,
              "开设日期": opened, "管理科室": "办公室信息科",
              "管理人员": "张三/13800000000/管理员；李四/13900000000/运营"}
    values.update(extra)
    return values


def csv_bytes(rows, headers=HEADERS, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for values in rows:
        writer.writerow([values.get(h, "") for h in headers])
    return buffer.getvalue().encode(encoding)


def counts() -> dict:
    return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Account, AccountEvent, Filing, AuditEntry, Unit)}


def user(username) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def run(username, content, filename="inventory.csv", **kwargs):
    return importer.import_inventory(user(username), filename, content, **kwargs)


def errors_at(result) -> set:
    return {(e["row"], e["column"]) for e in result.errors}


def page_login(client, username):
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.data[:500]


# --- formats ---------------------------------------------------------------------------------

def test_template_xlsx_round_trip(client, world):
    page_login(client, "admin")
    response = client.get("/imports/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]] == HEADERS
    assert len(workbook.worksheets) == 2 and "wechat" in str(list(
        workbook.worksheets[1].iter_rows(values_only=True)))
    # fill two rows below the example row, with real Excel date cells and a numeric Weibo UID
    sheet.append([UNIT_A, None, "微信公众号", "某县发布", "gh_0123456789ab", UNIT_A,
                  datetime(2026, 3, 14), datetime(2024, 3, 15), "办公室信息科",
                  "张三/13800000000/管理员", datetime(2024, 3, 19), "GX-2024-0001"])
    sheet.append([UNIT_A, None, "微博", "某县发布", 1234567890, None, None, date(2024, 4, 1),
                  None, None, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    before = counts()
    result = run("admin", buffer.getvalue(), "盘点.xlsx")
    assert result.errors == []
    assert result.created == 2          # the unchanged example row is skipped
    accounts = db.session.scalars(select(Account).order_by(Account.id)).all()
    assert [(a.platform, a.handle) for a in accounts] == [("wechat", "gh_0123456789ab"),
                                                          ("weibo", "1234567890")]
    assert accounts[0].verification_expires_on == date(2026, 3, 14)
    assert accounts[0].staff == [{"name": "张三", "phone": "13800000000", "platform_role": "admin"}]
    after = counts()
    assert after["accounts"] - before["accounts"] == 2
    assert after["filings"] - before["filings"] == 2
    assert after["audit_entries"] - before["audit_entries"] == 2
    assert audit.verify().ok


def test_template_csv_opens_in_excel_and_imports_when_filled(client, world):
    page_login(client, "admin")
    response = client.get("/imports/template.csv")
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf")       # BOM: Excel picks UTF-8
    text = response.data.decode("utf-8-sig")
    assert text.splitlines()[0].split(",") == HEADERS
    filled = response.data + csv_bytes([row()], encoding="utf-8").split(b"\r\n", 1)[1]
    result = run("admin", filled)
    assert result.errors == [] and result.created == 1


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk"])
def test_csv_encodings(world, encoding):
    content = csv_bytes([row(), row(platform="抖音", handle="MS4wLjABAAAA", name="某县发布")],
                        encoding=encoding)
    result = run("admin", content)
    assert result.errors == [] and result.created == 2
    account = db.session.scalar(select(Account).where(Account.platform == "douyin"))
    assert account.name == "某县发布" and account.unit.name == UNIT_A
    assert account.staff[1] == {"name": "李四", "phone": "13900000000", "platform_role": "operator"}


def test_headers_found_by_name_in_any_order_with_english_aliases_and_a_title_row(world):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["某县政务新媒体台账（2024年）"])
    writer.writerow([])
    writer.writerow(["序号", "handle", "platform", "Account Name", "opened_on", "unit"])
    writer.writerow(["1", "gh_aaaaaaaaaaaa", "wechat", "某县发布", "2024年3月5日", UNIT_A])
    writer.writerow(["2", "2001", "B站", "某县发布", "2024/3/6", UNIT_A])
    result = run("admin", buffer.getvalue().encode("gb18030"))
    assert result.errors == [] and result.created == 2
    assert {a.platform for a in db.session.scalars(select(Account))} == {"wechat", "bilibili"}


def test_file_level_problems_are_named_and_nothing_is_written(world):
    before = counts()
    cases = {
        "old.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
        "empty.csv": b"",
        "broken.xlsx": b"not a zip at all",
        "noheader.csv": "甲,乙,丙\n1,2,3\n".encode("utf-8"),
    }
    for filename, content in cases.items():
        result = run("admin", content, filename)
        assert result.created == 0 and len(result.errors) == 1, filename
        assert result.errors[0]["message"], filename
    missing = run("admin", csv_bytes([row()], headers=["主办单位", "平台", "账号名称", "开设日期"]))
    assert (1, "账号ID") in errors_at(missing)
    assert "缺少必填列" in missing.errors[0]["message"]
    assert counts() == before


# --- every row validated ------------------------------------------------------------------------

def test_broken_rows_report_every_error_with_row_and_column_and_write_nothing(world):
    # a valid row, so that "nothing written" is meaningful
    rows = [
        row(),                                                                # 2 ok
        row(platform="脸书", handle="x1"),                                     # 3 platform
        row(platform="微博", handle="1001", opened="2024-02-30"),              # 4 bad date
        row(platform="抖音", handle="", name=""),                              # 5 two required
        row(unit="", platform="快手", handle="k1"),                            # 6 unit required
        row(platform="小红书", handle="r1", 备案日期="2024-03-01"),            # 7 filed before opened
        row(platform="今日头条", handle="t1", 备案编号="GX-1"),                 # 8 reference w/o date
        row(platform="移动客户端", handle="com.x", 管理人员="13800000000/管理员"),  # 9 staff
        row(unit="不存在的单位", platform="小程序", handle="m1"),               # 10 unit not found
        row(platform="其他", handle="o1", 统一社会信用代码="123"),              # 11 bad code
        row(platform="其他", handle="o2", name="名" * 201),                    # 12 too long
        row(platform="其他", handle="o3", 认证到期日="明年"),                   # 13 bad date
    ]
    content = csv_bytes(rows, encoding="gbk")
    content += "某县人民政府办公室,,其他,多一列,o4,,,2024-03-15,科,张三,,,多余,内容\r\n".encode("gbk")  # 14
    before = counts()
    result = run("admin", content)
    assert result.created == 0
    found = errors_at(result)
    expected = {(3, "平台"), (4, "开设日期"), (5, "账号ID"), (5, "账号名称"), (6, "主办单位"),
                (7, "备案日期"), (8, "备案日期"), (9, "管理人员"), (10, "主办单位"),
                (11, "统一社会信用代码"), (12, "账号名称"), (13, "认证到期日"), (14, None)}
    assert expected <= found, result.errors
    assert not any(e["row"] == 2 for e in result.errors)
    assert all(e["message"] for e in result.errors)
    by_row = {e["row"]: e for e in result.errors}
    assert "脸书" in by_row[3]["message"] and by_row[10]["code"] == "unit_not_found"
    assert by_row[14]["code"] == "broken_row"
    assert counts() == before


def test_handle_duplicated_in_file_and_clashing_with_the_registry(world):
    world.sponsor_a.post("/api/v1/accounts", {
        "unit_id": world.unit_a["id"], "platform": "weibo", "name": "某县发布",
        "handle": "5550001", "opened_on": "2024-01-02"})
    before = counts()
    result = run("admin", csv_bytes([
        row(unit=UNIT_B, handle="gh_dup000000001"),
        row(unit=UNIT_A, handle="gh_dup000000001"),                     # 3: same handle as row 2
        row(unit=UNIT_B, platform="微博", handle="5550001"),            # 4: registered already
        row(unit=UNIT_B, platform="抖音", handle="5550001"),            # other platform: fine
    ]))
    assert {(e["row"], e["column"], e["code"]) for e in result.errors} == {
        (3, "账号ID", "handle_taken"), (4, "账号ID", "handle_taken")}
    assert "第 2 行" in result.errors[0]["message"]
    assert counts() == before


def test_a_deregistered_handle_may_be_imported_again(world):
    created = world.sponsor_a.post("/api/v1/accounts", {
        "unit_id": world.unit_a["id"], "platform": "weibo", "name": "某县发布",
        "handle": "5550002", "opened_on": "2024-01-02"}).get_json()
    db.session.execute(Account.__table__.update().where(Account.id == created["id"])
                       .values(status="deregistered"))
    db.session.commit()
    result = run("admin", csv_bytes([row(platform="微博", handle="5550002")]))
    assert result.errors == [] and result.created == 1


def test_one_account_per_platform_within_the_file_against_the_registry_and_the_exception(world):
    world.sponsor_b.post("/api/v1/accounts", {
        "unit_id": world.unit_b["id"], "platform": "douyin", "name": "某县教育",
        "handle": "dy-b-1", "opened_on": "2024-01-02"})
    rows = [
        row(handle="gh_a00000000001"),
        row(handle="gh_a00000000002"),                                    # 3: second wechat of A
        row(unit=UNIT_B, platform="抖音", handle="dy-b-2"),               # 4: B has one in the DB
        row(platform="其他", handle="o-1"), row(platform="其他", handle="o-2"),  # never for other
    ]
    result = run("admin", csv_bytes(rows))
    assert {(e["row"], e["column"], e["code"]) for e in result.errors} == {
        (3, "平台", "one_account_per_platform"), (4, "平台", "one_account_per_platform")}
    # a supervisor's exception lets both through
    for unit, platform in ((world.unit_a, "wechat"), (world.unit_b, "douyin")):
        response = world.supervisor.post(f"/api/v1/units/{unit['id']}/platform-exceptions",
                                          {"platform": platform, "reason": "分设服务号与订阅号"})
        assert response.status_code == 201, response.get_json()
    result = run("admin", csv_bytes(rows))
    assert result.errors == [] and result.created == 5


def test_unit_not_found_unless_create_units(world):
    rows = [row(unit="某县新设局", handle="gh_new000000001", 统一社会信用代码=CODE_NEW),
            row(unit="某县新设局", platform="微博", handle="77001"),
            row(unit="", platform="抖音", handle="dy-new", 统一社会信用代码=CODE_NEW)]
    refused = run("admin", csv_bytes(rows))
    assert [e["code"] for e in refused.errors] == ["unit_not_found"] * 3
    assert "勾选" in refused.errors[0]["message"]
    # the checkbox is named by the very words the import page shows beside it
    assert "勾选“自动新建尚不存在的单位”" in refused.errors[0]["message"]
    before = counts()
    result = run("admin", csv_bytes(rows), create_units=True)
    assert result.errors == [] and result.created == 3 and result.units_created == 1
    unit = db.session.scalar(select(Unit).where(Unit.name == "某县新设局"))
    assert unit.code == CODE_NEW and len(unit.accounts) == 3
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id.desc())
                                 .limit(4)).all()
    assert sorted(actions) == ["account.open"] * 3 + ["unit.create"]
    assert counts()["units"] == before["units"] + 1
    # a bad code is refused even when creating units
    bad = run("admin", csv_bytes([row(unit="另一个局", handle="gh_x", 统一社会信用代码="1145000")]),
              create_units=True)
    assert errors_at(bad) == {(2, "统一社会信用代码")}


def test_code_and_name_that_disagree_are_refused(world):
    admin = world.admin
    code = code_for("12450100MB1234567")
    assert admin.post("/api/v1/units", {"name": "某县财政局", "code": code}).status_code == 201
    result = run("admin", csv_bytes([row(unit=UNIT_A, 统一社会信用代码=code)]))
    assert [e["code"] for e in result.errors] == ["unit_mismatch"]
    by_code = run("admin", csv_bytes([row(unit="", 统一社会信用代码=code)]))
    assert by_code.errors == [] and by_code.created == 1


def test_sponsor_imports_only_its_own_unit(world):
    before = counts()
    result = run("sponsor_a", csv_bytes([row(unit=UNIT_A), row(unit=UNIT_B, handle="gh_b")]))
    assert [(e["row"], e["column"], e["code"]) for e in result.errors] == [
        (3, "主办单位", "forbidden")]
    assert counts() == before
    # without a unit column a sponsor's rows are its own unit's
    headers = [h for h in HEADERS if h not in ("主办单位", "统一社会信用代码")]
    result = run("sponsor_a", csv_bytes([row(unit=None)], headers=headers))
    assert result.errors == [] and result.created == 1
    assert db.session.scalar(select(Account.unit_id)) == world.unit_a["id"]
    with pytest.raises(Exception) as refused:
        run("sponsor_a", csv_bytes([row()]), create_units=True)
    assert getattr(refused.value, "code", None) == "forbidden"


def test_historical_filing_lands_filed_not_overdue(world):
    result = run("admin", csv_bytes([
        row(handle="gh_hist00000001", opened="2024-03-15", 备案日期="2024-03-20",
            备案编号="GX-2024-0001"),
        row(platform="微博", handle="88001", opened="2024-03-15", 备案日期="2024-04-30",
            备案编号="GX-2024-0002"),
        row(platform="抖音", handle="dy-hist", opened="2024-03-15"),
    ]))
    assert result.errors == [] and result.created == 3
    filings = world.admin.get("/api/v1/filings", as_of="2026-11-20").get_json()["items"]
    by_ref = {f["reference"]: f for f in filings}
    assert by_ref["GX-2024-0001"]["status"] == "filed"
    assert by_ref["GX-2024-0001"]["filed_on"] == "2024-03-20"
    assert by_ref["GX-2024-0001"]["due_on"] == "2024-03-22"
    assert by_ref["GX-2024-0002"]["status"] == "late"
    assert by_ref[None]["status"] == "overdue"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "account.open")
                               .order_by(AuditEntry.id)).first()
    assert entry.after["filing_reference"] == "GX-2024-0001" and entry.after["import"]["row"] == 2
    assert entry.username == "admin"


def test_excel_scientific_notation_handles_are_refused(world):
    result = run("admin", csv_bytes([row(platform="微博", handle="1.23457E+12")]))
    assert errors_at(result) == {(2, "账号ID")}
    workbook = openpyxl.Workbook()
    workbook.active.append(HEADERS)
    workbook.active.append([UNIT_A, None, "微博", "某县发布", 1.2345678901234567e17, None, None,
                            "2024-03-15"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = run("admin", buffer.getvalue(), "a.xlsx")
    assert errors_at(result) == {(2, "账号ID")}


def test_staff_format_is_forgiving():
    assert importer.parse_staff("张三/13800000000/管理员；李四 13900000000 运维\n王五") == [
        {"name": "张三", "phone": "13800000000", "platform_role": "admin"},
        {"name": "李四", "phone": "13900000000", "platform_role": "operator"},
        {"name": "王五", "phone": "", "platform_role": "operator"}]
    assert [p["name"] for p in importer.parse_staff("张三、李四/王五")] == ["张三", "李四", "王五"]
    assert importer.parse_staff("姓名：赵六 电话：0771-1234567 角色：管理员") == [
        {"name": "赵六", "phone": "0771-1234567", "platform_role": "admin"}]
    for bad in ("13800000000/管理员", "张三/13800000000/13900000000"):
        with pytest.raises(ValueError):
            importer.parse_staff(bad)


def test_dates_in_the_ways_offices_write_them():
    for value in ("2024-03-05", "2024/3/5", "2024年3月5日", "2024.3.5", "20240305",
                  "2024-03-05 00:00:00", datetime(2024, 3, 5, 0, 0), date(2024, 3, 5), 45356):
        assert importer.parse_date(value) == date(2024, 3, 5), value
    for bad in ("2024-02-30", "3/5/2024", "去年"):
        with pytest.raises(ValueError):
            importer.parse_date(bad)


def test_progress_is_reported_about_every_200_rows(world):
    rows = [row(platform="其他", handle=f"o-{i}") for i in range(450)]
    calls = []
    result = run("admin", csv_bytes(rows), progress=lambda done, total: calls.append((done, total)))
    assert result.created == 450
    assert calls[0] == (0, 450) and calls[-1] == (450, 450)
    assert (200, 450) in calls and (400, 450) in calls


# --- all or nothing ------------------------------------------------------------------------

def test_a_failure_part_way_through_the_write_leaves_nothing(world, monkeypatch):
    def broken(items, user=None):
        # the accounts, events and filings are already inserted when the audit is written
        assert db.session.scalar(select(func.count()).select_from(Account)) > 0
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "record_many", broken)
    before = counts()
    with pytest.raises(RuntimeError):
        run("admin", csv_bytes([row(), row(platform="微博", handle="99001")]))
    assert counts() == before


def test_a_failing_job_records_failed_and_writes_nothing(world, monkeypatch):
    def broken(items, user=None):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "record_many", broken)
    before = counts()
    response = upload_api(world.admin, csv_bytes([row()]))
    assert response.status_code == 202
    job = world.admin.get(response.get_json()["status_url"]).get_json()
    assert job["status"] == "failed"
    assert "disk full" in job["message"] and job["errors"][0]["row"] is None
    assert counts() == before
    assert db.session.get(ImportJob, job["id"]).content is None


# --- the job through the page and the API ------------------------------------------------------

def upload_api(api, content, filename="inventory.csv", **fields):
    data = {"file": (io.BytesIO(content), filename)} | fields
    return api.client.post("/api/v1/imports", data=data, content_type="multipart/form-data",
                           headers={"Authorization": f"Bearer {api.token}"})


def test_job_via_the_api(world):
    response = upload_api(world.sponsor_a, csv_bytes([row(), row(platform="微博", handle="1")]))
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert set(body) >= {"id", "status", "status_url"}
    status = world.sponsor_a.get(body["status_url"]).get_json()
    assert status["status"] == "done"
    assert status["created_count"] == 2 and status["errors"] == []
    assert status["processed_rows"] == status["total_rows"] == 2
    # another unit's sponsor may not look at it
    assert world.sponsor_b.get(body["status_url"]).status_code == 403
    assert world.admin.get(body["status_url"]).status_code == 200


def test_job_via_the_api_with_errors(world):
    response = upload_api(world.admin, csv_bytes([row(), row(platform="脸书")]))
    status = world.admin.get(response.get_json()["status_url"]).get_json()
    assert status["status"] == "failed" and status["created_count"] == 0
    assert [(e["row"], e["column"]) for e in status["errors"]] == [(3, "平台")]
    assert counts()["accounts"] == 0


def test_api_refusals(world):
    assert upload_api(world.supervisor, csv_bytes([row()])).status_code == 403
    no_file = world.admin.client.post("/api/v1/imports", data={},
                                      content_type="multipart/form-data",
                                      headers={"Authorization": f"Bearer {world.admin.token}"})
    assert no_file.status_code == 400 and no_file.get_json()["error"]["fields"]["file"]
    xls = upload_api(world.admin, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "a.xls")
    assert xls.status_code == 400 and ".xls" in xls.get_json()["error"]["message"]
    forbidden = upload_api(world.sponsor_a, csv_bytes([row()]), create_units="true")
    assert forbidden.status_code == 403
    assert world.admin.get("/api/v1/imports/999").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_job_via_the_page(client, world):
    page_login(client, "sponsor_a")
    form = client.get("/imports/new")
    assert form.status_code == 200 and b'type="file"' in form.data
    assert b"create_units" not in form.data          # units are created by admins only
    response = client.post("/imports", data={"file": (io.BytesIO(csv_bytes([row()])), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and b"import-result" in page.data
    assert b"<script>" not in page.data and b"style=" not in page.data
    job_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    status = client.get(f"/imports/{job_id}.json").get_json()
    assert status["status"] == "done" and status["created_count"] == 1


def test_failed_job_page_lists_the_errors(client, world):
    page_login(client, "admin")
    response = client.post("/imports", data={
        "file": (io.BytesIO(csv_bytes([row(), row(platform="脸书", handle="z")])), "a.csv"),
        "create_units": "1"}, content_type="multipart/form-data")
    page = client.get(response.headers["Location"])
    assert b'id="import-errors"' in page.data and "脸书".encode() in page.data
    assert counts()["accounts"] == 0


def test_running_job_page_polls_with_a_progress_bar(client, world):
    page_login(client, "admin")
    job = ImportJob(filename="a.csv", content=b"x", status="running", total_rows=1000,
                    processed_rows=400, created_by_id=user("admin").id, errors=[], options={})
    db.session.add(job)
    db.session.commit()
    page = client.get(f"/imports/{job.id}")
    assert b"<progress" in page.data and b'value="400"' in page.data
    assert b"js/live.js" in page.data and f'data-live="/imports/{job.id}.json"'.encode() in page.data
    assert "已检查 400 / 1000 行".encode() in page.data
    live = client.get(f"/imports/{job.id}.json")
    assert live.headers["Cache-Control"] == "no-store"
    body = live.get_json()
    assert body["processed_rows"] == 400 and "html" not in body
    assert body["label"] == "正在检查各行…" and "400" in body["count_label"]
    job.status, job.finished_at = "failed", None
    job.errors = [{"row": 3, "column": "平台", "code": "invalid", "message": "平台“脸书”未知"}]
    db.session.commit()
    body = client.get(f"/imports/{job.id}.json").get_json()
    assert 'id="import-result"' in body["html"] and "平台“脸书”未知" in body["html"]


def test_a_job_commits_its_progress_while_validating(world, monkeypatch):
    """Another connection (the polling page) sees the rows counted before the import ends."""
    monkeypatch.setattr(import_run, "PROGRESS_SECONDS", 0)
    job = ImportJob(filename="a.csv", content=csv_bytes(
        [row(platform="其他", handle=f"o-{i}") for i in range(450)]), status="queued",
        created_by_id=user("admin").id, errors=[], options={})
    db.session.add(job)
    db.session.commit()
    seen = []
    parse_row = import_run.parse_row

    def watching(number, *args):
        if number == 302:   # the 301st data row: 200 rows were reported before it
            with db.engine.connect() as other:
                seen.append(other.execute(select(ImportJob.status, ImportJob.processed_rows,
                                                 ImportJob.total_rows)
                                          .where(ImportJob.id == job.id)).one())
                assert other.scalar(select(func.count()).select_from(Account)) == 0
        return parse_row(number, *args)

    monkeypatch.setattr(import_run, "parse_row", watching)
    assert importer.run_import_job(job.id) == "done"
    assert [tuple(s) for s in seen] == [("running", 200, 450)]
    db.session.expire_all()
    done = db.session.get(ImportJob, job.id)
    assert (done.status, done.processed_rows, done.created_count) == ("done", 450, 450)
    assert done.content is None and done.finished_at is not None


def test_an_xlsx_that_unpacks_to_too_much_is_refused(app, world, monkeypatch):
    workbook = openpyxl.Workbook()
    workbook.active.append(HEADERS)
    for i in range(300):
        workbook.active.append([UNIT_A, None, "其他", "某县发布", f"o-{i}", None, None,
                                "2024-03-15"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    content = buffer.getvalue()
    app.config["IMPORT_MAX_BYTES"] = len(content) + 1     # the file itself is within the limit
    monkeypatch.setattr(import_reading, "UNPACKED_FACTOR", 1)  # but unpacked it is not
    result = run("admin", content, "a.xlsx")
    assert result.created == 0 and result.errors[0]["code"] == "too_large"
    assert "解压" in result.errors[0]["message"]
    monkeypatch.setattr(import_reading, "UNPACKED_FACTOR", 20)
    assert run("admin", content, "a.xlsx").created == 300
    # 300 rows go in through COPY (govmedia.bulk): the entries read back hash to the chain,
    # and every new account is in the supervision outbox.
    assert audit.verify().ok
    assert db.session.scalar(select(func.count()).select_from(AccountChange)) >= 300


def test_a_job_runs_once(world):
    job = ImportJob(filename="a.csv", content=csv_bytes([row()]), status="queued",
                    created_by_id=user("admin").id, errors=[], options={})
    db.session.add(job)
    db.session.commit()
    assert importer.run_import_job(job.id) == "done"
    assert importer.run_import_job(job.id) is None
    assert counts()["accounts"] == 1


# --- oversized uploads ---------------------------------------------------------------------------

def test_oversized_upload_is_refused_with_a_clear_error(app, client, world):
    app.config["MAX_CONTENT_LENGTH"] = 2000
    big = csv_bytes([row(platform="其他", handle=f"o-{i}") for i in range(100)])
    assert len(big) > 2000
    response = upload_api(world.admin, big)
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "too_large" and "MB" in error["message"]
    page_login(client, "admin")
    page = client.post("/imports", data={"file": (io.BytesIO(big), "a.csv")},
                       content_type="multipart/form-data")
    assert page.status_code == 413 and "过大".encode() in page.data
    app.config["WTF_CSRF_ENABLED"] = True           # the CSRF check reads the body first
    page = client.post("/imports", data={"file": (io.BytesIO(big), "a.csv")},
                       content_type="multipart/form-data")
    assert page.status_code == 413 and "过大".encode() in page.data
    app.config["WTF_CSRF_ENABLED"] = False
    # the import's own limit, below the request limit
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.config["IMPORT_MAX_BYTES"] = 1000
    response = upload_api(world.admin, big)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0
    assert counts()["accounts"] == 0


def test_too_many_rows(app, world):
    app.config["IMPORT_MAX_ROWS"] = 5
    result = run("admin", csv_bytes([row(platform="其他", handle=f"o-{i}") for i in range(6)]))
    assert result.created == 0 and "5" in result.errors[0]["message"]


def test_csrf_applies_to_the_page_but_not_the_api(app, client, world):
    app.config["WTF_CSRF_ENABLED"] = True
    page_login_csrf = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert page_login_csrf.status_code in (200, 400)   # refused without a token
    assert upload_api(world.admin, csv_bytes([row()])).status_code == 202


def test_openapi_lists_the_import_endpoints(client):
    from openapi_spec_validator import validate

    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    paths = spec["paths"]
    assert "post" in paths["/api/v1/imports"]
    assert "get" in paths["/api/v1/imports/{job_id}"]


def test_problems_speak_the_users_language(app, world):
    """Chinese by default (the job runs in Chinese too); English for a user who chose it."""
    bad = csv_bytes([row(platform="脸书", handle="x1", opened="2024-02-30")])
    chinese = {e["column"]: e["message"] for e in run("admin", bad).errors}
    assert chinese["开设日期"] == "“2024-02-30”不是有效日期"
    assert chinese["平台"].startswith("无法识别的平台“脸书”，可填：微信公众号、微博")
    with app.test_request_context("/?lang=en"):
        flask_babel.refresh()   # the app context outlives the request: forget the locale
        english = {e["column"]: e["message"] for e in run("admin", bad).errors}
        assert run("admin", b"", "empty.csv").errors[0]["message"] == "The file is empty"
    assert english["开设日期"] == "“2024-02-30” is not a valid date"
    assert english["平台"].startswith("Unknown platform “脸书”: write 微信公众号、微博")


def test_a_job_writes_its_problems_in_the_uploaders_language(client, world):
    """The job runs in a worker (Chinese by default); its problems are for the person who
    uploaded, in the language they had chosen on the page."""
    page_login(client, "admin")
    client.get("/lang/en")
    response = client.post("/imports", data={
        "file": (io.BytesIO(csv_bytes([row(platform="脸书", handle="z", opened="2024-02-30")])),
                 "a.csv"), "create_units": "1"}, content_type="multipart/form-data")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "is not a valid date" in page and "Unknown platform “脸书”" in page
    assert "不是有效日期" not in page
    client.get("/lang/zh")
    response = client.post("/imports", data={
        "file": (io.BytesIO(csv_bytes([row(platform="脸书", handle="z")])), "b.csv"),
        "create_units": "1"}, content_type="multipart/form-data")
    assert "无法识别的平台“脸书”" in client.get(response.headers["Location"]).get_data(as_text=True)
