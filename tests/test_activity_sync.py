"""The activity sync (issue 14) against the stand-in platforms over HTTP: the real adapters
read freepublish/batchget, datacube/getarticlesummary and statuses/user_timeline."""
import time
from collections import Counter
from datetime import timedelta

import pytest
import requests
from conftest import account_body
from sqlalchemy import func, select

from adapters import listed_id
from adapters.wechat import clear_local_tokens
from govmedia.extensions import db
from govmedia.types import today_shanghai, utcnow
from registry.activity import sync as activity_sync
from registry.activity.jobs import sync_activity
from registry.activity.models import SyncCursor
from registry.models import AccountCredential, Post
from registry.supervision.models import Notification
from standins import serve_in_thread
from test_fanout import Standin, platform_config, publish

DAY = 86400


@pytest.fixture(scope="session")
def standin_url():
    server, url = serve_in_thread("127.0.0.1", 0)
    yield url
    server.shutdown()


@pytest.fixture
def platforms(app, standin_url):
    requests.post(f"{standin_url}/_standin/reset", timeout=5).raise_for_status()
    clear_local_tokens()
    app.config.update(platform_config(standin_url))
    # A loaded machine answers late; a timeout here would defer an account by surprise.
    app.config["ADAPTER_TIMEOUT"] = 10.0
    stand_in = Standin(standin_url)
    # A WeChat publish settles at the first look (follow-ups: tests/test_fanout_followup.py).
    stand_in.config(wechat_publish_polls=0)
    return stand_in


def seed(platforms, *posts) -> list[str]:
    answer = requests.post(f"{platforms.url}/_standin/seed", json={"posts": list(posts)},
                           timeout=5)
    answer.raise_for_status()
    return answer.json()["ids"]


class Province:
    """Units with a WeChat and a Weibo account each, on credentials of their own."""

    def __init__(self, world, platforms, units: int):
        self.accounts = []   # (account id, platform, credentials)
        for n in range(units):
            unit = world.admin.post("/api/v1/units", {"name": f"某县第{n}局"}).get_json()["id"]
            appid, token = f"wx{n:016d}", f"2.00sync{n}"
            requests.post(f"{platforms.url}/_standin/wechat/apps",
                          json={"appid": appid, "secret": f"s{n}"}, timeout=5)
            platforms.token(token, uid=7100000000 + n)
            wechat = world.admin.post("/api/v1/accounts", account_body(
                unit, handle=f"gh_{n:012d}", name=f"某县第{n}局")).get_json()["id"]
            weibo = world.admin.post("/api/v1/accounts", account_body(
                unit, platform="weibo", handle=str(7100000000 + n),
                name=f"某县第{n}局")).get_json()["id"]
            for account, creds in ((wechat, {"app_id": appid, "app_secret": f"s{n}"}),
                                   (weibo, {"access_token": token})):
                put = world.admin.put(f"/api/v1/accounts/{account}/credentials", creds)
                assert put.status_code == 204
            self.accounts += [(wechat, "wechat", appid), (weibo, "weibo", token)]

    def seed_everything(self, platforms) -> dict[int, set[str]]:
        """Each account: posts made in the platform's back end over the last days."""
        now, expected = time.time(), {}
        for account, platform, key in self.accounts:
            if platform == "wechat":
                ids = seed(platforms, {"platform": "wechat", "appid": key, "kind": "publish",
                                       "title": "发布", "at": now - 3 * DAY, "count": 25},
                           {"platform": "wechat", "appid": key, "kind": "publish",
                            "title": "今日发布", "at": now - 60})
                masses = seed(platforms, *[{"platform": "wechat", "appid": key,
                                            "kind": "mass", "title": f"群发{d}",
                                            "at": now - d * DAY} for d in (1, 2)])
                ids += [f"{int(m) + 7}_1" for m in masses]
            else:
                ids = seed(platforms, {"platform": "weibo", "access_token": key,
                                       "text": "微博", "at": now - 2 * DAY, "count": 120})
            expected[account] = set(ids)
        return expected


def recorded() -> dict[int, list[str]]:
    found = {}
    for account, platform_id in db.session.execute(
            select(Post.account_id, Post.platform_post_id).where(Post.origin == "platform")):
        found.setdefault(account, []).append(platform_id)
    return found


def test_a_sync_killed_half_way_and_run_again_records_every_post_exactly_once(
        world, platforms, monkeypatch):
    province = Province(world, platforms, units=3)
    expected = province.seed_everything(platforms)
    # Two accounts a transaction: the worker dies while writing the second pair.
    monkeypatch.setattr(activity_sync, "SAVE_EVERY", 2)
    real, saved = activity_sync.record_posts, []

    def dies_in_the_second_batch(posts_by_account, *args, **kwargs):
        made = real(posts_by_account, *args, **kwargs)
        saved.append(list(posts_by_account))
        if len(saved) == 2:   # its posts are written, not committed, when the worker dies
            raise SystemExit("worker killed")
        return made

    monkeypatch.setattr(activity_sync, "record_posts", dies_in_the_second_batch)
    with pytest.raises(SystemExit):
        activity_sync.sync_accounts(activity_sync.due_accounts())
    db.session.rollback()   # the dead worker's connection: its open transaction is lost
    half = recorded()
    assert len(saved[0]) == 2 and set(half) == set(saved[0])
    assert {a: Counter(ids) for a, ids in half.items()} == \
        {a: Counter(expected[a]) for a in saved[0]}

    monkeypatch.setattr(activity_sync, "record_posts", real)
    totals = activity_sync.sync_accounts(activity_sync.due_accounts())
    assert totals["done"] == 6
    again = recorded()
    assert {a: Counter(ids) for a, ids in again.items()} == \
        {a: Counter(ids) for a, ids in expected.items()}
    # A third run finds nothing new.
    assert activity_sync.sync_accounts(activity_sync.due_accounts())["posts"] == 0
    assert db.session.scalar(select(func.count()).select_from(Post)) == \
        sum(map(len, expected.values()))


def test_an_account_whose_write_fails_costs_no_other_account_its_posts(
        world, platforms, monkeypatch):
    province = Province(world, platforms, units=3)
    expected = province.seed_everything(platforms)
    bad = sorted(expected)[2]
    real = activity_sync.record_posts

    def refuses_the_bad_account(posts_by_account, *args, **kwargs):
        if bad in posts_by_account:
            raise RuntimeError("a constraint the bad account breaks")
        return real(posts_by_account, *args, **kwargs)

    monkeypatch.setattr(activity_sync, "record_posts", refuses_the_bad_account)
    totals = activity_sync.sync_accounts(activity_sync.due_accounts())
    assert totals["failed"] == 1 and totals["done"] == 5
    assert {a: Counter(ids) for a, ids in recorded().items()} == \
        {a: Counter(ids) for a, ids in expected.items() if a != bad}
    # The bad account has no cursor, so the next pass reads it again.
    assert db.session.get(SyncCursor, bad) is None


def test_a_douyin_accounts_public_works_are_synced_and_one_under_review_waits(
        world, platforms, app):
    # An account authorised through the stand-in's OAuth page, as a sponsor does it.
    from test_douyin_adapter import CLIENT_KEY, CLIENT_SECRET, authorise

    from govmedia.secrets import decrypt, encrypt

    app.config.update({"DOUYIN_API_BASE_URL": platforms.url, "DOUYIN_CLIENT_KEY": CLIENT_KEY,
                       "DOUYIN_CLIENT_SECRET": CLIENT_SECRET})
    unit = world.admin.post("/api/v1/units", {"name": "某县融媒体中心"}).get_json()["id"]
    made = world.admin.post("/api/v1/accounts", account_body(
        unit, platform="douyin", handle="71000001", name="某县发布抖音"))
    assert made.status_code == 201, made.get_json()
    account = made.get_json()["id"]
    tokens = authorise(platforms, open_id="sync-douyin-1")
    db.session.add(AccountCredential(account_id=account, ciphertext=encrypt(tokens)))
    db.session.commit()
    now = time.time()
    public = seed(platforms, {"platform": "douyin", "open_id": "sync-douyin-1",
                              "title": "防汛提示", "at": now - 3 * DAY, "count": 3})
    reviewing = seed(platforms, {"platform": "douyin", "open_id": "sync-douyin-1",
                                 "title": "审核中的作品", "at": now - 2 * DAY, "status": 4})
    seed(platforms, {"platform": "douyin", "open_id": "sync-douyin-1", "title": "未通过",
                     "at": now - DAY, "status": 2})
    # The access token ran out: the adapter refreshes it, and the sync keeps the new one.
    requests.post(f"{platforms.url}/_standin/douyin/expire_access", timeout=5)

    totals = activity_sync.sync_accounts([account])
    assert totals["done"] == 1 and totals["posts"] == 3
    assert Counter(recorded()[account]) == Counter(public)   # not the unpublished two
    stored = decrypt(db.session.get(AccountCredential, account).ciphertext)
    assert stored["access_token"] != tokens["access_token"]
    # The platform's review settles (a status query, as Douyin's own app shows it); a new work.
    settled = requests.post(f"{platforms.url}/api/douyin/v1/video/video_data/",
                            params={"open_id": "sync-douyin-1"},
                            headers={"access-token": stored["access_token"]},
                            json={"item_ids": reviewing}, timeout=5).json()
    assert settled["data"]["list"][0]["video_status"] == 5
    newest = seed(platforms, {"platform": "douyin", "open_id": "sync-douyin-1",
                              "title": "今日作品", "at": now - 60})
    assert activity_sync.sync_accounts([account])["posts"] == 2
    assert Counter(recorded()[account]) == Counter(public + reviewing + newest)
    assert activity_sync.sync_accounts([account])["posts"] == 0


def test_a_post_published_through_govmedia_and_found_by_the_sync_is_one_post(
        world, platforms, login):
    # The fan-out's newsroom (unit A: a WeChat and a Weibo account on the default apps).
    from test_fanout import build_newsroom
    from flask import current_app
    room = build_newsroom(world, login, current_app.config, platforms.url)
    body = publish(room)
    assert {d["status"] for d in room.editor.get(
        f"/api/v1/articles/{body['id']}").get_json()["deliveries"]} == {"sent"}
    seed(platforms, {"platform": "weibo", "access_token": "2.00standin_weibo_token",
                     "text": "后台直接发布 http://example.gov.cn/1", "at": time.time() - 30})
    totals = activity_sync.sync_accounts(activity_sync.due_accounts())
    assert totals["done"] == 2 and totals["posts"] == 1
    rows = db.session.execute(select(Post.account_id, Post.origin, Post.platform_post_id)
                              .order_by(Post.id)).all()
    origins = Counter((account, origin) for account, origin, _ in rows)
    assert origins == Counter({(room.wechat_id, "govmedia"): 1, (room.weibo_id, "govmedia"): 1,
                               (room.weibo_id, "platform"): 1})
    assert all(platform_id for _, _, platform_id in rows)


def test_a_mass_send_is_listed_by_its_data_api_id():
    assert listed_id("wechat", {"mode": "mass", "msg_id": "1", "msg_data_id": "8"}, "1") == "8_1"
    assert listed_id("wechat", {"mode": "mass", "msg_id": "clientmsgid:x"}, "x") is None
    assert listed_id("wechat", {"article_id": "A1"}, "A1") == "A1"
    assert listed_id("weibo", {}, "4900000000000001") == "4900000000000001"


def test_a_quota_error_defers_that_account_not_the_run(world, platforms):
    province = Province(world, platforms, units=2)
    province.seed_everything(platforms)
    platforms.fault(path="/cgi-bin/freepublish/batchget", errcode=45009, times=1)
    platforms.fault(path="/2/statuses/user_timeline.json", error_code=10023, times=1)
    totals = activity_sync.sync_accounts(activity_sync.due_accounts())
    assert totals["deferred"] == 2 and totals["done"] == 2
    deferred = db.session.scalars(select(SyncCursor).where(
        SyncCursor.deferred_until.is_not(None))).all()
    assert len(deferred) == 2 and all("上限" in c.last_error for c in deferred)
    assert all(c.deferred_until > utcnow() + timedelta(minutes=50) for c in deferred)
    waiting = {c.account_id for c in deferred}
    assert waiting.isdisjoint(activity_sync.due_accounts())
    assert len(activity_sync.due_accounts()) == 2


def test_a_revoked_token_asks_the_sponsor_to_authorise_again_once(world, platforms, login):
    from conftest import make_user
    a = world.unit_a["id"]
    make_user("sponsor_a2", ["sponsor"], a)
    weibo = world.sponsor_a.post("/api/v1/accounts", account_body(
        a, platform="weibo", handle="7000000001")).get_json()["id"]
    assert world.sponsor_a.put(f"/api/v1/accounts/{weibo}/credentials",
                               {"access_token": "2.00revoked"}).status_code == 204
    platforms.token("2.00revoked", state="revoked")
    assert activity_sync.sync_accounts([weibo])["reauthorize"] == 1
    assert db.session.get(AccountCredential, weibo).token_expired is True
    notes = db.session.scalars(select(Notification)).all()
    assert sorted(n.user_id for n in notes) == sorted(
        u["id"] for u in world.admin.get("/api/v1/users", unit_id=a).get_json()["items"])
    assert all("重新授权" in n.text and "某县发布" in n.text for n in notes)
    # Not due any more, and a second refusal tells nobody again.
    assert weibo not in activity_sync.due_accounts()
    db.session.get(AccountCredential, weibo).token_expired = False
    db.session.commit()
    time.sleep(1.1)   # refused again in another second: still the same credentials
    activity_sync.sync_accounts([weibo])
    assert db.session.scalar(select(func.count()).select_from(Notification)) == len(notes)
    # The sponsor's new credentials clear it, and the account is synced again.
    platforms.token("2.00renewed")
    assert world.sponsor_a.put(f"/api/v1/accounts/{weibo}/credentials",
                               {"access_token": "2.00renewed"}).status_code == 204
    assert weibo in activity_sync.due_accounts()


def test_dormancy_changes_when_synced_posts_arrive(world, platforms):
    province = Province(world, platforms, units=1)
    wechat = province.accounts[0][0]
    today = today_shanghai().isoformat()

    def dormant_ids():
        body = world.supervisor.get("/api/v1/supervision/dormant", as_of=today).get_json()
        return {i["account_id"] for i in body["items"]}

    assert wechat in dormant_ids()       # opened 2026-11-02, never updated
    seed(platforms, {"platform": "wechat", "appid": province.accounts[0][2],
                     "kind": "mass", "title": "昨日群发", "at": time.time() - DAY})
    activity_sync.sync_accounts([wechat])
    assert wechat not in dormant_ids()


def test_the_periodic_pass_enqueues_batches_that_the_worker_runs(world, platforms, app,
                                                                  run_jobs):
    province = Province(world, platforms, units=2)
    expected = province.seed_everything(platforms)
    app.config["ACTIVITY_SYNC_BATCH"] = 3
    assert sync_activity() == 2
    run_jobs()
    assert sum(map(len, recorded().values())) == sum(map(len, expected.values()))


def test_wechat_credentials_refused_after_the_one_refresh_need_authorising_again(world,
                                                                                 platforms):
    province = Province(world, platforms, units=1)
    wechat, weibo = province.accounts[0][0], province.accounts[1][0]
    # The token is refused, fetched again once, and refused again: the credentials are wrong.
    platforms.fault(path="/cgi-bin/freepublish/batchget", errcode=40001, times=2)
    totals = activity_sync.sync_accounts(activity_sync.due_accounts())
    assert totals["reauthorize"] == 1 and totals["done"] == 1
    assert db.session.get(AccountCredential, wechat).token_expired is True
    assert db.session.get(AccountCredential, weibo).token_expired is False
    cursor = db.session.get(SyncCursor, wechat)
    assert cursor.last_error and "40001" in cursor.last_error
    assert activity_sync.due_accounts() == [weibo]


def test_credentials_that_cannot_be_decrypted_fail_that_account_only(world, platforms):
    province = Province(world, platforms, units=1)
    wechat, weibo = province.accounts[0][0], province.accounts[1][0]
    db.session.get(AccountCredential, wechat).ciphertext = b"not a fernet token"
    db.session.commit()
    totals = activity_sync.sync_accounts(activity_sync.due_accounts())
    assert totals["failed"] == 1 and totals["done"] == 1
    assert "解密" in db.session.get(SyncCursor, wechat).last_error
    assert db.session.get(SyncCursor, weibo).last_error is None
