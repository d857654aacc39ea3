"""Benchmark the inventory import on PostgreSQL against a bare COPY of the same rows.

    .venv/bin/python bench/import_bench.py [N] [--repeat R] [--format both|csv|xlsx]
                                           [--profile FILE]

It builds a fresh schema through the migrations, creates N/10 units, generates an inventory of
N accounts (each unit on all ten platforms, with staff, office and a historical filing date and
reference), and measures, in the same run:

* import: registry.importer.import_inventory on the CSV (and the XLSX) file, from bytes to commit:
  reading, every check, N accounts, N outbox rows, N opening events, N filings and N
  hash-chained audit entries, in one transaction;
* COPY floor: right after each import, the rows it wrote are read back (COPY ... TO STDOUT),
  the five tables emptied, and the very same rows written again as a bare COPY FROM STDIN per
  table in one transaction and committed: what the database itself needs for those rows, with
  the same indexes, constraints and generated columns, and no Python work at all;
* executemany: the N accounts alone as one bare executemany INSERT (the older baseline).

It prints seconds, rows/s, import/floor and the importer's own phases; machines are noisy, the
ratio much less so. The best of --repeat runs is reported (import and floor each). Beside the
seconds it prints CPU seconds (this process's and the PostgreSQL server's, when it runs on this
machine), which other processes' load blurs much less, and the process's RSS before and at the
peak of the import. --profile writes a cProfile of the last import. PostgreSQL is $BENCH_DATABASE_URL (its public schema is
dropped!) or a throwaway server started with tests/services.py. Not part of the test suite or CI.
"""
import argparse
import cProfile
import csv
import io
import logging
import os
import platform
import re
import sys
import tempfile
import threading
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from sqlalchemy import insert, select, text  # noqa: E402

from govmedia import create_app  # noqa: E402
from govmedia.extensions import db  # noqa: E402
from govmedia.holidays import forget_calendar  # noqa: E402
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
            # Every row its own phone numbers: no cell repeats what an earlier row says.
            "staff": f"张三/138{k:08d}/管理员；李四/139{k:08d}/运营",
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
    """The inventory as Excel and WPS write a workbook: the sheet's <dimension> given and its
    text in the shared strings table (openpyxl writes inline strings, which its reader takes
    much longer to read: not what users upload)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "账号清单"
    sheet.append(HEADERS)
    for r in rows:
        sheet.append([r["unit"], PLATFORM_LABELS[r["platform"]], r["name"], r["handle"],
                      r["unit"], r["opened_on"], r["office"], r["staff"], r["filed_on"],
                      r["reference"]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return shared_strings(buffer.getvalue())


INLINE = re.compile(r'<c r="([A-Z]+[0-9]+)" t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>')


def shared_strings(content: bytes) -> bytes:
    strings: dict[str, int] = {}

    def shared(match) -> str:
        index = strings.setdefault(match[2], len(strings))
        return f'<c r="{match[1]}" t="s"><v>{index}</v></c>'

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            data = source.read(name).decode("utf-8")
            if name.startswith("xl/worksheets/"):
                data = INLINE.sub(shared, data)
            elif name == "[Content_Types].xml":
                data = data.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" '
                                    'ContentType="application/vnd.openxmlformats-officedocument.'
                                    'spreadsheetml.sharedStrings+xml"/></Types>')
            elif name == "xl/_rels/workbook.xml.rels":
                data = data.replace("</Relationships>", '<Relationship Id="rIdStrings" Type="'
                                    'http://schemas.openxmlformats.org/officeDocument/2006/'
                                    'relationships/sharedStrings" Target="sharedStrings.xml"/>'
                                    "</Relationships>")
            target.writestr(name, data)
        target.writestr("xl/sharedStrings.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://'
            f'schemas.openxmlformats.org/spreadsheetml/2006/main" uniqueCount="{len(strings)}">'
            + "".join(f"<si><t>{text}</t></si>" for text in strings) + "</sst>"))
    return out.getvalue()


class LastRecord(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.message = ""

    def emit(self, record):
        if record.getMessage().startswith("import "):
            self.message = record.getMessage()


# What an import writes (no units: the bench's units exist), in the order COPY can refill them.
WRITTEN = ("accounts", "account_changes", "account_events", "filings", "audit_entries")


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1048576


class PeakRss(threading.Thread):
    """The largest RSS of this process while it runs (sampled every 20 ms)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.before = self.peak = rss_mb()
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def stop(self) -> tuple[float, float]:
        self.done.set()
        self.join()
        return self.before, max(self.peak, rss_mb())


def server_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL server's processes (backends, WAL writer,
    checkpointer: the postmaster's children), when the server runs on this machine; else 0.
    With the process's own CPU time it gives a figure other agents' load does not blur."""
    try:
        directory = db.session.execute(text("SHOW data_directory")).scalar()
        postmaster = Path(directory, "postmaster.pid").read_text().split()[0]
    except OSError:
        return 0.0
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == postmaster:           # ppid
            total += int(fields[11]) + int(fields[12])   # utime + stime
    return total / os.sysconf("SC_CLK_TCK")


def reset_registry():
    # CASCADE: the tables that refer to accounts (posts, ...) are empty in the bench.
    db.session.execute(text(f"TRUNCATE {', '.join(WRITTEN)} CASCADE"))
    db.session.commit()


def copy_floor() -> tuple[float, float, int]:
    """(seconds, server CPU seconds, rows): the rows the import just wrote, read back and
    written again as one bare COPY per table, in one transaction, committed."""
    data = {}
    with db.engine.connect() as connection:
        with connection.connection.driver_connection.cursor() as cursor:
            for table in WRITTEN:
                buffer = bytearray()
                with cursor.copy(f"COPY {table} TO STDOUT") as copy:
                    for chunk in copy:
                        buffer += chunk
                data[table] = bytes(buffer)
    reset_registry()
    rows = sum(content.count(b"\n") for content in data.values())
    with db.engine.connect() as connection:
        driver = connection.connection.driver_connection
        started, cpu = time.perf_counter(), server_cpu()
        with driver.transaction():
            with driver.cursor() as cursor:
                for table in WRITTEN:
                    with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                        copy.write(data[table])
        elapsed = time.perf_counter() - started
    return elapsed, server_cpu() - cpu, rows


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
               "staff": [{"name": "张三", "phone": f"138{k:08d}", "platform_role": "admin"},
                         {"name": "李四", "phone": f"139{k:08d}", "platform_role": "operator"}],
               "created_at": now, "updated_at": now} for k, r in enumerate(rows)]
    del Unit
    table = Account.__table__
    started = time.perf_counter()
    with db.engine.begin() as connection:
        connection.execute(table.insert(), values)
    elapsed = time.perf_counter() - started
    reset_registry()
    return elapsed


def run_import(content: bytes, filename: str, n: int, log: LastRecord,
               profile=None) -> tuple[float, float, float, tuple]:
    """(seconds, CPU seconds of this process, of the server, (RSS before, peak RSS) in MB)
    from the file's bytes to the commit."""
    from govmedia.models import User
    from registry.importer import import_inventory

    actor = db.session.scalar(select(User).where(User.username == "bench-admin"))
    server = server_cpu()
    memory = PeakRss()
    memory.start()
    started, cpu = time.perf_counter(), time.process_time()
    if profile is not None:
        profile.enable()
    result = import_inventory(actor, filename, content)
    if profile is not None:
        profile.disable()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    server = server_cpu() - server
    rss = memory.stop()
    if result.errors or result.created != n:
        raise SystemExit(f"import failed: {result.errors[:5]} created={result.created}")
    return elapsed, cpu, server, rss


def bench_backend(name: str, url: str, n: int, repeat: int, formats: list[str],
                  profile_path: str | None = None) -> list[dict]:
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
            times, cpus, floors, phases, memory = [], [], [], [], []
            for attempt in range(repeat):
                reset_registry()
                forget_calendar()
                profile = cProfile.Profile() if profile_path and attempt == repeat - 1 else None
                elapsed, cpu, server, rss = run_import(files[fmt], f"bench.{fmt}", n, log,
                                                       profile)
                times.append(elapsed)
                cpus.append((cpu, server))
                memory.append(rss)
                phases.append(log.message)
                if profile is not None:
                    profile.dump_stats(profile_path)
                floor, floor_cpu, written = copy_floor()
                floors.append((floor, floor_cpu))
            best = min(times)
            run = times.index(best)
            results.append({"backend": name, "format": fmt, "rows": n, "bytes": len(files[fmt]),
                            "import": best, "floor": min(f for f, _c in floors),
                            "written": written, "baseline": base, "phases": phases[run],
                            "cpu": cpus[run], "floor_cpu": min(c for _f, c in floors),
                            "rss": max(memory, key=lambda m: m[1] - m[0]),
                            "runs": [(t, f) for t, (f, _c) in zip(times, floors)]})
        db.session.remove()
        db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=10_000, help="rows (default 10000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; best is kept")
    parser.add_argument("--format", choices=["both", "csv", "xlsx"], default="both")
    parser.add_argument("--profile", metavar="FILE", help="cProfile of the last import to FILE")
    args = parser.parse_args()
    formats = ["csv", "xlsx"] if args.format == "both" else [args.format]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs (nproc), Python "
          f"{platform.python_version()}, {platform.system()} {platform.release()}, load "
          + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    results = []
    service = None
    try:
        url, service = bench_database(Path(tempfile.mkdtemp(prefix="govmedia-bench-")))
        results += bench_backend("postgresql", url, args.n, args.repeat, formats, args.profile)
    finally:
        if service is not None:
            service.stop()
    print(f"load after: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    print()
    print(f"{'format':<6} {'rows':>7} {'file':>8} {'import s':>9} {'rows/s':>7} "
          f"{'COPY floor s':>12} {'import/floor':>12} {'executemany s':>13}")
    for r in results:
        print(f"{r['format']:<6} {r['rows']:>7} {r['bytes'] / 1048576:>6.1f}MB "
              f"{r['import']:>9.2f} {r['rows'] / r['import']:>7.0f} "
              f"{r['floor']:>12.2f} {r['import'] / r['floor']:>12.2f} {r['baseline']:>13.2f}")
    print()
    print("CPU seconds (what the load of other processes does not change): import = Python + "
          "PostgreSQL, floor = PostgreSQL")
    for r in results:
        python_cpu, server = r["cpu"]
        print(f"{r['format']:<6} import {python_cpu:.2f} + {server:.2f} = "
              f"{python_cpu + server:.2f}, floor {r['floor_cpu']:.2f}, ratio "
              f"{(python_cpu + server) / r['floor_cpu'] if r['floor_cpu'] else float('nan'):.2f}")
    print()
    for r in results:
        print(f"{r['format']}: the floor COPYs {r['written']:,} rows ({', '.join(WRITTEN)}); "
              "runs (import s, floor s): "
              + ", ".join(f"({i:.2f}, {f:.2f})" for i, f in r["runs"]))
        print(f"{r['format']}: {r['phases']}")
        print(f"{r['format']}: RSS {r['rss'][0]:.0f} MB before the import, {r['rss'][1]:.0f} MB at "
              f"its peak (+{r['rss'][1] - r['rss'][0]:.0f} MB)")


if __name__ == "__main__":
    main()
