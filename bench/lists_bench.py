"""Lists for thousands of rows (issue 12): 10,000 accounts paged, sorted and searched.

    .venv/bin/python bench/lists_bench.py                 # starts a throwaway PostgreSQL
    BENCH_DATABASE_URL=postgresql://... .venv/bin/python bench/lists_bench.py
    BENCH_ACCOUNTS=100000 .venv/bin/python bench/lists_bench.py    # a larger registry

Generates units and accounts with generate_series (names with numbers in them, so natural
order matters: "某县第9…" before "某县第99…"), then times whole requests through the real app
— the accounts page as a supervisor (every unit in sight), the units page, the API list and
the account picker — each a page of 50 rows with its count, beside plain indexed
`SELECT … LIMIT 50` statements on the same table (the floor). The bar: every page < 200 ms.
Never runs in CI.
"""
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "10000"))
UNITS = max(1, ACCOUNTS // 5)
RUNS = 9
BAR_MS = 200


def timed(fn, runs=RUNS):
    fn()  # warm
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def generate(s, text):
    t0 = time.perf_counter()
    s.execute(text("""INSERT INTO units (id, name, contacts, created_at)
        SELECT u, '某县第' || u || '单位', '[]', now() FROM generate_series(1, :n) u"""),
              {"n": UNITS})
    platforms = "ARRAY['wechat','weibo','douyin','kuaishou','toutiao']"
    s.execute(text(f"""INSERT INTO accounts (id, unit_id, platform, name, handle, status,
            opened_on, staff, office, created_at, updated_at)
        SELECT a, (a - 1) / 5 + 1, ({platforms})[(a - 1) % 5 + 1],
               (ARRAY['某县发布','某县教育','某县卫健','某县文旅'])[a % 4 + 1] || '第' || a || '号',
               'h' || a,
               CASE WHEN a % 50 = 0 THEN 'closed' WHEN a % 97 = 0 THEN 'deregistered'
                    ELSE 'active' END,
               current_date - 400 + (a % 30), '[]', '信息科', now(), now()
        FROM generate_series(1, :n) a"""), {"n": ACCOUNTS})
    for table in ("units", "accounts"):
        s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                       f"(SELECT max(id) FROM {table}))"))
    s.execute(text("ANALYZE units; ANALYZE accounts"))
    s.commit()
    return time.perf_counter() - t0


def main():
    from flask_migrate import upgrade
    from sqlalchemy import text

    from govmedia import create_app
    from govmedia.auth import hash_password
    from govmedia.extensions import db
    from govmedia.models import User
    from services import bench_database, start_redis

    tmp = Path(tempfile.mkdtemp(prefix="listsbench-"))
    url, service = bench_database(tmp / "pg")
    redis = start_redis(tmp / "redis")
    app = create_app({"DATABASE_URL": url, "REDIS_URL": redis.url, "TESTING": True,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "bench", "INSTANCE_PATH": str(tmp / "instance")})
    try:
        with app.app_context():
            s = db.session
            s.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            s.commit()
            upgrade(revision="heads")
            generated = generate(s, text)
            s.add(User(username="sup", password_hash=hash_password("Bench-2026"),
                       roles=["supervisor"], active=True, session_version=1))
            s.commit()
            print(f"data: {UNITS} units, {ACCOUNTS} accounts, generated in {generated:.1f} s")

            page = app.test_client()
            page.post("/login", data={"username": "sup", "password": "Bench-2026"})
            api = app.test_client()
            token = api.post("/api/v1/auth/tokens", json={"username": "sup",
                                                          "password": "Bench-2026"})
            bearer = {"Authorization": "Bearer " + token.get_json()["token"]}
            last = (ACCOUNTS + 49) // 50

            def get(path, client=page, headers=None, expect=None):
                def call():
                    r = client.get(path, headers=headers or {})
                    assert r.status_code == 200, (path, r.status_code)
                    if expect:
                        assert expect in r.get_data(as_text=True), (path, expect)
                return call

            def sql(statement):
                return lambda: s.execute(text(statement)).all()

            floors = {
                "floor: SELECT … ORDER BY id LIMIT 50 (primary key)": sql(
                    "SELECT * FROM accounts ORDER BY id LIMIT 50"),
                "floor: SELECT … ORDER BY name LIMIT 50 (ix_accounts_name)": sql(
                    "SELECT * FROM accounts ORDER BY name LIMIT 50"),
                "floor: SELECT … ORDER BY name_sort, id LIMIT 50 (natural)": sql(
                    "SELECT * FROM accounts ORDER BY name_sort, id LIMIT 50"),
                f"floor: SELECT … ORDER BY name_sort, id OFFSET {ACCOUNTS - 50} LIMIT 50": sql(
                    f"SELECT * FROM accounts ORDER BY name_sort, id OFFSET {ACCOUNTS - 50} "
                    "LIMIT 50"),
                "floor: SELECT … WHERE name ILIKE '%第999%' LIMIT 50 (trigram)": sql(
                    "SELECT * FROM accounts WHERE name ILIKE '%第999%' LIMIT 50"),
            }
            cases = {
                "GET /accounts (page 1, by unit)": get("/accounts"),
                "GET /accounts?sort=name (natural order, page 1)": get(
                    "/accounts?sort=name", expect="某县卫健第2号"),
                f"GET /accounts?sort=name&page={last // 2} (middle)": get(
                    f"/accounts?sort=name&page={last // 2}"),
                f"GET /accounts?sort=-name&page={last} (last page)": get(
                    f"/accounts?sort=-name&page={last}"),
                "GET /accounts?sort=opened_on&page=20": get("/accounts?sort=opened_on&page=20"),
                "GET /accounts?q=第999 (search, name)": get("/accounts?q=第999",
                                                           expect="第999号"),
                "GET /accounts?q=h12 (search, handle)": get("/accounts?q=h12"),
                "GET /accounts?q=卫健&sort=name&page=3": get("/accounts?q=卫健&sort=name&page=3"),
                "GET /units?sort=name (natural order)": get("/units?sort=name",
                                                            expect="某县第1单位"),
                "GET /units?q=第19": get("/units?q=第19"),
                "GET /api/v1/accounts?sort=name&offset=5000": get(
                    "/api/v1/accounts?sort=name&offset=5000", api, bearer),
                "GET /api/v1/accounts?q=教育&limit=50": get("/api/v1/accounts?q=教育&limit=50",
                                                           api, bearer),
                "GET /accounts/picker.json?q=第12 (account picker)": get(
                    "/accounts/picker.json?q=第12"),
            }
            print(f"{'what':<62} {'median ms':>10} {'max ms':>8}")
            floor = None
            for name, fn in floors.items():
                median, worst = timed(fn)
                floor = floor or median
                print(f"{name:<62} {median:>10.2f} {worst:>8.2f}")
            over = []
            for name, fn in cases.items():
                median, worst = timed(fn)
                print(f"{name:<62} {median:>10.1f} {worst:>8.1f}")
                if median >= BAR_MS:
                    over.append(name)
            print(f"bar: every page < {BAR_MS} ms (median): "
                  + ("met" if not over else "NOT met: " + "; ".join(over)))
            db.engine.dispose()
    finally:
        redis.stop()
        if service is not None:
            service.stop()


if __name__ == "__main__":
    main()
