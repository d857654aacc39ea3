"""Supervision at scale: 100,000 accounts and 5,000,000 posts on PostgreSQL.

    .venv/bin/python bench/supervision_bench.py            # starts a throwaway PostgreSQL
    BENCH_DATABASE_URL=postgresql://... .venv/bin/python bench/supervision_bench.py
    BENCH_DATABASE_URL=... .venv/bin/python bench/supervision_bench.py --reuse  # keep the data
    BENCH_DATABASE_URL=... .venv/bin/python bench/supervision_bench.py --reuse --rebuild
        # keep the generated rows, recompute every derived figure set-based
    .venv/bin/python bench/supervision_bench.py --tree
        # issue 16: a five-level tree of 5,000 units (province, 12 cities, 120 counties,
        # 1,200 townships, 3,667 departments), 20 accounts a unit: the dashboard at the root,
        # at a city and at a county, the dormant list and the annual report, each beside the
        # floor, as a supervisor with no unit and as the county's and city's supervisors
    BENCH_DATABASE_URL=... .venv/bin/python bench/supervision_bench.py --reuse --posts
        # only the floor and the two post figures (one post recorded; with apply_pending)
    BENCH_ACCOUNTS=1000 .venv/bin/python bench/supervision_bench.py   # a small run

Generates the data with generate_series (the derived figures — update gaps, first update day,
daily per-unit counts, name index — are then rebuilt set-based, as `flask supervision rebuild`
does), then times each supervision endpoint through the real app (bearer token, JSON) and the
dashboard page, beside a plain indexed count on the same tables (the floor). Never runs in CI.
"""
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "100000"))
POSTS_PER_ACCOUNT = int(os.environ.get("BENCH_POSTS_PER_ACCOUNT", "50"))
REUSE = "--reuse" in sys.argv       # skip generation when data of this size is there
REBUILD = "--rebuild" in sys.argv   # with --reuse: recompute the derived figures anyway
TREE = "--tree" in sys.argv         # five levels of 5,000 units instead of 20,000 flat ones
POSTS_ONLY = "--posts" in sys.argv  # skip the endpoints: the floor and the post figures only
UNITS = 5000 if TREE else ACCOUNTS // 5
PER_UNIT = ACCOUNTS // UNITS
RUNS = 7
# The tree's levels: (how many units, how many children each parent of the level above gets
# at most); ids are handed out level by level, so each level is a range.
TREE_LEVELS = (1, 12, 120, 1200, 3667)
CITY, COUNTY = 2, 1 + 12 + 1     # the first city and the first county


def timed(fn, runs=RUNS):
    fn()  # warm
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def timed_beside(fn, floor, runs=RUNS, setup=None):
    """(median, max) of fn and the floor's median, their runs interleaved; `setup`, when
    given, runs before each fn outside the clock."""
    setup = setup or (lambda: None)
    setup()
    fn()
    floor()
    samples, floors = [], []
    for _ in range(runs):
        for target, into in ((floor, floors), (fn, samples)):
            if target is fn:
                setup()
            start = time.perf_counter()
            target()
            into.append((time.perf_counter() - start) * 1000)
    return (statistics.median(samples), max(samples)), statistics.median(floors)


def tree_parents() -> list[tuple[int, int | None]]:
    """(unit id, parent id) of the five-level tree: every unit of a level under one of the
    level above, spread evenly (a city 10 counties, a county 10 townships, a township about
    three departments)."""
    rows, first_above, above = [(1, None)], 1, 1
    next_id = 2
    for size in TREE_LEVELS[1:]:
        rows += [(next_id + k, first_above + k * above // size) for k in range(size)]
        first_above, above, next_id = next_id, size, next_id + size
    assert len(rows) == UNITS
    return rows


def generate(s, text):
    t0 = time.perf_counter()
    s.execute(text("""INSERT INTO units (id, name, contacts, created_at)
        SELECT u, '某县单位' || u, '[]', now() FROM generate_series(1, :n) u"""), {"n": UNITS})
    if TREE:
        s.execute(text("UPDATE units SET parent_id = CAST(:parent AS integer) WHERE id = :id"),
                  [{"id": unit, "parent": parent} for unit, parent in tree_parents()
                   if parent is not None])
    # A unit's name: four pseudo-random characters; one unit in 500 copies its
    # neighbour's name (near-same names across units).
    platforms = "ARRAY['wechat','weibo','douyin','kuaishou','toutiao']"
    s.execute(text(f"""INSERT INTO accounts (id, unit_id, platform, name, handle, status,
            opened_on, staff, created_at, updated_at, verified_subject, followers, reads, stats_on)
        SELECT a, (a - 1) / :per + 1, ({platforms})[(a - 1) % 5 + 1],
               '某县' || chr(19968 + ((((a - 1) / :per + 1 - (CASE WHEN ((a - 1) / :per + 1) % 500 = 0 THEN 1 ELSE 0 END))::bigint * 7919) % 20000)::int)
                      || chr(19968 + ((((a - 1) / :per + 1 - (CASE WHEN ((a - 1) / :per + 1) % 500 = 0 THEN 1 ELSE 0 END))::bigint * 104729) % 20000)::int)
                      || chr(19968 + ((((a - 1) / :per + 1 - (CASE WHEN ((a - 1) / :per + 1) % 500 = 0 THEN 1 ELSE 0 END))::bigint * 1299709) % 20000)::int)
                      || chr(19968 + ((((a - 1) / :per + 1 - (CASE WHEN ((a - 1) / :per + 1) % 500 = 0 THEN 1 ELSE 0 END))::bigint * 15485863) % 20000)::int)
                      || '局' || (CASE WHEN a % 3 = 0 THEN '发布' ELSE '在线' END),
               'h' || a,
               CASE WHEN a % 50 = 0 THEN 'closed' WHEN a % 97 = 0 THEN 'deregistered' ELSE 'active' END,
               current_date - 400 + (a % 30), '[]', now(), now(),
               '某县单位' || ((a - 1) / :per + 1), (a * 7919) % 20000, (a::bigint * 104729) % 50000,
               current_date - 10
        FROM generate_series(1, :n) a"""), {"n": ACCOUNTS, "per": PER_UNIT})
    s.execute(text("""INSERT INTO account_events (id, account_id, kind, event_date, reason, created_at)
        SELECT a, a, 'open', current_date - 400 + (a % 30), '', now()
        FROM generate_series(1, :n) a"""), {"n": ACCOUNTS})
    s.execute(text("""INSERT INTO filings (id, account_id, event_id, unit_id, event, event_date,
            due_on, provisional, filed_on)
        SELECT a, a, a, (a - 1) / :per + 1, 'open', current_date - 400 + (a % 30),
               current_date - 393 + (a % 30), false,
               CASE WHEN a % 10 = 0 THEN NULL WHEN a % 10 = 1 THEN current_date - 380
                    ELSE current_date - 398 + (a % 30) END
        FROM generate_series(1, :n) a"""), {"n": ACCOUNTS, "per": PER_UNIT})
    # Four in five accounts post over the last 180 days (every 3.6 days on average, at
    # random: about one stretch in nine reaches 8 days); one in five stopped 5-65 days ago.
    # Written counted: the derived figures are rebuilt from every post next (derive).
    s.execute(text("""INSERT INTO posts (account_id, published_at, title, source, created_at,
                                         counted)
        SELECT a, now() - ((CASE WHEN a % 5 = 0 THEN (a % 60) + 5 ELSE 0 END)
                           + random() * (180 - (CASE WHEN a % 5 = 0 THEN (a % 60) + 5 ELSE 0 END)))
                          * interval '1 day', 'p', 'bench', now(), true
        FROM generate_series(1, :n) a, generate_series(1, :k) i"""),
              {"n": ACCOUNTS, "k": POSTS_PER_ACCOUNT})
    for table in ("units", "accounts", "account_events", "filings"):
        s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                       f"(SELECT max(id) FROM {table}))"))
    s.commit()
    return time.perf_counter() - t0


def derive(s, text, generated_in):
    t1 = time.perf_counter()
    from registry.supervision.services import rebuild_all, refresh_name_index

    gaps = rebuild_all()
    s.commit()
    t2 = time.perf_counter()
    refresh_name_index()
    s.commit()
    t3 = time.perf_counter()
    s.execute(text("ANALYZE"))
    s.commit()
    posts = s.scalar(text("SELECT count(*) FROM posts"))
    print(f"data: {UNITS} units, {ACCOUNTS} accounts, {posts} posts "
          f"generated in {generated_in:.1f}s; derived figures rebuilt in {t2 - t1:.1f}s "
          f"({gaps} gap rows); name index in {t3 - t2:.1f}s")


def tree_cases(get, token, app, today) -> dict:
    """Issue 16's figures on the five-level tree, at the root and below it."""
    pages = {}
    for name in ("sup", "citysup", "countysup"):
        pages[name] = app.test_client()
        pages[name].post("/login", data={"username": name, "password": "Bench-2026"})
    sup, city, county = token("sup"), token("citysup"), token("countysup")
    year = today.year
    return {
        "dashboard page at the root (supervisor with no unit)": lambda: get(
            "/supervision", c=pages["sup"]),
        "dashboard page at a city (the city's supervisor)": lambda: get(
            "/supervision", c=pages["citysup"]),
        "dashboard page at a county (the county's supervisor)": lambda: get(
            "/supervision", c=pages["countysup"]),
        f"dashboard page, root drilled down to city {CITY}": lambda: get(
            f"/supervision?under={CITY}", c=pages["sup"]),
        "GET /supervision/dormant at the root": lambda: get(
            "/api/v1/supervision/dormant", sup),
        "GET /supervision/dormant at a county": lambda: get(
            "/api/v1/supervision/dormant", county),
        "GET /supervision/summary at a city": lambda: get("/api/v1/supervision/summary", city),
        # The annual report as a person opening it reads it: its first page of 50 accounts,
        # with the whole report's unit, platform and grand totals (the XLSX has every row).
        f"GET /supervision/annual?year={year}&limit=50 at the root": lambda: get(
            f"/api/v1/supervision/annual?year={year}&limit=50", sup),
        f"GET /supervision/annual?year={year}&limit=50 at a city": lambda: get(
            f"/api/v1/supervision/annual?year={year}&limit=50", city),
        f"GET /supervision/annual?year={year}&limit=50 at a county": lambda: get(
            f"/api/v1/supervision/annual?year={year}&limit=50", county),
        f"annual report page /supervision/annual?year={year} at the root": lambda: get(
            f"/supervision/annual?year={year}", c=pages["sup"]),
    }


def main():
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from govmedia import create_app
    from govmedia.auth import hash_password
    from govmedia.extensions import db
    from govmedia.models import User
    from govmedia.types import today_shanghai

    from services import bench_database, start_redis

    tmp = Path(tempfile.mkdtemp(prefix="svbench-"))
    url, service = bench_database(tmp / "pg")
    redis = start_redis(tmp / "redis")
    try:
        app = create_app({"DATABASE_URL": url, "REDIS_URL": redis.url, "TESTING": True,
                          "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                          "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench",
                          "INSTANCE_PATH": str(tmp / "instance")})
        with app.app_context():
            s = db.session
            present = 0
            if REUSE and s.scalar(text("SELECT to_regclass('public.accounts') IS NOT NULL")):
                present = s.scalar(text("SELECT count(*) FROM accounts WHERE (SELECT count(*) "
                                        "FROM units) = :units"), {"units": UNITS})
            s.rollback()
            if present == ACCOUNTS:
                upgrade(revision="heads")
                print(f"reusing the {ACCOUNTS} accounts already in the database")
                if REBUILD:
                    derive(s, text, 0.0)
            else:
                s.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                s.commit()
                upgrade(revision="heads")
                derive(s, text, generate(s, text))
            users = {"sup": {"roles": ["supervisor"]},
                     "spon": {"roles": ["sponsor"], "unit_id": min(777, UNITS)},
                     "adm": {"roles": ["admin"]}}
            if TREE:
                users |= {"citysup": {"roles": ["supervisor"], "unit_id": CITY},
                          "countysup": {"roles": ["supervisor"], "unit_id": COUNTY}}
            for name, fields in users.items():
                if s.scalar(select(User).where(User.username == name)) is None:
                    s.add(User(username=name, password_hash=hash_password("Bench-2026"),
                               active=True, session_version=1, **fields))
            s.commit()

            client = app.test_client()

            def token(name):
                r = client.post("/api/v1/auth/tokens", json={"username": name,
                                                              "password": "Bench-2026"})
                return {"Authorization": "Bearer " + r.get_json()["token"]}

            sup, spon = token("sup"), token("spon")
            page = app.test_client()
            page.post("/login", data={"username": "sup", "password": "Bench-2026"})
            today = today_shanghai()
            past = today.fromordinal(today.toordinal() - 90).isoformat()

            def get(path, headers=None, c=client):
                r = c.get(path, headers=headers or {})
                assert r.status_code == 200, (path, r.status_code, r.get_data(as_text=True)[:300])
                return r

            floors = {
                "floor: count(*) accounts WHERE status='active' (index)": lambda: s.scalar(text(
                    "SELECT count(*) FROM accounts WHERE status = 'active'")),
                "floor: count(*) posts of 2,000 accounts (index)": lambda: s.scalar(text(
                    "SELECT count(*) FROM posts WHERE account_id BETWEEN 1 AND 2000")),
            }
            cases = {
                "GET /supervision/dormant (today)": lambda: get(
                    "/api/v1/supervision/dormant", sup),
                "GET /supervision/dormant?include=warning (today)": lambda: get(
                    "/api/v1/supervision/dormant?include=warning", sup),
                f"GET /supervision/dormant?include=warning&as_of={past}": lambda: get(
                    f"/api/v1/supervision/dormant?include=warning&as_of={past}", sup),
                "GET /supervision/duplicates": lambda: get("/api/v1/supervision/duplicates", sup),
                "GET /supervision/summary (all units: totals + first 50)": lambda: get(
                    "/api/v1/supervision/summary", sup),
                "GET /supervision/summary?limit=500 (totals + 500 units)": lambda: get(
                    "/api/v1/supervision/summary?limit=500", sup),
                f"GET /supervision/summary?as_of={past}": lambda: get(
                    f"/api/v1/supervision/summary?as_of={past}", sup),
                "GET /supervision/summary (a sponsor's unit)": lambda: get(
                    "/api/v1/supervision/summary", spon),
                "GET /supervision/trend (12 weeks)": lambda: get("/api/v1/supervision/trend", sup),
                f"GET /supervision/trend?as_of={past}": lambda: get(
                    f"/api/v1/supervision/trend?as_of={past}", sup),
                "GET /supervision (dashboard page: summary + 12-week trend)": lambda: get(
                    "/supervision", c=page),
                f"GET /supervision?as_of={past} (dashboard, 90 days back)": lambda: get(
                    f"/supervision?as_of={past}", c=page),
                "GET /supervision?page=40 (dashboard, page 40 of the units)": lambda: get(
                    "/supervision?page=40", c=page),
            }
            if TREE:
                cases = tree_cases(get, token, app, today)
            if not POSTS_ONLY:
                total = get("/api/v1/supervision/dormant?include=warning",
                            sup).get_json()["total"]
                dup = get("/api/v1/supervision/duplicates", sup).get_json()
                print(f"dormant+warning today: {total}; duplicate groups {dup['total']}, "
                      f"similar {len(dup['similar'])}")
            if os.environ.get("BENCH_PROFILE"):
                from registry.supervision.dormancy import band_subquery

                band = band_subquery(today, None)
                stmt = select(func.count()).select_from(band)
                sql = str(stmt.compile(dialect=db.engine.dialect,
                                       compile_kwargs={"literal_binds": True}))
                for line in s.execute(text("EXPLAIN ANALYZE " + sql)):
                    print(line[0])
                import cProfile
                import pstats

                for path in ("/api/v1/supervision/summary", "/api/v1/supervision/trend"):
                    prof = cProfile.Profile()
                    prof.enable()
                    get(path, sup)
                    prof.disable()
                    pstats.Stats(prof).sort_stats("cumulative").print_stats("services.py")
            print(f"{'what':<66} {'median ms':>10} {'max ms':>8} {'x floor':>8}")
            for name, fn in floors.items():
                median, worst = timed(fn)
                print(f"{name:<66} {median:>10.1f} {worst:>8.1f}")
            floor = next(iter(floors.values()))

            def report(name, fn, setup=None, runs=RUNS):
                # The floor is timed beside each case, run for run, so load hits both.
                (median, worst), floor_ms = timed_beside(fn, floor, runs, setup)
                print(f"{name:<66} {median:>10.1f} {worst:>8.1f} {median / floor_ms:>7.2f}x")

            for name, fn in ({} if POSTS_ONLY else cases).items():
                report(name, fn)
            # Keeping figures current as posts arrive: one post recorded as a user of the
            # account's unit and committed, as the API's handler does with the user and the
            # account its lookups loaded (loaded again before each run, off the clock: a commit
            # expires them); then the same with the figures brought up to date in the same
            # transaction (what the next reader, or the periodic job, does).
            from datetime import datetime

            from registry.models import Account
            from registry.posts import record_post_as
            from registry.supervision.pending import apply_pending

            admin = s.scalar(select(User).where(User.username == "adm"))
            account = s.get(Account, ACCOUNTS // 2 + 1)

            def loaded():
                s.refresh(admin)
                s.refresh(account)

            def one_post():
                record_post_as(admin, account, datetime.now(UTC), "bench", None)
                s.commit()

            def one_post_applied():
                record_post_as(admin, account, datetime.now(UTC), "bench", None)
                apply_pending()
                s.commit()

            apply_pending()
            s.commit()
            for name, fn in (("one post recorded (record_post_as + commit)", one_post),
                             ("one post recorded + apply_pending, one transaction",
                              one_post_applied)):
                report(name, fn, loaded, runs=5 * RUNS)
            db.engine.dispose()
    finally:
        redis.stop()
        if service is not None:
            service.stop()


if __name__ == "__main__":
    if "--help" in sys.argv or "-h" in sys.argv:
        print(__doc__)
    else:
        main()
