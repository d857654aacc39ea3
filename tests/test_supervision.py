"""Supervision endpoints (shared/API.md "Supervision"): dormant, duplicates, summary; the set-based
rule 5 agrees with the per-account one; rectification orders; post logs; reports; reminders."""
import random
from datetime import date, datetime, timedelta

from conftest import account_body, make_user
from sqlalchemy import func, select

from govmedia.extensions import db
from govmedia.types import SHANGHAI
from registry import posts as registry_posts
from registry.changes import account_changed, accounts_created
from registry.models import Account, AccountChange, Post
from registry.services import account_snapshot
from registry.supervision import jobs
from registry.supervision import services as sv
from registry.supervision.models import DayTotal, NameKey, UpdateGap


def register(api, unit_id, platform="wechat", handle=None, name="某县发布", opened_on="2026-11-02",
             **extra):
    handle = handle or {"wechat": "gh_%012d" % random.randrange(10 ** 12),
                        "weibo": str(random.randrange(10 ** 9))}.get(platform,
                                                                   "h%d" % random.randrange(10 ** 9))
    response = api.post("/api/v1/accounts", account_body(unit_id, platform=platform, handle=handle,
                                                         name=name, opened_on=opened_on, **extra))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def post(api, account_id, when, title="一条更新"):
    response = api.post(f"/api/v1/accounts/{account_id}/posts",
                        {"published_at": when, "title": title})
    assert response.status_code == 201, response.get_json()


# --- dormant -------------------------------------------------------------------------------------

def test_dormant_list_contract_and_beijing_day(world):
    a = world.unit_a["id"]
    quiet = register(world.sponsor_a, a, "wechat", name="某县发布", opened_on="2026-10-01")
    edge = register(world.sponsor_a, a, "weibo", name="某县发布", opened_on="2026-10-01")
    fresh = register(world.sponsor_a, a, "douyin", name="某县发布", opened_on="2026-10-01")
    post(world.sponsor_a, quiet, "2026-11-01T10:00:00+08:00")
    # 01:00 Beijing on 11-10 is 17:00 UTC on 11-09: it counts for the Beijing day 11-10.
    post(world.sponsor_a, edge, "2026-11-10T01:00:00+08:00")
    post(world.sponsor_a, fresh, "2026-11-19T23:30:00+08:00")

    body = world.supervisor.get("/api/v1/supervision/dormant", as_of="2026-11-20").get_json()
    assert body["total"] == 1
    assert body["items"] == [{"account_id": quiet, "unit_id": a, "platform": "wechat",
                              "name": "某县发布", "last_update_on": "2026-11-01",
                              "days_since_update": 19, "band": "dormant"}]

    body = world.supervisor.get("/api/v1/supervision/dormant", as_of="2026-11-20",
                                include="warning").get_json()
    assert [(i["account_id"], i["band"], i["days_since_update"], i["last_update_on"])
            for i in body["items"]] == [(quiet, "dormant", 19, "2026-11-01"),
                                        (edge, "warning", 10, "2026-11-10")]
    # the per-account answer agrees
    acc = world.supervisor.get(f"/api/v1/accounts/{edge}", as_of="2026-11-20").get_json()
    assert (acc["last_update_on"], acc["days_since_update"], acc["dormant"]) == \
        ("2026-11-10", 10, False)
    # a day later the edge account is dormant (11 days)
    body = world.supervisor.get("/api/v1/supervision/dormant", as_of="2026-11-21").get_json()
    assert [i["account_id"] for i in body["items"]] == [quiet, edge]
    # as of an earlier day, later posts do not count: `fresh` had none yet (since opening)
    body = world.supervisor.get("/api/v1/supervision/dormant", as_of="2026-11-12",
                                include="warning").get_json()
    assert [(i["account_id"], i["days_since_update"]) for i in body["items"]] == \
        [(fresh, 42), (quiet, 11)]


def test_dormant_counts_from_opening_or_reopening_and_only_active(world):
    a, b = world.unit_a["id"], world.unit_b["id"]
    never = register(world.sponsor_a, a, "wechat", opened_on="2026-10-01")
    closed = register(world.sponsor_a, a, "weibo", opened_on="2026-10-01")
    reopened = register(world.sponsor_b, b, "wechat", opened_on="2026-09-01")
    post(world.sponsor_b, reopened, "2026-09-05T09:00:00+08:00")
    for kind, day in (("close", "2026-10-02"), ("reopen", "2026-11-15")):
        r = world.sponsor_b.post(f"/api/v1/accounts/{reopened}/events",
                                 {"kind": kind, "event_date": day, "reason": "测试"})
        assert r.status_code == 201, r.get_json()
    r = world.sponsor_a.post(f"/api/v1/accounts/{closed}/events",
                             {"kind": "close", "event_date": "2026-10-05", "reason": "测试"})
    assert r.status_code == 201
    body = world.supervisor.get("/api/v1/supervision/dormant", as_of="2026-11-20",
                                include="warning").get_json()
    assert [(i["account_id"], i["last_update_on"]) for i in body["items"]] == \
        [(never, "2026-10-01")]   # reopened 11-15 is 5 days ago; the closed one never counts
    body = world.supervisor.get("/api/v1/supervision/dormant", as_of="2026-11-14",
                                include="warning").get_json()
    # before the reopening its last update was the September post (status is today's)
    assert (reopened, "2026-09-05") in [(i["account_id"], i["last_update_on"])
                                        for i in body["items"]]


def test_dormant_scoped_to_own_unit_and_validates(world):
    a, b = world.unit_a["id"], world.unit_b["id"]
    mine = register(world.sponsor_a, a, opened_on="2026-10-01")
    register(world.sponsor_b, b, opened_on="2026-10-01")
    body = world.sponsor_a.get("/api/v1/supervision/dormant", as_of="2026-11-20").get_json()
    assert [i["account_id"] for i in body["items"]] == [mine] and body["total"] == 1
    assert world.sponsor_a.get("/api/v1/supervision/dormant", unit_id=b).status_code == 403
    r = world.supervisor.get("/api/v1/supervision/dormant", as_of="2026-13-01")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid"
    assert world.supervisor.get("/api/v1/supervision/dormant", include="x").status_code == 400


def test_set_based_rule_agrees_with_per_account_rule(app, world):
    """Random accounts and posts: the set-based list equals services.dormancy for every day."""
    rng = random.Random(7)
    a = world.unit_a["id"]
    units = [a]
    for n in range(3):
        units.append(world.admin.post("/api/v1/units", {"name": f"单位{n}"}).get_json()["id"])
    sponsor = make_user("sp_rand", ["admin"])
    actor = db.session.get(type(sponsor), sponsor.id)
    ids = []
    platforms = ["wechat", "weibo", "douyin", "kuaishou", "toutiao"]
    for unit_id in units:
        for p in platforms:
            opened = date(2026, 9, 1) + timedelta(days=rng.randrange(60))
            ids.append(register(world.admin, unit_id, p, opened_on=opened.isoformat()))
    recorded = 0
    for n, account_id in enumerate(ids):
        account = db.session.get(Account, account_id)
        for _ in range(rng.randrange(0, 8)):
            day = date(2026, 9, 1) + timedelta(days=rng.randrange(90))
            hour = rng.choice([0, 1, 7, 12, 23])
            when = datetime(day.year, day.month, day.day, hour, 30, tzinfo=SHANGHAI)
            if rng.random() < 0.5:
                registry_posts.record_post_as(actor, account, when, "t", None)
            else:  # as the delivery job records them: on its own connection
                registry_posts.record_post(account_id, when, "t", None, "publisher",
                                           connection=db.session.connection())
            recorded += 1
        if n == len(ids) // 2:   # half of them applied (and committed) before the rest arrive
            db.session.commit()
            assert sv.apply_pending() > 0
    db.session.commit()
    # Posts wait uncounted in their outbox until something applies them.
    assert 0 < db.session.scalar(select(func.count()).select_from(Post).where(
        Post.counted.is_(False))) < recorded
    closing = ids[3]
    world.admin.post(f"/api/v1/accounts/{closing}/events",
                     {"kind": "close", "event_date": "2026-11-01", "reason": "x"})
    sv.apply_pending()   # the closing applied on figures that hold its posts, then the reopening
    db.session.commit()
    world.admin.post(f"/api/v1/accounts/{closing}/events",
                     {"kind": "reopen", "event_date": "2026-11-20", "reason": "x"})
    # one stays closed (never counts), one is reopened before any post of its own
    world.admin.post(f"/api/v1/accounts/{ids[5]}/events",
                     {"kind": "close", "event_date": "2026-10-20", "reason": "x"})
    world.admin.post(f"/api/v1/accounts/{ids[6]}/events",
                     {"kind": "close", "event_date": "2026-10-25", "reason": "x"})
    world.admin.post(f"/api/v1/accounts/{ids[6]}/events",
                     {"kind": "reopen", "event_date": "2026-10-28", "reason": "x"})
    accounts = db.session.scalars(select(Account)).all()
    for offset in range(0, 100, 3):
        as_of = date(2026, 9, 1) + timedelta(days=offset)
        expected = []
        for account in accounts:
            state = registry_posts.dormancy(account, as_of)
            if state["band"]:
                expected.append((account.id, state["last_update_on"].isoformat(),
                                 state["days_since_update"], state["band"]))
        items, total = sv.dormant_list(actor, as_of, include_warning=True, limit=500)
        got = [(i["account_id"], i["last_update_on"], i["days_since_update"], i["band"])
               for i in items]
        assert sorted(got) == sorted(expected), (as_of, sorted(set(got) ^ set(expected)))
        assert total == len(expected)
        assert [g[2] for g in got] == sorted((g[2] for g in got), reverse=True)
        counts = sv.band_counts(as_of, None)
        assert sum(c["dormant"] for c in counts.values()) == sum(
            1 for e in expected if e[3] == "dormant")
        # the all-units totals from the band-entry days (prefix sums) agree too
        n_dormant = sum(1 for e in expected if e[3] == "dormant")
        assert sv.band_totals([as_of]) == [(n_dormant, len(expected))], as_of
        body = sv.summary(actor, as_of, limit=2)
        assert (body["dormant"], body["warning"]) == (n_dormant, len(expected) - n_dormant)
        assert body["units_total"] == len(units) + 1 and len(body["units"]) == 2
    # the week-by-week counts (one pass) equal the per-day rule at every week-end
    ends = [date(2026, 9, 3) + timedelta(days=7 * k) for k in range(14)]
    weekly = sv.weekly_bands(ends, None)
    assert sv.band_totals(ends) == weekly
    for (dormant, banded), t in zip(weekly, ends):
        states = [registry_posts.dormancy(a, t)["band"] for a in accounts]
        assert (dormant, banded) == (states.count("dormant"),
                                     states.count("dormant") + states.count("warning")), t
    # the derived gaps and band-entry days equal a rebuild from scratch
    def derived():
        gaps = sorted((g.account_id, g.start_day, g.end_day)
                      for g in db.session.scalars(select(UpdateGap)))
        days = sorted((d.day, d.band, d.dormant, d.posts)
                      for d in db.session.scalars(select(DayTotal)) if d.band or d.dormant or d.posts)
        return gaps, days

    before = derived()
    assert db.session.scalar(select(func.count()).select_from(AccountChange)) == 0
    sv.rebuild_all()
    assert before == derived() and before[0] and before[1]


def test_outboxes_are_applied_by_the_periodic_job(app, world):
    """Posts wait uncounted and account changes wait in account_changes; the periodic job
    applies both (and commits), giving the same figures as a rebuild from scratch."""
    ids = [register(world.admin, world.unit_a["id"], p, opened_on="2026-09-01")
           for p in ("wechat", "weibo")]
    register(world.admin, world.unit_b["id"], "wechat", opened_on="2026-09-01")
    for n, day in enumerate((2, 3, 20, 20, 21)):
        when = datetime(2026, 10, day, 9, n, tzinfo=SHANGHAI)
        registry_posts.record_post(ids[n % 2], when, f"t{n}", None, "publisher",
                                   connection=db.session.connection())
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(DayTotal)) == 0
    assert jobs.apply_pending_figures() == 5 + 3   # five posts, three new accounts
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Post).where(
        Post.counted.is_(False))) == 0
    assert db.session.scalar(select(func.count()).select_from(AccountChange)) == 0
    gaps = sorted((g.account_id, g.start_day, g.end_day) for g in db.session.scalars(
        select(UpdateGap)))
    days = sorted((d.day, d.band, d.dormant, d.posts) for d in db.session.scalars(
        select(DayTotal)))
    assert (ids[0], date(2026, 10, 2), date(2026, 10, 20)) in gaps
    assert jobs.apply_pending_figures() == 0
    sv.rebuild_all()
    assert gaps == sorted((g.account_id, g.start_day, g.end_day) for g in db.session.scalars(
        select(UpdateGap)))
    assert days == sorted((d.day, d.band, d.dormant, d.posts) for d in db.session.scalars(
        select(DayTotal)))


def test_outbox_look_uses_the_partial_index(app):
    """Every supervision read looks at the outboxes first: that look must be an index probe on
    ix_posts_uncounted, not a scan of every post (the predicate has to match the index's)."""
    from sqlalchemy import text

    from registry.supervision.pending import APPLY_LOCK, OUTBOX_LOOK
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(db.session.scalars(text("EXPLAIN " + OUTBOX_LOOK.text),
                                         {"lock": APPLY_LOCK}))
    db.session.rollback()
    assert "ix_posts_uncounted" in plan, plan
    assert "Seq Scan on posts" not in plan, plan


def test_applying_the_outboxes_does_not_block_rows_that_reference_the_accounts(world, app):
    """apply_pending holds its accounts while their figures move, but a transaction inserting
    a row that merely references one of them (a sign-off's deliveries, a post) goes on: with
    FOR UPDATE the two deadlocked when the other side referenced several accounts in its own
    order (the load test's 503)."""
    from datetime import timezone

    from sqlalchemy import insert, text

    from registry.supervision.pending import apply_pending

    account_id = register(world.sponsor_a, world.unit_a["id"], "wechat", name="某县锁测试")
    published = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
    db.session.add(Post(account_id=account_id, published_at=published, title="待计入",
                        url=None, source="api"))
    db.session.commit()
    assert apply_pending() >= 1            # the account is held until this transaction ends
    try:
        with db.engine.connect() as other:
            other.execute(text("SET lock_timeout = '2s'"))
            other.execute(insert(Post).values(account_id=account_id, published_at=published,
                                              title="同时写入", url=None, source="api"))
            other.commit()
    finally:
        db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Post)
                             .where(Post.account_id == account_id)) == 2


def test_a_post_written_without_the_flag_goes_through_the_outbox(world, app):
    """`counted` defaults to false in the model and in the table: a post written other than by
    record_post (the ORM, a bare INSERT) is counted by apply_pending, once, never skipped."""
    from sqlalchemy import insert

    from registry.supervision.models import UnitDay
    from registry.supervision.pending import apply_pending

    account_id = register(world.sponsor_a, world.unit_a["id"], "wechat", name="某县默认")
    apply_pending()
    db.session.commit()
    days = [date(2026, 11, 3), date(2026, 11, 4)]

    def unit_days():
        return dict(db.session.execute(select(UnitDay.day, UnitDay.posts).where(
            UnitDay.unit_id == world.unit_a["id"], UnitDay.day.in_(days))).all())

    before = unit_days()
    db.session.add(Post(account_id=account_id, title="ORM", source="api",
                        published_at=datetime(2026, 11, 3, 9, 0, tzinfo=SHANGHAI)))
    db.session.execute(insert(Post).values(account_id=account_id, title="SQL", source="api",
                                           published_at=datetime(2026, 11, 4, 9, 0,
                                                                 tzinfo=SHANGHAI)))
    db.session.commit()
    flags = db.session.scalars(select(Post.counted).where(Post.account_id == account_id)).all()
    assert flags == [False, False]
    assert apply_pending() == 2 and apply_pending() == 0
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Post).where(
        Post.account_id == account_id, ~Post.counted)) == 0
    after = unit_days()
    assert [after.get(d, 0) - before.get(d, 0) for d in days] == [1, 1]
    assert db.session.get(Account, account_id).first_post_on == days[0]


# --- duplicates -------------------------------------------------------------------------------------

def test_name_key_normalises():
    assert sv.name_key("某县 发布") == sv.name_key("某县发布") == "某县"
    assert sv.name_key("ＡＢＣ教育在线") == "abc教育"
    assert sv.name_key("“某县教育”微讯") == "某县教育"
    assert sv.name_key("发布") == "发布"   # nothing left: keep the name


def test_duplicates_contract(world, app):
    a, b = world.unit_a["id"], world.unit_b["id"]
    first = register(world.sponsor_a, a, "wechat", name="某县教育发布")
    r = world.supervisor.post(f"/api/v1/units/{a}/platform-exceptions",
                              {"platform": "wechat", "reason": "政务服务号与订阅号分设"})
    assert r.status_code == 201
    second = register(world.sponsor_a, a, "wechat", name="某县政务服务")
    other_unit = register(world.sponsor_b, b, "wechat", name="某县 教育 在线")
    subj1 = register(world.sponsor_a, a, "douyin", name="甲", verified_subject="某县融媒体中心")
    subj2 = register(world.sponsor_b, b, "douyin", name="乙", verified_subject="某县融媒体中心")
    low = register(world.sponsor_b, b, "kuaishou", name="某县教育快手")
    assert world.sponsor_b.post(f"/api/v1/accounts/{low}/stats",
                                {"as_of": "2026-11-10", "followers": 120, "reads": 30}).status_code == 201
    assert world.sponsor_b.post(f"/api/v1/accounts/{other_unit}/stats",
                                {"as_of": "2026-11-10", "followers": 90000}).status_code == 201

    body = world.supervisor.get("/api/v1/supervision/duplicates").get_json()
    assert body["items"] == [{"unit_id": a, "platform": "wechat", "account_ids": [first, second],
                              "exception": True, "exception_reason": "政务服务号与订阅号分设"}]
    reasons = {(s["reason"], tuple(s["account_ids"])) for s in body["similar"]}
    assert ("similar_name", (first, other_unit)) in reasons
    assert ("same_verified_subject", (subj1, subj2)) in reasons
    assert ("low_use", (low,)) in reasons
    assert body["thresholds"]["followers"] == 500
    # a renamed account is re-indexed before the next read (the change is in the outbox)
    with app.app_context():
        account = db.session.get(Account, other_unit)
        before = account_snapshot(account)
        account.name = "某县卫健在线"
        account_changed(account, before)
        db.session.commit()
    body = world.supervisor.get("/api/v1/supervision/duplicates").get_json()
    assert not any(s["reason"] == "similar_name" for s in body["similar"])
    # a sponsor sees only its own unit's groups
    body = world.sponsor_b.get("/api/v1/supervision/duplicates").get_json()
    assert body["items"] == []
    # a rename waits in the outbox: the index moves when apply_pending runs, not before
    with app.app_context():
        account = db.session.get(Account, first)
        before = {"name": account.name}
        account.name = "某县卫健发布"
        account_changed(account, before)
        db.session.commit()
        assert db.session.get(NameKey, first).key == "某县教育"
        assert sv.apply_pending() == 1
        db.session.commit()
        assert db.session.get(NameKey, first).key == "某县卫健"
        # an account written by a Core insert (the inventory import) is recorded as created
        row = {c: getattr(db.session.get(Account, other_unit), c)
               for c in ("unit_id", "platform", "status", "opened_on", "staff")}
        new_id = db.session.execute(Account.__table__.insert().values(
            **row, name="某县卫健 在线", handle="gh_core00000001")).inserted_primary_key[0]
        accounts_created([new_id])
        db.session.commit()
    body = world.supervisor.get("/api/v1/supervision/duplicates").get_json()
    assert ("similar_name", sorted([first, new_id])) in [
        (s["reason"], s["account_ids"]) for s in body["similar"]]


# --- summary and trend ------------------------------------------------------------------------------

def test_summary_counts_per_unit(world):
    a, b = world.unit_a["id"], world.unit_b["id"]
    x = register(world.sponsor_a, a, "wechat", opened_on="2026-11-02")
    register(world.sponsor_a, a, "weibo", opened_on="2026-11-02", filed_on="2026-11-03",
             filing_reference="GX-1")
    register(world.sponsor_b, b, "wechat", opened_on="2026-11-02")
    post(world.sponsor_a, x, "2026-11-18T08:00:00+08:00")
    body = world.supervisor.get("/api/v1/supervision/summary", as_of="2026-11-20").get_json()
    assert body["accounts"]["active"] == 3
    assert body["filings"] == {"pending": 0, "overdue": 2, "filed": 1, "late": 0}
    assert body["filing_rate"] == round(1 / 3, 4)
    assert (body["dormant"], body["warning"]) == (2, 0)   # both without posts since 11-02
    per = {u["unit_id"]: u for u in body["units"]}
    assert per[a]["filings"]["overdue"] == 1 and per[a]["filing_rate"] == 0.5
    assert per[b]["dormant"] == 1 and per[a]["dormant"] == 1
    mine = world.sponsor_b.get("/api/v1/supervision/summary", as_of="2026-11-20").get_json()
    assert [u["unit_id"] for u in mine["units"]] == [b] and mine["accounts"]["active"] == 1
    weeks = world.supervisor.get("/api/v1/supervision/trend", as_of="2026-11-20",
                                 weeks=3).get_json()["items"]
    assert [w["week_end"] for w in weeks] == ["2026-11-06", "2026-11-13", "2026-11-20"]
    assert weeks[-1]["dormant"] == 2 and weeks[-1]["posts"] == 1
    assert (weeks[1]["dormant"], weeks[1]["warning"]) == (3, 0)   # 11 days since opening
    assert (weeks[0]["dormant"], weeks[0]["warning"]) == (0, 0)
