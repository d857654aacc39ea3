"""WeChat 群发 as well as 发布 (issue 15): each account's mode and type, an article's override,
the mass-send quota shown before and checked at the sign-off, a clientmsgid per delivery, and
群发保护 (the administrator's confirmation), over HTTP against the stand-in WeChat."""
import time
from datetime import timedelta

import pytest
import requests
from flask import current_app
from sqlalchemy import select, update
from test_adapters import APP_ID, APP_SECRET, Saved, content
from test_fanout import (Standin, article, by_platform, newsroom, page_login,  # noqa: F401
                         png_base64, publish, reviewed, standin)

from adapters import Pending, PermanentError, get_adapter
from adapters.wechat import clear_local_tokens
from govmedia.extensions import db
from govmedia.models import AuditEntry
from govmedia.types import utcnow
from govmedia.worker import run_burst
from publisher.fanout.sweep import sweep
from publisher.models import Delivery

SENDALL = "/cgi-bin/message/mass/sendall"
SUBMIT = "/cgi-bin/freepublish/submit"


def mass_sends(room):
    return [p for p in room.platforms.posts()["wechat"]["items"] if p["kind"] == "mass"]


def set_wechat(room, **options):
    response = room.sponsor.put(f"/api/v1/accounts/{room.wechat_id}/wechat", options)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def confirm(room, confirm=True):
    requests.post(f"{room.platforms.url}/_standin/wechat/mass_confirm",
                  json={"appid": APP_ID, "confirm": confirm}, timeout=5).raise_for_status()


def draft_to_signoff(room, title, **extra):
    """Drafted, submitted and reviewed: waiting for the sign-off. Returns its id."""
    return reviewed(room, title, [room.wechat_id], body_html="<p>请广大群众注意防范。</p>",
                    **extra)


# ------------------------------------------------------------------------- the account
def test_a_wechat_account_has_a_mode_and_a_type_set_by_its_sponsor(newsroom):
    shown = newsroom.sponsor.get(f"/api/v1/accounts/{newsroom.wechat_id}").get_json()
    assert (shown["wechat_mode"], shown["wechat_type"]) == ("publish", "subscription")
    assert "wechat_mode" not in newsroom.sponsor.get(
        f"/api/v1/accounts/{newsroom.weibo_id}").get_json()
    assert set_wechat(newsroom, wechat_mode="mass")["wechat_type"] == "subscription"
    assert set_wechat(newsroom, wechat_type="service")["wechat_mode"] == "mass"
    bad = newsroom.sponsor.put(f"/api/v1/accounts/{newsroom.wechat_id}/wechat",
                               {"wechat_mode": "broadcast"})
    assert bad.status_code == 400 and "wechat_mode" in bad.get_json()["error"]["fields"]
    weibo = newsroom.sponsor.put(f"/api/v1/accounts/{newsroom.weibo_id}/wechat",
                                 {"wechat_mode": "mass"})
    assert weibo.status_code == 400 and "platform" in weibo.get_json()["error"]["fields"]
    # An editor does not set it: the sponsor unit does.
    assert newsroom.editor.put(f"/api/v1/accounts/{newsroom.wechat_id}/wechat",
                               {"wechat_mode": "publish"}).status_code == 403
    # The change is audited with its own words.
    actions = db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.object_id == newsroom.wechat_id)).all()
    assert actions.count("account.wechat_options") == 2


def test_the_account_page_sets_the_mode_in_chinese_and_english(app, newsroom):
    client = page_login(app, "sponsor_a")
    page = client.get(f"/accounts/{newsroom.wechat_id}").get_data(as_text=True)
    assert 'id="wechat-form"' in page and "发布" in page
    saved = client.post(f"/accounts/{newsroom.wechat_id}/wechat",
                        data={"wechat_mode": "mass", "wechat_type": "service"})
    assert saved.status_code == 302
    page = client.get(f"/accounts/{newsroom.wechat_id}").get_data(as_text=True)
    assert "群发" in page and "服务号" in page
    bad = client.post(f"/accounts/{newsroom.wechat_id}/wechat", data={"wechat_mode": "x"})
    assert bad.status_code == 400 and 'id="err-wechat_mode"' in bad.get_data(as_text=True)
    assert client.get("/lang/en").status_code == 302
    english = client.get(f"/accounts/{newsroom.wechat_id}").get_data(as_text=True)
    assert "Service account: four mass sends a month" in english and "服务号" not in english


# ------------------------------------------------------------------------- sending
def test_an_account_in_mass_mode_mass_sends_with_the_deliverys_own_clientmsgid(newsroom):
    set_wechat(newsroom, wechat_mode="mass")
    body = publish(newsroom, targets=[newsroom.wechat_id, newsroom.weibo_id])
    shown = article(newsroom, body["id"])
    wechat = by_platform(shown)["wechat"]
    assert shown["status"] == "published" and wechat["status"] == "sent"
    assert wechat["mode"] == "mass" and by_platform(shown)["weibo"]["mode"] is None
    [sent] = mass_sends(newsroom)
    assert wechat["post_id"] == sent["msg_id"]
    assert sent["clientmsgid"] == f"govmedia-{wechat['id']}"
    assert newsroom.platforms.calls(SUBMIT) == 0


def test_an_articles_override_wins_over_the_accounts_mode(newsroom):
    set_wechat(newsroom, wechat_mode="mass")
    body = publish(newsroom, title="发布而不群发", targets=[newsroom.wechat_id],
                   wechat_mode="publish")
    assert article(newsroom, body["id"])["wechat_mode"] == "publish"
    assert by_platform(article(newsroom, body["id"]))["wechat"]["mode"] == "publish"
    assert newsroom.platforms.calls(SUBMIT) == 1 and mass_sends(newsroom) == []
    publish(newsroom, title="群发一条", targets=[newsroom.wechat_id], wechat_mode="mass")
    assert len(mass_sends(newsroom)) == 1
    bad = newsroom.editor.post("/api/v1/articles", {
        "title": "x", "body_html": "<p>x</p>", "target_account_ids": [newsroom.wechat_id],
        "wechat_mode": "everyone"})
    assert bad.status_code == 400 and "wechat_mode" in bad.get_json()["error"]["fields"]


# ------------------------------------------------------------------------- the quota
def test_a_subscription_account_mass_sends_once_a_day_shown_before_and_refused_at_signoff(
        app, newsroom):
    set_wechat(newsroom, wechat_mode="mass")
    publish(newsroom, title="今日第一条群发", targets=[newsroom.wechat_id])
    second = draft_to_signoff(newsroom, "今日第二条群发")
    [use] = article(newsroom, second)["mass_quota"]
    assert use["exceeded"] and use["used"] == 1 and use["limit"] == 1
    assert use["period"] == "day" and "某县发布" in use["message"]
    page = page_login(app, "signer").get(f"/articles/{second}").get_data(as_text=True)
    assert 'id="mass-quota"' in page and 'data-exceeded="true"' in page
    assert "订阅号" in page and "某县发布" in page
    refused = newsroom.signer.post(f"/api/v1/articles/{second}/review",
                                   {"decision": "approve", "comment": ""})
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "mass_quota_exceeded" and "某县发布" in error["message"]
    assert "wechat_mode" in error["fields"]
    assert article(newsroom, second)["status"] == "pending_signoff"
    assert len(mass_sends(newsroom)) == 1
    # Nothing was queued for the refused one; an article published (发布) instead goes out.
    assert article(newsroom, second)["deliveries"] == []
    third = draft_to_signoff(newsroom, "今日发布一条", wechat_mode="publish")
    assert article(newsroom, third)["mass_quota"] == []
    assert newsroom.signer.post(f"/api/v1/articles/{third}/review",
                                {"decision": "approve", "comment": ""}).status_code == 200


def test_a_service_account_mass_sends_four_times_a_month(newsroom):
    set_wechat(newsroom, wechat_mode="mass", wechat_type="service")
    for n in range(4):
        publish(newsroom, title=f"本月第{n + 1}条群发", targets=[newsroom.wechat_id])
    fifth = draft_to_signoff(newsroom, "本月第五条群发")
    [use] = article(newsroom, fifth)["mass_quota"]
    assert (use["used"], use["limit"], use["period"], use["exceeded"]) == (4, 4, "month", True)
    refused = newsroom.signer.post(f"/api/v1/articles/{fifth}/review",
                                   {"decision": "approve", "comment": ""})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "mass_quota_exceeded"
    assert len(mass_sends(newsroom)) == 4


def test_the_job_checks_the_quota_again_before_the_mass_send_leaves(newsroom):
    """Signed off within the quota, but the day's send was used meanwhile (a delivery sent
    by another article): the job fails it without calling WeChat, saying why."""
    set_wechat(newsroom, wechat_mode="mass")
    first = publish(newsroom, title="先签发的群发", targets=[newsroom.wechat_id],
                    publish_at=(utcnow() + timedelta(minutes=30)).isoformat())
    waiting = by_platform(first)["wechat"]
    assert waiting["status"] == "queued" and mass_sends(newsroom) == []
    # Another mass send of the account is recorded sent today (a delivery row, as the
    # product records it), then the first one's time comes.
    other = draft_to_signoff(newsroom, "另一条")
    db.session.add(Delivery(article_id=other, account_id=newsroom.wechat_id,
                            platform="wechat", revision=1, content_hash="0" * 64,
                            status="sent", mode="mass", attempts=1, platform_ids={},
                            sent_at=utcnow()))
    db.session.execute(update(Delivery).where(Delivery.id == waiting["id"]).values(
        next_attempt_at=utcnow() - timedelta(seconds=1), enqueued_at=None))
    db.session.commit()
    sweep()
    run_burst(current_app._get_current_object())
    failed = by_platform(article(newsroom, first["id"]))["wechat"]
    assert failed["status"] == "failed" and "某县发布" in failed["error"]
    assert newsroom.platforms.calls(SENDALL) == 0


# ------------------------------------------------------------------------- 群发保护
def test_a_send_waiting_for_the_administrator_says_so_and_goes_out_once_confirmed(newsroom):
    set_wechat(newsroom, wechat_mode="mass")
    newsroom.platforms.config(wechat_mass_protect=True)
    body = publish(newsroom, title="等待管理员确认的群发", targets=[newsroom.wechat_id])
    waiting = by_platform(article(newsroom, body["id"]))["wechat"]
    assert waiting["status"] == "sending" and "群发保护" in waiting["error"]
    assert "管理员" in waiting["error"] and mass_sends(newsroom) == []
    row = db.session.get(Delivery, waiting["id"])
    assert row.platform_ids["protect_since"] and row.platform_ids["clientmsgid"]
    # Asked again (a minute later, as 45066 requires): still waiting, nothing sent twice.
    db.session.rollback()
    due_now(waiting["id"])
    assert by_platform(article(newsroom, body["id"]))["wechat"]["status"] == "sending"
    assert newsroom.platforms.calls(SENDALL) == 2 and mass_sends(newsroom) == []
    # The administrator confirms on their phone: the next look finds the send (45065).
    confirm(newsroom)
    due_now(waiting["id"])
    done = by_platform(article(newsroom, body["id"]))["wechat"]
    [sent] = mass_sends(newsroom)
    assert done["status"] == "sent" and done["post_id"] == sent["msg_id"]
    assert done["error"] is None and newsroom.platforms.calls(SENDALL) == 3


def due_now(delivery_id):
    """The follow-up's time comes now (its job waits in RQ's scheduler for the real
    minute; the sweep takes a `sending` row whose time has passed)."""
    db.session.execute(update(Delivery).where(Delivery.id == delivery_id).values(
        lease_until=utcnow() - timedelta(seconds=1),
        next_attempt_at=utcnow() - timedelta(seconds=1), enqueued_at=None))
    db.session.commit()
    sweep()
    run_burst(current_app._get_current_object())


# ------------------------------------------------------------------------- the adapter
@pytest.fixture
def wechat_standin(standin):  # noqa: F811
    requests.post(f"{standin}/_standin/reset", timeout=5).raise_for_status()
    clear_local_tokens()
    platforms = Standin(standin)
    platforms.config(wechat_mass_protect=True)
    return platforms


def adapter(url, clientmsgid="govmedia-77"):
    return get_adapter("wechat", {"app_id": APP_ID, "app_secret": APP_SECRET},
                       {"WECHAT_API_BASE_URL": url, "ADAPTER_TIMEOUT": 2.0},
                       account_options={"mode": "mass", "clientmsgid": clientmsgid})


def test_unconfirmed_past_the_window_fails_and_a_refusal_is_said(wechat_standin, chinese_words):
    url = wechat_standin.url
    state = {}
    with pytest.raises(Pending) as waiting:
        adapter(url).publish(content(), state, Saved())
    assert waiting.value.note and waiting.value.platform_code == 89503
    assert waiting.value.check_after >= 60 and state["clientmsgid"] == "govmedia-77"
    # Thirty minutes on, WeChat has dropped it: a failure that says why, the wait forgotten.
    state["protect_since"] = time.time() - 40 * 60
    with pytest.raises(PermanentError, match="30 分钟"):
        adapter(url).publish(content(), state, Saved())
    assert "protect_since" not in state
    # Refused by the administrator: WeChat's refusal code and its meaning.
    confirm_all = {"appid": APP_ID, "confirm": False}
    state2 = {}
    with pytest.raises(Pending):
        adapter(url, "govmedia-78").publish(content(2), state2, Saved())
    requests.post(f"{url}/_standin/wechat/mass_confirm", json=confirm_all,
                  timeout=5).raise_for_status()
    with pytest.raises(PermanentError, match="拒绝") as refused:
        adapter(url, "govmedia-78").publish(content(2), state2, Saved())
    assert refused.value.platform_code == 89507


def test_the_openapi_document_names_the_new_fields(newsroom):
    doc = newsroom.sponsor.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    for model in ("AccountIn", "WechatOptionsIn"):
        assert {"wechat_mode", "wechat_type"} <= set(schemas[model]["properties"])
    assert "wechat_mode" in schemas["ArticleIn"]["properties"]
    assert "put" in doc["paths"]["/api/v1/accounts/{account_id}/wechat"]
