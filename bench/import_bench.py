"""Benchmark the inventory import on PostgreSQL against bare INSERTs of the same rows.

    .venv/bin/python bench/import_bench.py [N] [--repeat R] [--format both|csv|xlsx]

It builds a fresh schema through the migrations, creates N/10 units, generates
an inventory of N accounts (each unit on all ten platforms, with staff, office and a historical
filing date and reference), and measures, in the same run:

* baseline: the same N accounts inserted as one bare executemany INSERT into the accounts table
  (no validation, no events, filings or audit) and committed;
* import: registry.importer.import_inventory on the CSV (and the XLSX) file, from bytes to commit:
  reading, every check, accounts, opening events, filings and N hash-chained audit entries.

It prints seconds, rows/s and import/baseline: machines are noisy, the ratio much less so. The
best of --repeat runs is reported. PostgreSQL is $BENCH_DATABASE_URL (its public schema is
dropped!) or a throwaway server started with tests/services.py. Not part of the test suite or CI.
"""
import argparse
import csv
import io
import logging
import os
import platform
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from sqlalchemy import delete, insert, text  # noqa: E402

from govmedia import create_app  # noqa: E402
from govmedia.extensions import db  # noqa: E402
from services import bench_database  # noqa: E402

HEADERS = ["主办单位", "平台", "账号名称", "账号ID", "认证主体", "开设日期", "管理科室", "管理人员",
           "备案日期", "备案编号"]
PLATFORM_LABELS = ["微信公众号", "微博", "抖音", "快手", "今日头条", "哔哩哔哩", "小红书", "移动客户端",
                   "小程序", "其他"]
PLATFORM_CODES = ["wechat", "weibo", "douyin", "kuaishou", "toutiao", "bilibili", "xiaohongshu",
                  "app", "miniprogram", "other"]


def inventory(n: int) -> list[dict]:
    rows = []
    start = date(2022, 1, 3)
    for k in range(n):
        unit = k // 10
        opened = start + timedelta(days=(k * 7) % 1000)
        rows.append({
            "unit": f"某县第{unit:05d}号单位", "platform": k % 10,
            "name": f"某县第{unit:05d}号单位发布", "handle": f"bench-{k:07d}",
            "opened_on": opened, "office": "办公室信息科",
            "staff": "张三/13800000000/管理员；李四/13900000000/运营",
            "filed_on": opened + timedelta(days=3), "reference": f"GX-{k:07d}"})
    return rows


def csv_file(rows) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    for r in rows:
        writer.writerow([r["unit"], PLATFORM_LABELS[r["platform"]], r["name"], r["handle"],
                         r["unit"], r["opened_on"].isoformat(), r["office"], r["staff"],
                         r["filed_on"].isoformat(), r["reference"]])
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_file(rows) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("账号清单")
    sheet.append(HEADERS)
    for r in rows:
        sheet.append([r["unit"], PLATFORM_LABELS[r["platform"]], r["name"], r["handle"],
                      r["unit"], r["opened_on"], r["office"], r["staff"], r["filed_on"],
                      r["reference"]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


class LastRecord(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.message = ""

    def emit(self, record):
        if record.getMessage().startswith("import "):
            self.message = record.getMessage()


def reset_registry():
    from govmedia.models import AuditEntry
    from registry.models import Account, AccountEvent, Filing

    for model in (Filing, AccountEvent, Account, AuditEntry):
        db.session.execute(delete(model))
    db.session.commit()


def prepare(url: str, rows) -> None:
    from flask_migrate import upgrade

    from govmedia.auth import hash_password
    from govmedia.models import User
    from registry.models import Unit

    db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    db.session.commit()
    upgrade()
    db.session.add(User(username="bench-admin", password_hash=hash_password("Bench-pass-1"),
                        roles=["admin"], active=True, session_version=1))
    units = sorted({r["unit"] for r in rows})
    db.session.execute(insert(Unit), [{"name": name, "contacts": []} for name in units])
    db.session.commit()


def baseline(rows) -> float:
    """The same accounts as one bare executemany INSERT, committed; then removed again."""
    from govmedia.types import utcnow
    from registry.models import Account, Unit

    unit_ids = dict(db.session.execute(text("SELECT name, id FROM units")).all())
    now = utcnow()
    values = [{"unit_id": unit_ids[r["unit"]], "platform": PLATFORM_CODES[r["platform"]],
               "name": r["name"], "handle": r["handle"], "status": "active",
               "opened_on": r["opened_on"], "verified_subject": r["unit"], "office": r["office"],
               "staff": [{"name": "张三", "phone": "13800000000", "platform_role": "admin"},
                         {"name": "李四", "phone": "13900000000", "platform_role": "operator"}],
               "created_at": now, "updated_at": now} for r in rows]
    del Unit
    table = Account.__table__
    started = time.perf_counter()
    with db.engine.begin() as connection:
        connection.execute(table.insert(), values)
    elapsed = time.perf_counter() - started
    with db.engine.begin() as connection:
        connection.execute(table.delete())
    return elapsed


def run_import(content: bytes, filename: str, n: int, log: LastRecord) -> float:
    from sqlalchemy import select

    from govmedia.models import User
    from registry.importer import import_inventory

    actor = db.session.scalar(select(User).where(User.username == "bench-admin"))
    started = time.perf_counter()
    result = import_inventory(actor, filename, content)
    elapsed = time.perf_counter() - started
    if result.errors or result.created != n:
        raise SystemExit(f"import failed: {result.errors[:5]} created={result.created}")
    return elapsed


def bench_backend(name: str, url: str, n: int, repeat: int, formats: list[str]) -> list[dict]:
    # No REDIS_URL: the embedded Redis (the import itself enqueues nothing).
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "IMPORT_MAX_ROWS": max(n, 50_000),
                      "IMPORT_MAX_BYTES": 200 * 1024 * 1024})
    log = LastRecord()
    app.logger.addHandler(log)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    rows = inventory(n)
    files = {"csv": csv_file(rows)}
    if "xlsx" in formats:
        files["xlsx"] = xlsx_file(rows)
    results = []
    with app.app_context():
        prepare(url, rows)
        base = min(baseline(rows) for _ in range(repeat))
        for fmt in formats:
            times = []
            for _ in range(repeat):
                reset_registry()
                from govmedia.holidays import forget_calendar

                forget_calendar()
                times.append(run_import(files[fmt], f"bench.{fmt}", n, log))
            best = min(times)
            results.append({"backend": name, "format": fmt, "rows": n, "bytes": len(files[fmt]),
                            "import": best, "baseline": base, "phases": log.message})
        db.session.remove()
        db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=10_000, help="rows (default 10000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; best is kept")
    parser.add_argument("--format", choices=["both", "csv", "xlsx"], default="both")
    args = parser.parse_args()
    formats = ["csv", "xlsx"] if args.format == "both" else [args.format]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs (nproc), Python "
          f"{platform.python_version()}, {platform.system()} {platform.release()}")
    results = []
    service = None
    try:
        url, service = bench_database(Path(tempfile.mkdtemp(prefix="govmedia-bench-")))
        results += bench_backend("postgresql", url, args.n, args.repeat, formats)
    finally:
        if service is not None:
            service.stop()
    print()
    print(f"{'backend':<11} {'format':<6} {'rows':>6} {'file':>8} {'import s':>9} {'rows/s':>8} "
          f"{'baseline s':>10} {'ratio':>6}")
    for r in results:
        print(f"{r['backend']:<11} {r['format']:<6} {r['rows']:>6} {r['bytes'] / 1048576:>6.2f}MB "
              f"{r['import']:>9.2f} {r['rows'] / r['import']:>8.0f} {r['baseline']:>10.3f} "
              f"{r['import'] / r['baseline']:>6.1f}")
    print()
    for r in results:
        print(f"{r['backend']}/{r['format']}: {r['phases']}")


if __name__ == "__main__":
    main()
