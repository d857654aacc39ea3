"""The WeChat and Weibo adapters, running the real wechatpy and requests code against the
stand-in platforms (standins/) over loopback HTTP."""
import threading
import time

import pytest
import requests
from services import free_port

from adapters import (
    ADAPTERS,
    AuthError,
    Content,
    Pending,
    PermanentError,
    RetryableError,
    UnconfirmedError,
    WechatAdapter,
    WeiboAdapter,
    get_adapter,
)
from standins import DEFAULT_WECHAT_APPS, DEFAULT_WEIBO_TOKENS, serve_in_thread
from adapters.wechat import clear_local_tokens

# The adapters' messages are said as a job says them: in Chinese, the default.
pytestmark = pytest.mark.usefixtures("chinese_words")

APP_ID, APP_SECRET = next(iter(DEFAULT_WECHAT_APPS.items()))
WEIBO_TOKEN = next(iter(DEFAULT_WEIBO_TOKENS))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 24


class Standin:
    def __init__(self, url):
        self.url = url

    def fault(self, **fault):
        requests.post(f"{self.url}/_standin/faults", json=fault, timeout=5).raise_for_status()

    def config(self, **settings):
        requests.post(f"{self.url}/_standin/config", json=settings, timeout=5).raise_for_status()

    def calls(self, path=None):
        calls = requests.get(f"{self.url}/_standin/calls", timeout=5).json()
        return calls["calls"].get(path, 0) if path else calls

    def token_requests(self):
        return self.calls()["token_requests"]

    def posts(self, platform):
        return requests.get(f"{self.url}/_standin/posts", timeout=5).json()[platform]


@pytest.fixture(scope="module")
def standin_url():
    server, url = serve_in_thread("127.0.0.1", 0)
    yield url
    server.shutdown()


@pytest.fixture
def standin(standin_url):
    requests.post(f"{standin_url}/_standin/reset", timeout=5).raise_for_status()
    clear_local_tokens()  # tokens cached in this process belong to the stand-in before reset
    platforms = Standin(standin_url)
    # A publish settles at the first look (one call of the adapter); the tests of a publish
    # still running say so themselves.
    platforms.config(wechat_publish_polls=0)
    return platforms


def content(n=1, **overrides):
    values = {
        "article_id": n, "revision": f"rev-{n}", "title": f"关于开展第{n}次安全检查的通知",
        "body_html": f'<p>正文{n}</p><p><img src="/media/{n}/a.png" alt=""></p>',
        "digest": "摘要", "author": "县政府办",
        "source_url": f"https://www.example.gov.cn/a/{n}",
        "cover_image": JPEG, "cover_filename": "cover.jpg",
        "weibo_text": f"【第{n}次安全检查】详见 https://www.example.gov.cn/a/{n}",
        "images": {f"/media/{n}/a.png": PNG}}
    return Content(**{**values, **overrides})


def wechat(standin, **kwargs):
    kwargs.setdefault("poll_interval", 0.01)
    kwargs.setdefault("timeout", 3.0)
    credentials = kwargs.pop("credentials", {"app_id": APP_ID, "app_secret": APP_SECRET})
    return WechatAdapter(credentials, base_url=standin.url, **kwargs)


def weibo(standin, token=WEIBO_TOKEN, **kwargs):
    kwargs.setdefault("timeout", 3.0)
    return WeiboAdapter({"access_token": token}, base_url=standin.url, **kwargs)


class Saved(list):
    """save_state recorder: a copy of the state at every call, in order."""

    def __call__(self, state):
        self.append(dict(state))


# ------------------------------------------------------------------------- success
def test_wechat_publish_goes_through_every_step_and_saves_each_id(standin):
    saved, state = Saved(), {}
    # The stand-in answers "publishing" at the first look: the adapter does not wait for it.
    standin.config(wechat_publish_polls=1)
    with pytest.raises(Pending) as pending:
        wechat(standin, poll_interval=0.7).publish(content(), state, saved)
    assert pending.value.check_after == 0.7 and state["publish_checks"] == 1
    assert standin.calls()["calls"]["/cgi-bin/freepublish/get"] == 1
    # The follow-up: publish again with the saved state, one more look, settled.
    result = wechat(standin).publish(content(), state, saved)

    assert result.post_id == state["article_id"]
    page = requests.get(result.post_url, timeout=5)
    assert page.status_code == 200 and "第1次安全检查" in page.text
    # Each id is saved before the next step starts; the last step's id (the article) comes
    # back in `state` for the caller to store with the outcome.
    keys_in_order = []
    for snapshot in saved:
        keys_in_order += [k for k in ("cover_media_id", "images", "draft_media_id", "publish_id",
                                      "article_id") if k in snapshot and k not in keys_in_order]
    assert keys_in_order == ["cover_media_id", "images", "draft_media_id", "publish_id"]
    assert state["article_id"] and state["article_url"] == result.post_url
    calls = standin.calls()["calls"]
    assert calls["/cgi-bin/material/add_material"] == 1
    assert calls["/cgi-bin/media/uploadimg"] == 1
    assert calls["/cgi-bin/draft/add"] == 1
    assert calls["/cgi-bin/freepublish/submit"] == 1
    assert calls["/cgi-bin/freepublish/get"] == 2  # publishing once, then settled
    posts = standin.posts("wechat")
    assert posts["count"] == 1
    # The body image now points at the uploaded copy (WeChat drops any other image URL).
    assert state["images"]["/media/1/a.png"] in posts["items"][0]["content"]
    assert posts["items"][0]["content_source_url"] == "https://www.example.gov.cn/a/1"


def test_weibo_publish_shares_text_and_picture(standin):
    saved, state = Saved(), {}
    result = weibo(standin).publish(content(), state, saved)

    # One step: nothing to save before a next one; the ids come back in `state`.
    assert result.post_id == state["post_id"] and saved == []
    assert state["post_url"] == result.post_url
    assert requests.get(result.post_url, timeout=5).status_code == 200
    posts = standin.posts("weibo")
    assert posts["count"] == 1 and posts["items"][0]["pic"] is True
    assert posts["items"][0]["text"] == content().weibo_text
    assert "t.cn" in posts["items"][0]["shown_text"]  # links come back shortened, as on Weibo


def test_publish_again_with_saved_state_sends_nothing(standin):
    adapter, state = wechat(standin), {}
    first = adapter.publish(content(), state, Saved())
    assert adapter.publish(content(), state, Saved()) == first
    assert standin.calls("/cgi-bin/freepublish/submit") == 1
    wb_state = {}
    wb = weibo(standin)
    assert wb.publish(content(), wb_state, Saved()) == wb.publish(content(), wb_state, Saved())
    assert standin.calls("/2/statuses/share.json") == 1


def test_cover_falls_back_to_first_body_image_and_is_required(standin):
    state = {}
    wechat(standin).publish(content(cover_image=None, cover_filename=None), state, Saved())
    assert standin.calls("/cgi-bin/material/add_material") == 1
    with pytest.raises(PermanentError, match="封面"):
        wechat(standin).publish(content(2, cover_image=None, body_html="<p>无图</p>"), {},
                                Saved())


def test_body_image_is_downloaded_when_not_passed_and_unknown_relative_src_fails(standin):
    # An absolute image URL is fetched over HTTP (here: the cover the stand-in now serves).
    cover_state = {}
    wechat(standin).publish(content(), cover_state, Saved())
    remote = cover_state["cover_url"]
    state = {}
    wechat(standin).publish(content(2, body_html=f'<p><img src="{remote}"></p>', images={}),
                            state, Saved())
    assert remote in state["images"]
    with pytest.raises(PermanentError, match="正文图片无法获取"):
        wechat(standin).publish(content(3, images={}), {}, Saved())


# ------------------------------------------------------------------------- errors
@pytest.mark.parametrize("path,fault,error,code,text", [
    ("/cgi-bin/draft/add", {"errcode": -1}, RetryableError, -1, "繁忙"),
    ("/cgi-bin/draft/add", {"errcode": 45009}, RetryableError, 45009, "每日"),
    ("/cgi-bin/draft/add", {"errcode": 45002}, PermanentError, 45002, "内容过长"),
    ("/cgi-bin/draft/add", {"errcode": 40007}, PermanentError, 40007, "无效的 media_id"),
    ("/cgi-bin/material/add_material", {"errcode": 48001}, PermanentError, 48001,
     "api功能未授权"),
    ("/cgi-bin/freepublish/submit", {"errcode": 53503}, PermanentError, 53503, "未通过发布检测"),
    ("/cgi-bin/draft/add", {"errcode": 61999, "errmsg": "奇怪的错误"}, PermanentError, 61999,
     "奇怪的错误"),
    ("/cgi-bin/draft/add", {"http_status": 503}, RetryableError, 503, "HTTP 503"),
    ("/cgi-bin/freepublish/submit", {"http_status": 502}, RetryableError, 502, "HTTP 502"),
    ("/cgi-bin/freepublish/submit", {"http_status": 504}, UnconfirmedError, 504, "核实"),
])
def test_wechat_error_classes(standin, path, fault, error, code, text):
    standin.fault(path=path, **fault)
    with pytest.raises(error) as caught:
        wechat(standin).publish(content(), {}, Saved())
    assert caught.value.platform_code == code and text in caught.value.text()
    assert standin.posts("wechat")["count"] == 0


def test_wechat_rate_limit_hint(standin):
    standin.fault(path="/cgi-bin/draft/add", errcode=45009)
    with pytest.raises(RetryableError) as caught:
        wechat(standin).publish(content(), {}, Saved())
    assert caught.value.retry_after == 3600.0 and caught.value.retryable


def test_connection_refused_is_retryable():
    adapter = WechatAdapter({"app_id": APP_ID, "app_secret": APP_SECRET},
                            base_url=f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(RetryableError, match="无法连接"):
        adapter.publish(content(), {}, Saved())
    wb = WeiboAdapter({"access_token": WEIBO_TOKEN}, base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(RetryableError, match="无法连接"):
        wb.publish(content(), {}, Saved())


def test_connection_dropped_after_sending_is_unconfirmed_for_a_post():
    """A server that reads the request and hangs up without answering: the post may exist."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def serve():
        for _ in range(2):
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with pytest.raises(UnconfirmedError):
            WeiboAdapter({"access_token": WEIBO_TOKEN}, base_url=base).publish(
                content(), {}, Saved())
        # The same drop on a call that creates nothing is simply retried.
        with pytest.raises(RetryableError):
            WeiboAdapter({"access_token": WEIBO_TOKEN}, base_url=base).withdraw({}, "1")
    finally:
        thread.join(5)
        listener.close()


def test_read_timeout_before_a_committing_call_is_retryable_and_at_submit_unconfirmed(standin):
    # A slow answer to draft/add only risks an unused draft: retry.
    standin.fault(path="/cgi-bin/draft/add", delay=1.0, errcode=-1)
    with pytest.raises(RetryableError, match="时限"):
        wechat(standin, timeout=0.3).publish(content(), {}, Saved())
    # A slow answer to freepublish/submit may hide a publication.
    standin.fault(path="/cgi-bin/freepublish/submit", delay=1.0, errcode=-1)
    state = {}
    with pytest.raises(UnconfirmedError):
        wechat(standin, timeout=0.3).publish(content(), state, Saved())
    # That submit was not taken (the stand-in answered -1 after the delay): nothing is found,
    # and sending again publishes exactly once, from the saved draft.
    assert wechat(standin).find_existing(content(), state) is None
    wechat(standin).publish(content(), state, Saved())
    assert standin.posts("wechat")["count"] == 1
    assert standin.calls("/cgi-bin/draft/add") == 2  # the first attempt's draft was refused


@pytest.mark.parametrize("fault,error,code,text", [
    ({"errcode": 10023}, RetryableError, 10023, "频次"),
    ({"errcode": 10024}, RetryableError, 10024, "频次"),
    ({"errcode": 20019}, PermanentError, 20019, "重复内容"),
    ({"errcode": 20012}, PermanentError, 20012, "文本过长"),
    ({"errcode": 10014}, PermanentError, 10014, "应用权限不足"),
    ({"errcode": 20003}, PermanentError, 20003, "用户不存在"),
    ({"errcode": 29999, "errmsg": "odd failure"}, PermanentError, 29999, "odd failure"),
    ({"http_status": 503}, RetryableError, 503, "HTTP 503"),
])
def test_weibo_error_classes(standin, fault, error, code, text):
    standin.fault(path="/2/statuses/share.json", **fault)
    with pytest.raises(error) as caught:
        weibo(standin).publish(content(), {}, Saved())
    assert caught.value.platform_code == code and text in caught.value.text()
    assert standin.posts("weibo")["count"] == 0


def test_weibo_expired_and_invalid_tokens_need_a_new_authorization(standin):
    requests.post(f"{standin.url}/_standin/weibo/tokens", timeout=5,
                  json={"access_token": "2.00expired", "state": "expired"}).raise_for_status()
    with pytest.raises(AuthError) as caught:
        weibo(standin, token="2.00expired").publish(content(), {}, Saved())
    assert caught.value.platform_code == 21327 and caught.value.token_expired
    assert not caught.value.retryable and "重新授权" in caught.value.text()
    with pytest.raises(AuthError) as caught:
        weibo(standin, token="2.00never-issued").publish(content(), {}, Saved())
    assert caught.value.platform_code == 21332 and caught.value.token_expired
    assert standin.calls("/2/statuses/share.json") == 2 and standin.posts("weibo")["count"] == 0


def test_weibo_platform_rules_come_back_as_permanent_errors(standin):
    weibo(standin).publish(content(), {}, Saved())
    with pytest.raises(PermanentError, match="重复内容"):
        weibo(standin).publish(content(), {}, Saved())  # same text again, fresh state
    with pytest.raises(PermanentError, match="文本过长"):
        weibo(standin).publish(content(2, weibo_text="长" * 135 + " https://x.gov.cn/2"), {},
                               Saved())
    with pytest.raises(PermanentError, match="安全域名"):
        weibo(standin).publish(content(3, weibo_text="没有链接的文本"), {}, Saved())


# ------------------------------------------------------------------------- resume
def test_retry_resumes_after_draft_add_instead_of_starting_over(standin):
    standin.fault(path="/cgi-bin/freepublish/submit", errcode=-1)
    saved, state = Saved(), {}
    with pytest.raises(RetryableError):
        wechat(standin).publish(content(), state, saved)
    assert saved[-1]["draft_media_id"] and "publish_id" not in saved[-1]

    # A new worker gets the state the job committed.
    resumed = dict(saved[-1])
    result = wechat(standin).publish(content(), resumed, Saved())
    assert result.post_id
    calls = standin.calls()["calls"]
    assert calls["/cgi-bin/material/add_material"] == 1
    assert calls["/cgi-bin/media/uploadimg"] == 1
    assert calls["/cgi-bin/draft/add"] == 1
    assert calls["/cgi-bin/freepublish/submit"] == 2
    assert standin.posts("wechat")["count"] == 1


def test_a_new_revision_does_not_reuse_ids_of_the_old_one(standin):
    standin.fault(path="/cgi-bin/freepublish/submit", errcode=-1)
    state = {}
    with pytest.raises(RetryableError):
        wechat(standin).publish(content(), state, Saved())
    old_draft = state["draft_media_id"]
    wechat(standin).publish(content(revision="rev-fixed"), state, Saved())
    assert state["draft_media_id"] != old_draft and state["revision"] == "rev-fixed"
    assert standin.calls("/cgi-bin/draft/add") == 2


def test_a_publish_still_running_is_never_waited_for_and_checks_slow_down(standin):
    standin.config(wechat_publish_polls=100, wechat_publish_seconds=100)
    state, adapter = {}, wechat(standin, poll_attempts=2, poll_interval=0.5)
    started = time.monotonic()
    with pytest.raises(Pending) as first:
        adapter.publish(content(), state, Saved())
    with pytest.raises(Pending) as second:
        adapter.publish(content(), state, Saved())
    assert time.monotonic() - started < 2  # no sleep inside the adapter
    assert (first.value.check_after, second.value.check_after) == (0.5, 5.0)
    assert standin.calls("/cgi-bin/freepublish/get") == 2
    standin.config(wechat_publish_polls=0)
    assert adapter.publish(content(), state, Saved()).post_id
    assert standin.calls("/cgi-bin/freepublish/submit") == 1


def test_publish_refused_by_review_is_permanent_and_a_retry_starts_a_new_draft(standin):
    standin.config(wechat_publish_outcome=4, wechat_publish_polls=0)
    saved, state = Saved(), {}
    with pytest.raises(PermanentError, match="平台审核不通过"):
        wechat(standin).publish(content(), state, saved)
    assert "publish_id" not in saved[-1] and "draft_media_id" not in saved[-1]
    assert saved[-1]["cover_media_id"]  # uploads are kept


# ------------------------------------------------------------------------- WeChat tokens
def test_revoked_token_is_refreshed_once_then_the_call_succeeds(standin):
    adapter = wechat(standin)
    adapter.publish(content(1), {}, Saved())
    standin.fault(revoke_tokens=True)
    result = adapter.publish(content(2), {}, Saved())
    assert result.post_id
    assert [t["force_refresh"] for t in standin.token_requests()] == [False, False]
    assert standin.calls("/cgi-bin/material/add_material") == 3  # 2 + the refused one


def test_persistent_40001_gives_auth_error_after_exactly_one_refresh(standin):
    standin.fault(path="/cgi-bin/draft/add", errcode=40001, times=1000)
    with pytest.raises(AuthError) as caught:
        wechat(standin).publish(content(), {}, Saved())
    assert caught.value.platform_code == 40001 and not caught.value.retryable
    assert not caught.value.token_expired
    assert standin.calls("/cgi-bin/draft/add") == 2  # the call and its one retry
    # Initial fetch; the refresh asks normally, WeChat hands back the same token, so one
    # forced fetch. No more.
    assert [t["force_refresh"] for t in standin.token_requests()] == [False, False, True]


def test_wrong_app_secret_is_an_auth_error(standin):
    with pytest.raises(AuthError) as caught:
        wechat(standin, credentials={"app_id": APP_ID, "app_secret": "wrong"}).publish(
            content(), {}, Saved())
    assert caught.value.platform_code == 40125 and "AppSecret" in caught.value.text()
    assert standin.calls("/cgi-bin/material/add_material") == 0


def _publish_in_threads(adapters):
    results, errors = [], []

    def run(i, adapter):
        try:
            results.append(adapter.publish(content(i + 1), {}, Saved()))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(adapters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


@pytest.mark.redis
def test_workers_sharing_redis_fetch_the_token_once(standin, redis_service):
    from redis import Redis

    Redis.from_url(redis_service.url).flushdb()
    # A slow token endpoint makes sure both workers want the token at the same time.
    standin.fault(path="/cgi-bin/stable_token", delay=0.5)
    workers = [wechat(standin, redis=Redis.from_url(redis_service.url)) for _ in range(2)]
    assert len(_publish_in_threads(workers)) == 2
    assert len(standin.token_requests()) == 1
    # A third worker, later, reuses it from Redis.
    wechat(standin, redis=Redis.from_url(redis_service.url)).publish(content(9), {}, Saved())
    assert len(standin.token_requests()) == 1
    keys = Redis.from_url(redis_service.url).keys("govmedia:wechat:*access_token")
    assert len(keys) == 1
    assert 0 < Redis.from_url(redis_service.url).ttl(keys[0]) <= 7200 - 300


@pytest.mark.redis
def test_refresh_through_redis_is_shared_too(standin, redis_service):
    from redis import Redis

    Redis.from_url(redis_service.url).flushdb()
    first = wechat(standin, redis=Redis.from_url(redis_service.url))
    first.publish(content(1), {}, Saved())
    standin.fault(revoke_tokens=True)
    first.publish(content(2), {}, Saved())  # refreshes
    second = wechat(standin, redis=Redis.from_url(redis_service.url))
    second.publish(content(3), {}, Saved())  # uses the refreshed token from Redis
    assert len(standin.token_requests()) == 2


def test_embedded_mode_shares_the_token_inside_the_process(standin):
    standin.fault(path="/cgi-bin/stable_token", delay=0.5)
    assert len(_publish_in_threads([wechat(standin), wechat(standin)])) == 2
    assert len(standin.token_requests()) == 1


# ------------------------------------------------------------------------- unconfirmed
def test_wechat_timeout_after_commit_is_found_and_not_sent_again(standin):
    standin.config(wechat_publish_seconds=0)
    standin.fault(path="/cgi-bin/freepublish/submit", after_commit_delay=1.0)
    state = {}
    with pytest.raises(UnconfirmedError):
        wechat(standin, timeout=0.3).publish(content(), state, Saved())
    assert "publish_id" not in state  # the answer never came

    found = wechat(standin).find_existing(content(), state)
    assert found is not None and found.post_id == state["article_id"]
    assert requests.get(found.post_url, timeout=5).status_code == 200
    # With the id learnt, publish returns at once.
    assert wechat(standin).publish(content(), state, Saved()) == found
    assert standin.calls("/cgi-bin/freepublish/submit") == 1
    assert standin.posts("wechat")["count"] == 1


def test_wechat_find_existing_with_publish_id_asks_freepublish_get(standin):
    standin.config(wechat_publish_polls=100, wechat_publish_seconds=100)
    state = {}
    with pytest.raises(Pending):
        wechat(standin, poll_attempts=1).publish(content(), state, Saved())
    with pytest.raises(Pending, match="正在发布"):
        wechat(standin).find_existing(content(), state)
    standin.config(wechat_publish_polls=0)
    found = wechat(standin).find_existing(content(), state)
    assert found is not None and found.post_id == state["article_id"]
    assert standin.calls("/cgi-bin/freepublish/batchget") == 0


def test_find_existing_finds_nothing_when_nothing_went_out(standin):
    assert wechat(standin).find_existing(content(), {}) is None
    assert weibo(standin).find_existing(content(), {}) is None


def test_weibo_timeout_after_commit_is_found_and_not_sent_again(standin):
    standin.fault(path="/2/statuses/share.json", after_commit_delay=1.0)
    state = {}
    with pytest.raises(UnconfirmedError):
        weibo(standin, timeout=0.3).publish(content(), state, Saved())
    found = weibo(standin).find_existing(content(), state)
    assert found is not None and state["post_id"] == found.post_id
    assert weibo(standin).publish(content(), state, Saved()) == found
    assert standin.calls("/2/statuses/share.json") == 1
    assert standin.posts("weibo")["count"] == 1


# ------------------------------------------------------------------------- mass send
def test_mass_send_mode_and_an_unconfirmed_resend_is_deduplicated(standin):
    options = {"mode": "mass"}
    state = {}
    result = wechat(standin, account_options=options).publish(content(), state, Saved())
    assert result.post_id == state["msg_id"] and result.post_url is None
    assert standin.calls("/cgi-bin/freepublish/submit") == 0

    standin.fault(path="/cgi-bin/message/mass/sendall", after_commit_delay=1.0)
    state2 = {}
    with pytest.raises(UnconfirmedError):
        wechat(standin, timeout=0.3, account_options=options).publish(content(2), state2,
                                                                      Saved())
    assert wechat(standin, account_options=options).find_existing(content(2), state2) is None
    again = wechat(standin, account_options=options).publish(content(2), state2, Saved())
    # 45065 names the first send's msg_id: the resend is that send, not a second one.
    mass = [p for p in standin.posts("wechat")["items"] if p["kind"] == "mass"]
    assert len(mass) == 2 and standin.calls("/cgi-bin/message/mass/sendall") == 3
    assert again.post_id == mass[1]["msg_id"] == state2["msg_id"]

    wechat(standin, account_options=options).withdraw(state, result.post_id)
    assert [p["deleted"] for p in standin.posts("wechat")["items"]] == [True, False]
    # Known by its msg_id, the deduplicated send can be withdrawn like any other.
    wechat(standin, account_options=options).withdraw(state2, again.post_id)
    assert [p["deleted"] for p in standin.posts("wechat")["items"]] == [True, True]
    # Without a msg_id (a platform that named none), it is left to a person.
    with pytest.raises(PermanentError, match="手动删除"):
        wechat(standin, account_options=options).withdraw({"mode": "mass"}, "clientmsgid:x")


# ------------------------------------------------------------------------- withdrawal
def test_withdraw_removes_the_posts_and_is_idempotent(standin):
    wc_state, wb_state = {}, {}
    wc = wechat(standin).publish(content(), wc_state, Saved())
    wb = weibo(standin).publish(content(), wb_state, Saved())

    wechat(standin).withdraw(wc_state, wc.post_id)
    weibo(standin).withdraw(wb_state, wb.post_id)
    assert standin.posts("wechat")["live"] == 0 and standin.posts("weibo")["live"] == 0
    assert requests.get(wc.post_url, timeout=5).status_code == 404
    assert requests.get(wb.post_url, timeout=5).status_code == 404
    # Already gone: a retried withdrawal succeeds.
    wechat(standin).withdraw(wc_state, wc.post_id)
    weibo(standin).withdraw(wb_state, wb.post_id)


def test_withdraw_errors_use_the_same_classes(standin):
    wb_state = {}
    wb = weibo(standin).publish(content(), wb_state, Saved())
    standin.fault(path="/2/statuses/destroy.json", errcode=10023)
    with pytest.raises(RetryableError):
        weibo(standin).withdraw(wb_state, wb.post_id)
    standin.fault(path="/cgi-bin/freepublish/delete", errcode=48001)
    with pytest.raises(PermanentError, match="api功能未授权"):
        wechat(standin).withdraw({}, "ARTICLE-x")


# ------------------------------------------------------------------------- registry
def test_registry_and_get_adapter_read_the_base_urls():
    assert ADAPTERS["wechat"] is WechatAdapter and ADAPTERS["weibo"] is WeiboAdapter
    config = {"WECHAT_API_BASE_URL": "http://gw.example/wx/", "WEIBO_API_BASE_URL":
              "http://gw.example/wb", "ADAPTER_TIMEOUT": 4}
    adapter = get_adapter("wechat", {"app_id": "a", "app_secret": "s"}, config)
    assert isinstance(adapter, WechatAdapter) and adapter.timeout == 4.0
    assert adapter.client.API_BASE_URL == "http://gw.example/wx/cgi-bin/"
    assert get_adapter("weibo", {"access_token": "t"}, config).base_url == "http://gw.example/wb"
    assert get_adapter("weibo", {"access_token": "t"}, {}).base_url == "https://api.weibo.com"
    with pytest.raises(PermanentError, match="不支持"):
        get_adapter("kuaishou", {}, config)
    with pytest.raises(PermanentError, match="app_secret"):
        get_adapter("wechat", {"app_id": "a"}, config)
