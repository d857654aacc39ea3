"""Posts carry their origin and the platform's own id; one id is one post per account."""
from datetime import datetime, timedelta

from conftest import account_body
from sqlalchemy import select

from govmedia.extensions import db
from govmedia.types import SHANGHAI
from registry.models import Account, Post
from registry.posts import record_post


def test_a_platform_id_is_recorded_once_per_account_and_keeps_the_first_origin(world):
    a = world.unit_a["id"]
    first = world.sponsor_a.post("/api/v1/accounts", account_body(a)).get_json()["id"]
    other = world.sponsor_a.post("/api/v1/accounts", account_body(
        a, platform="weibo", handle="7000000009")).get_json()["id"]
    at = datetime(2026, 11, 20, 9, tzinfo=SHANGHAI)
    made = record_post(first, at, "县政府常务会议", "https://x/1", "publisher",
                       platform_post_id="ARTICLE1", origin="govmedia")
    again = record_post(first, at + timedelta(hours=1), "县政府常务会议", "https://x/1",
                        "sync", platform_post_id="ARTICLE1", origin="platform")
    # The same id on another account is another post; no id never clashes.
    elsewhere = record_post(other, at, "t", None, "sync", platform_post_id="ARTICLE1",
                            origin="platform")
    plain = [record_post(first, at, "t", None, "api") for _ in range(2)]
    db.session.commit()
    assert made and again is None and elsewhere and all(plain)
    rows = db.session.execute(select(Post.account_id, Post.origin, Post.platform_post_id)
                              .order_by(Post.id)).all()
    assert rows == [(first, "govmedia", "ARTICLE1"), (other, "platform", "ARTICLE1"),
                    (first, "manual", None), (first, "manual", None)]
    # The skipped duplicate did not move the account's last update to its later time.
    assert db.session.get(Account, first).last_post_at == at


def test_posts_recorded_through_the_api_are_manual(world):
    a = world.unit_a["id"]
    account = world.sponsor_a.post("/api/v1/accounts", account_body(a)).get_json()["id"]
    made = world.sponsor_a.post(f"/api/v1/accounts/{account}/posts", {
        "published_at": "2026-11-20T09:00:00+08:00", "title": "通知"})
    assert made.status_code == 201
    assert db.session.scalar(select(Post.origin)) == "manual"
