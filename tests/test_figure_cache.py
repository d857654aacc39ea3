"""Supervision figures kept in Redis while the database is unchanged (figure_cache.py): a read
with nothing written since is answered from Redis; any write, through the app or behind its
back, is seen by the next read; each reach keeps its own figures; Redis down only costs the
computation."""
from redis.exceptions import RedisError
from sqlalchemy import create_engine, text

from conftest import account_body, make_user
from govmedia.extensions import db
from govmedia.queue import redis_connection
from registry.supervision import figure_cache

SUMMARY = "/api/v1/supervision/summary"


def kept_keys():
    return sorted(redis_connection().scan_iter(figure_cache.PREFIX + "*"))


def test_a_second_read_comes_from_redis_and_any_write_is_seen(app, world):
    assert world.admin.post("/api/v1/accounts", account_body(world.unit_a["id"])).status_code == 201
    first = world.supervisor.get(SUMMARY).get_json()
    assert first["accounts"]["active"] == 1
    # The first read applied the new account's outbox row (a write): it kept nothing.
    assert kept_keys() == []
    assert world.supervisor.get(SUMMARY).get_json() == first
    keys = kept_keys()
    assert len(keys) == 1
    # Proof that the next read is the kept one: change what Redis holds, and read it back.
    planted = {**first, "units_total": 999}
    redis_connection().set(keys[0], figure_cache.pickle.dumps(planted))
    assert world.supervisor.get(SUMMARY).get_json()["units_total"] == 999

    # A write through the app: a new key, the true figure.
    assert world.admin.post("/api/v1/accounts", account_body(
        world.unit_b["id"], handle="gh_0123456789ac", name="某县教育发布")).status_code == 201
    second = world.supervisor.get(SUMMARY).get_json()
    assert second["accounts"]["active"] == 2 and second["units_total"] == first["units_total"]

    # A write behind the app's back (another connection, plain SQL) is seen too.
    engine = create_engine(db.engine.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE units SET name = name || '（改）' WHERE id = :id"),
                     {"id": world.unit_a["id"]})
    engine.dispose()
    names = {u["unit_name"] for u in world.supervisor.get(SUMMARY).get_json()["units"]}
    assert "某县人民政府办公室（改）" in names


def test_each_reach_keeps_its_own_figures(app, world, login):
    make_user("supervisor_2", ["supervisor"])
    second_supervisor = login("supervisor_2")
    world.admin.post("/api/v1/accounts", account_body(world.unit_a["id"]))
    world.admin.post("/api/v1/accounts", account_body(
        world.unit_b["id"], handle="gh_0123456789ac", name="某县教育发布"))
    world.supervisor.get(SUMMARY)                    # applies the outbox, keeps nothing
    everything = world.supervisor.get(SUMMARY).get_json()
    own = world.sponsor_a.get(SUMMARY).get_json()
    assert everything["accounts"]["active"] == 2 and own["accounts"]["active"] == 1
    assert [u["unit_id"] for u in own["units"]] == [world.unit_a["id"]]
    assert len(kept_keys()) == 2                     # one per reach
    # a second supervisor of the same reach reads the first one's kept figures
    assert second_supervisor.get(SUMMARY).get_json() == everything
    assert len(kept_keys()) == 2
    # asking for a unit outside one's reach is refused, kept figures or not
    assert world.supervisor.get(SUMMARY, unit_id=world.unit_b["id"]).status_code == 200
    assert world.sponsor_a.get(SUMMARY, unit_id=world.unit_b["id"]).status_code == 403


def test_redis_down_computes_the_figure(app, world, monkeypatch):
    world.admin.post("/api/v1/accounts", account_body(world.unit_a["id"]))

    class Down:
        def get(self, key):
            raise RedisError("connection refused")

        set = get

    monkeypatch.setattr(figure_cache, "redis_connection", lambda: Down())
    assert world.supervisor.get(SUMMARY).get_json()["accounts"]["active"] == 1
    page = app.test_client()
    page.post("/login", data={"username": "supervisor", "password": "Passw0rd-test"})
    assert page.get("/supervision").status_code == 200


def test_no_cache_when_switched_off(app, world):
    app.config["SUPERVISION_FIGURE_CACHE_SECONDS"] = 0
    world.admin.post("/api/v1/accounts", account_body(world.unit_a["id"]))
    assert world.supervisor.get(SUMMARY).get_json()["accounts"]["active"] == 1
    assert kept_keys() == []
