"""The stand-in platforms themselves: token checks, fault injection, control endpoints, and the
`python -m standins` entry point."""
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from services import free_port

from standins import DEFAULT_WECHAT_APPS, DEFAULT_WEIBO_TOKENS, make_app, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
APP_ID, APP_SECRET = next(iter(DEFAULT_WECHAT_APPS.items()))
WEIBO_TOKEN = next(iter(DEFAULT_WEIBO_TOKENS))


@pytest.fixture(scope="module")
def url():
    server, url = serve_in_thread("127.0.0.1", 0)
    yield url
    server.shutdown()


@pytest.fixture(autouse=True)
def _reset(url):
    requests.post(f"{url}/_standin/reset", timeout=5).raise_for_status()


def token(url, kind="stable", force=False):
    if kind == "classic":
        return requests.get(f"{url}/cgi-bin/token", timeout=5, params={
            "grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET}).json()
    return requests.post(f"{url}/cgi-bin/stable_token", timeout=5, json={
        "grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET,
        "force_refresh": force}).json()


def draft_get(url, access_token):
    return requests.post(f"{url}/cgi-bin/draft/get", timeout=5, json={"media_id": "x"},
                         params={"access_token": access_token} if access_token else {}).json()


def test_wechat_tokens_are_checked_like_the_platform(url):
    assert draft_get(url, None)["errcode"] == 41001
    assert draft_get(url, "never-issued")["errcode"] == 40001
    stable = token(url)["access_token"]
    assert draft_get(url, stable)["errcode"] == 40007  # token accepted, draft unknown
    assert token(url)["access_token"] == stable  # normal mode keeps the valid token
    forced = token(url, force=True)["access_token"]
    assert forced != stable and draft_get(url, stable)["errcode"] == 40001
    first = token(url, "classic")["access_token"]
    second = token(url, "classic")["access_token"]
    assert draft_get(url, first)["errcode"] == 40001 and draft_get(url, second)["errcode"] == 40007
    bad = requests.post(f"{url}/cgi-bin/stable_token", timeout=5, json={
        "grant_type": "client_credential", "appid": APP_ID, "secret": "nope"}).json()
    assert bad == {"errcode": 40125, "errmsg": "invalid appsecret"}
    unknown = requests.get(f"{url}/cgi-bin/token", timeout=5, params={
        "grant_type": "client_credential", "appid": "wxunknown", "secret": "s"}).json()
    assert unknown["errcode"] == 40013


def test_expired_wechat_token_answers_42001(url):
    requests.post(f"{url}/_standin/config", json={"token_expires_in": 0}, timeout=5)
    assert draft_get(url, token(url)["access_token"])["errcode"] == 42001


def test_faults_count_down_match_prefixes_and_can_be_cleared(url):
    stable = token(url)["access_token"]
    requests.post(f"{url}/_standin/faults", timeout=5,
                  json={"path": "/cgi-bin/*", "errcode": 45009, "times": 2})
    assert draft_get(url, stable)["errcode"] == 45009
    assert draft_get(url, stable)["errcode"] == 45009
    assert draft_get(url, stable)["errcode"] == 40007
    requests.post(f"{url}/_standin/faults", timeout=5,
                  json={"path": "/cgi-bin/draft/get", "http_status": 503, "times": 5})
    assert requests.post(f"{url}/cgi-bin/draft/get", params={"access_token": stable},
                         timeout=5).status_code == 503
    requests.delete(f"{url}/_standin/faults", timeout=5)
    assert draft_get(url, stable)["errcode"] == 40007
    calls = requests.get(f"{url}/_standin/calls", timeout=5).json()["calls"]
    assert calls["/cgi-bin/draft/get"] == 5


def test_revoking_tokens_makes_every_token_answer_40001(url):
    stable = token(url)["access_token"]
    requests.post(f"{url}/_standin/faults", json={"revoke_tokens": True}, timeout=5)
    assert draft_get(url, stable)["errcode"] == 40001
    assert draft_get(url, token(url)["access_token"])["errcode"] == 40007


def test_weibo_errors_have_the_platform_shape(url):
    answer = requests.post(f"{url}/2/statuses/share.json", timeout=5,
                           data={"access_token": "bogus", "status": "x https://a.gov.cn"})
    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid_access_token", "error_code": 21332,
                             "request": "/2/statuses/share.json"}
    missing = requests.post(f"{url}/2/statuses/share.json", timeout=5,
                            data={"access_token": WEIBO_TOKEN})
    assert missing.json()["error_code"] == 10016
    requests.post(f"{url}/_standin/config", timeout=5,
                  json={"weibo_safe_domains": ["example.gov.cn"]})
    outside = requests.post(f"{url}/2/statuses/share.json", timeout=5, data={
        "access_token": WEIBO_TOKEN, "status": "看 https://elsewhere.com/a"})
    assert outside.json()["error_code"] == 10017
    inside = requests.post(f"{url}/2/statuses/share.json", timeout=5, data={
        "access_token": WEIBO_TOKEN, "status": "看 https://www.example.gov.cn/a"})
    assert inside.status_code == 200 and inside.json()["idstr"]
    bad_pic = requests.post(f"{url}/2/statuses/share.json", timeout=5, data={
        "access_token": WEIBO_TOKEN, "status": "再看 https://www.example.gov.cn/b"},
        files={"pic": ("a.txt", b"not an image")})
    assert bad_pic.json()["error_code"] == 20005


def test_posts_reset_and_unknown_config(url):
    requests.post(f"{url}/2/statuses/share.json", timeout=5, data={
        "access_token": WEIBO_TOKEN, "status": "通知 https://www.example.gov.cn/a"})
    posts = requests.get(f"{url}/_standin/posts", timeout=5).json()
    assert posts["weibo"]["count"] == 1 and posts["wechat"]["count"] == 0
    assert "平台模拟器" in requests.get(f"{url}/", timeout=5).text
    requests.post(f"{url}/_standin/reset", timeout=5)
    assert requests.get(f"{url}/_standin/posts", timeout=5).json()["weibo"]["count"] == 0
    assert requests.post(f"{url}/_standin/config", json={"nope": 1}, timeout=5).status_code == 400


def test_make_app_takes_its_own_accounts():
    app = make_app(wechat_apps={"wxmine": "s3cret"}, weibo_tokens={})
    client = app.test_client()
    ok = client.post("/cgi-bin/stable_token", json={
        "grant_type": "client_credential", "appid": "wxmine", "secret": "s3cret"}).get_json()
    assert ok["access_token"] and ok["expires_in"] == 7200
    refused = client.post("/2/statuses/share.json", data={
        "access_token": WEIBO_TOKEN, "status": "x https://a.gov.cn"}).get_json()
    assert refused["error_code"] == 21332


def test_runs_as_a_module():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "standins", "--port", str(port)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/_standin/posts", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, \
                    process.stdout.read() if process.poll() is not None else "not listening"
                time.sleep(0.1)
        assert answer.json()["wechat"]["count"] == 0
    finally:
        process.terminate()
        process.wait(10)
