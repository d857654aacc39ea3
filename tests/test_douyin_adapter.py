"""The Douyin adapter against the stand-in open platform over loopback HTTP: authorisation
code, upload in parts, create, the platform's review, refresh, a lapsed authorisation,
interruptions that resume without a second post, withdrawal."""
import copy
import hashlib
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from media import make_video

from adapters import (
    ADAPTERS,
    AuthError,
    Content,
    DouyinAdapter,
    PermanentError,
    UnconfirmedError,
    UnderReview,
    get_adapter,
)
from adapters.douyin_client import (
    SCOPES,
    MultipartFile,
    authorize_url,
    exchange_code,
    renew_refresh_token,
)
from standins import DEFAULT_DOUYIN_APPS, serve_in_thread

# The adapters' messages are said as a job says them: in Chinese, the default.
pytestmark = pytest.mark.usefixtures("chinese_words")

CLIENT_KEY, CLIENT_SECRET = next(iter(DEFAULT_DOUYIN_APPS.items()))
PART = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def standin_url():
    server, url = serve_in_thread("127.0.0.1", 0)
    yield url
    server.shutdown()


class Standin:
    def __init__(self, url):
        self.url = url

    def post(self, endpoint, **body):
        res = requests.post(f"{self.url}{endpoint}", json=body, timeout=5)
        res.raise_for_status()
        return res.json()

    def calls(self, path):
        return requests.get(f"{self.url}/_standin/calls", timeout=5).json()["calls"].get(path, 0)

    def douyin(self):
        return requests.get(f"{self.url}/_standin/posts", timeout=5).json()["douyin"]


@pytest.fixture
def standin(standin_url):
    requests.post(f"{standin_url}/_standin/reset", timeout=5).raise_for_status()
    stand = Standin(standin_url)
    stand.post("/_standin/config", douyin_min_part_bytes=1024 * 1024)
    return stand


@pytest.fixture(scope="module")
def big_video(tmp_path_factory):
    """~25 MB: seven parts of 4 MB."""
    return make_video(tmp_path_factory.mktemp("dy") / "big.mp4", seconds=18, size="1280x720")


@pytest.fixture(scope="module")
def small_video(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("dy") / "small.mp4", seconds=1)


def authorise(standin, open_id="standin-douyin-user-1") -> dict:
    """The sponsor's browser: the connect page, the approve button, the redirect with a code;
    then the product's exchange of the code for tokens."""
    url = authorize_url(standin.url, CLIENT_KEY, "http://govmedia.test/cb", "st4te")
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "video.create" in page.text
    form = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()} | {"open_id": open_id}
    answer = requests.post(f"{standin.url}/platform/oauth/approve", data=form,
                           allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    back = parse_qs(urlparse(answer.headers["Location"]).query)
    assert back["state"] == ["st4te"]
    return exchange_code(standin.url, CLIENT_KEY, CLIENT_SECRET, back["code"][0], timeout=5)


def adapter(standin, credentials, **kwargs):
    kwargs.setdefault("timeout", 5.0)
    return DouyinAdapter(credentials, base_url=standin.url, douyin_client_key=CLIENT_KEY,
                         douyin_client_secret=CLIENT_SECRET, douyin_part_bytes=PART,
                         douyin_single_upload_max_bytes=PART, douyin_review_check_seconds=7,
                         **kwargs)


def content(video, n=1, **overrides):
    values = {"article_id": n, "revision": f"rev-{n}", "title": f"某县第{n}期政务短视频",
              "body_html": "<p>正文</p>", "digest": "防汛提示", "author": "县融媒体中心",
              "source_url": None, "cover_image": None, "cover_filename": None,
              "weibo_text": "", "video_path": str(video) if video else None,
              "video_size": video.stat().st_size if video else None}
    return Content(**{**values, **overrides})


class Saver:
    """The delivery row's state as committed: a copy at every save_state."""

    def __init__(self):
        self.saved = {}

    def __call__(self, state):
        self.saved = copy.deepcopy(state)


def settle(douyin, item, state, saver):
    """Publish until the platform's review settles (the job's follow-ups, without the wait)."""
    for _ in range(5):
        try:
            return douyin.publish(item, state, saver)
        except UnderReview as exc:
            assert exc.retry_after == 7 and exc.item_id == state["item_id"]
            assert exc.platform_code is None
    raise AssertionError("still under review")


def test_registered_by_platform_name_with_its_settings(standin):
    assert ADAPTERS["douyin"] is DouyinAdapter
    credentials = {"open_id": "o", "access_token": "a", "refresh_token": "r"}
    built = get_adapter("douyin", credentials, {"DOUYIN_API_BASE_URL": standin.url + "/",
                                                "DOUYIN_PART_BYTES": 123})
    assert built.base_url == standin.url and built.part_bytes == 123
    assert get_adapter("douyin", credentials, {}).base_url == "https://open.douyin.com"
    with pytest.raises(PermanentError, match="refresh_token"):
        get_adapter("douyin", {"open_id": "o", "access_token": "a"}, {})


def test_authorisation_code_gives_tokens_with_the_publishing_scopes(standin):
    credentials = authorise(standin)
    assert credentials["open_id"] == "standin-douyin-user-1"
    assert credentials["access_token"].startswith("act.")
    assert credentials["refresh_token"].startswith("rft.")
    assert credentials["expires_at"] > 0 and credentials["refresh_expires_at"] > 0
    assert set(SCOPES) <= set(credentials["scope"].split(","))
    with pytest.raises(PermanentError, match="DOUYIN_CLIENT_KEY"):
        exchange_code(standin.url, CLIENT_KEY, "wrong-secret", "nope", timeout=5)
    with pytest.raises(PermanentError, match="授权码") as reused:
        exchange_code(standin.url, CLIENT_KEY, CLIENT_SECRET, "used-or-made-up", timeout=5)
    assert reused.value.platform_code == 10007


def test_large_video_goes_out_in_parts_then_waits_for_review(standin, big_video):
    douyin, saver, state = adapter(standin, authorise(standin)), Saver(), {}
    item = content(big_video)
    with pytest.raises(UnderReview, match="审核中"):
        douyin.publish(item, state, saver)
    size = big_video.stat().st_size
    parts = -(-size // PART)
    assert parts >= 6
    assert saver.saved["item_id"] and saver.saved["video_id"]  # committed before the review
    assert standin.calls("/video/part/init/") == 1
    assert standin.calls("/video/part/upload/") == parts
    assert standin.calls("/video/upload/") == 0
    posted = standin.douyin()
    assert posted["under_review"] == 1
    assert posted["items"][0]["size"] == size and posted["items"][0]["parts"] == parts
    result = settle(douyin, item, state, saver)
    assert result.post_id == state["item_id"]
    assert result.post_url == f"{standin.url}/video/{state['item_id']}"
    assert standin.calls("/video/create/") == 1 and standin.douyin()["under_review"] == 0


def test_small_video_in_one_request(standin, small_video):
    douyin, state = adapter(standin, authorise(standin)), {}
    settle(douyin, content(small_video), state, Saver())
    assert standin.calls("/video/upload/") == 1 and standin.calls("/video/part/init/") == 0


class ReadSizes:
    """A file that records how much each read asks for."""

    def __init__(self, file):
        self.file, self.asked = file, []

    def read(self, size=-1):
        self.asked.append(size)
        return self.file.read(size)

    def close(self):
        self.file.close()


def test_a_part_is_read_from_disk_as_the_request_goes_out(tmp_path):
    """A 100 MB video to 50 accounts never sits whole in a worker: requests gets the part as a
    file-like body (sent as it is read), and each read takes from disk only what is asked."""
    data = bytes(range(256)) * 2000
    path = tmp_path / "video.mp4"
    path.write_bytes(data)
    body = MultipartFile(str(path), "video", "video.mp4", offset=1000, length=300_000)
    prepared = requests.Request("POST", "http://douyin.test/video/part/upload/", data=body,
                                headers={"Content-Type": body.content_type}).prepare()
    assert prepared.body is body  # not bytes: nothing was read yet
    length, tail = len(body), f"\r\n--{body.boundary}--\r\n".encode()
    assert prepared.headers["Content-Length"] == str(length)
    body.file = ReadSizes(body.file)
    chunks = list(iter(lambda: body.read(8192), b""))
    body.close()
    assert all(len(chunk) <= 8192 for chunk in chunks)
    assert body.file.asked and all(0 < size <= 8192 for size in body.file.asked)
    sent = b"".join(chunks)
    assert len(sent) == length and data[1000:301000] in sent and sent.endswith(tail)


def test_interrupted_mid_upload_resumes_without_a_second_post(standin, big_video):
    credentials = authorise(standin)
    item = content(big_video)

    class Killed(Exception):
        pass

    saver = Saver()

    def dies_after_third_part(state):
        saver(state)
        if state.get("parts_done") == 3:
            raise Killed  # the worker dies right after Douyin took part 3

    with pytest.raises(Killed):
        adapter(standin, credentials).publish(item, {}, dies_after_third_part)
    assert saver.saved["parts_done"] == 3
    # A new worker, a new adapter, the row's state as committed:
    state = copy.deepcopy(saver.saved)
    settle(adapter(standin, credentials), item, state, saver)
    parts = -(-big_video.stat().st_size // PART)
    assert standin.calls("/video/part/init/") == 1
    assert standin.calls("/video/part/upload/") == parts  # no part sent twice
    assert standin.douyin()["count"] == 1


def test_a_failed_part_is_sent_again_and_nothing_else(standin, big_video):
    credentials, saver, state = authorise(standin), Saver(), {}
    standin.post("/_standin/faults", path="/video/part/upload/", http_status=503, times=1)
    with pytest.raises(Exception) as failed:
        adapter(standin, credentials).publish(content(big_video), state, saver)
    assert failed.value.retryable
    settle(adapter(standin, credentials), content(big_video), saver.saved, saver)
    assert standin.calls("/video/part/init/") == 1 and standin.douyin()["count"] == 1


def test_lost_answer_to_create_is_found_not_posted_again(standin, small_video):
    credentials, saver, state = authorise(standin), Saver(), {}
    standin.post("/_standin/faults", path="/video/create/", after_commit_delay=1.5, times=1)
    with pytest.raises(UnconfirmedError):
        adapter(standin, credentials, timeout=0.5).publish(content(small_video), state, saver)
    assert "item_id" not in state
    douyin = adapter(standin, credentials)
    with pytest.raises(UnderReview):
        douyin.find_existing(content(small_video), state)
    assert douyin.find_existing(content(small_video), state).post_id == state["item_id"]
    assert standin.calls("/video/create/") == 1 and standin.douyin()["count"] == 1


def test_expired_access_token_is_refreshed_and_handed_back(standin, small_video):
    credentials = authorise(standin)
    standin.post("/_standin/douyin/expire_access")
    douyin, stored = adapter(standin, credentials), []
    douyin.save_credentials = stored.append
    settle(douyin, content(small_video), {}, Saver())
    assert standin.calls("/oauth/refresh_token/") == 1
    assert stored[0]["access_token"] != credentials["access_token"]
    assert stored[0]["refresh_token"] == credentials["refresh_token"]


def test_token_near_its_end_is_refreshed_before_the_call(standin, small_video):
    credentials = authorise(standin)
    credentials["expires_at"] = 1.0  # long past, by our own record
    douyin, stored = adapter(standin, credentials), []
    douyin.save_credentials = stored.append
    settle(douyin, content(small_video), {}, Saver())
    assert standin.calls("/oauth/refresh_token/") == 1 and len(stored) == 1


def test_lapsed_authorisation_is_token_expired(standin, small_video):
    credentials = authorise(standin)
    standin.post("/_standin/douyin/lapse")
    with pytest.raises(AuthError) as lapsed:
        adapter(standin, credentials).publish(content(small_video), {}, Saver())
    assert lapsed.value.token_expired and "重新授权" in lapsed.value.text()
    assert lapsed.value.platform_code == 10010  # the refresh was tried and refused
    assert standin.douyin()["count"] == 0


def test_renewed_refresh_token_replaces_the_old_one(standin):
    credentials = authorise(standin)
    renewed = renew_refresh_token(credentials, base_url=standin.url, client_key=CLIENT_KEY,
                                  timeout=5)
    assert renewed["refresh_token"] != credentials["refresh_token"]
    with pytest.raises(AuthError):
        renew_refresh_token(credentials, base_url=standin.url, client_key=CLIENT_KEY,
                            timeout=5)


def test_refused_by_review_is_permanent(standin, small_video):
    standin.post("/_standin/config", douyin_review_outcome=2, douyin_review_queries=0)
    with pytest.raises(PermanentError, match="审核未通过"):
        adapter(standin, authorise(standin)).publish(content(small_video), {}, Saver())


def test_bytes_changed_since_approval_are_never_sent(standin, small_video, tmp_path):
    approved = content(small_video)
    approved.video_sha256 = hashlib.sha256(small_video.read_bytes()).hexdigest()
    changed = tmp_path / "changed.mp4"
    data = bytearray(small_video.read_bytes())
    data[-1] ^= 0xFF  # same size, one byte different
    changed.write_bytes(bytes(data))
    approved.video_path = str(changed)
    with pytest.raises(PermanentError, match="内容不同"):
        adapter(standin, authorise(standin)).publish(approved, {}, Saver())
    assert standin.calls("/video/upload/") == 0 and standin.calls("/video/part/init/") == 0
    approved.video_path = str(small_video)  # the approved bytes go out
    settle(adapter(standin, authorise(standin)), approved, {}, Saver())


def test_no_video_is_refused_before_any_call(standin):
    with pytest.raises(PermanentError, match="没有视频"):
        adapter(standin, authorise(standin)).publish(content(None), {}, Saver())
    assert standin.calls("/video/create/") == 0


def test_withdrawal_deletes_the_post(standin, small_video):
    douyin, state = adapter(standin, authorise(standin)), {}
    result = settle(douyin, content(small_video), state, Saver())
    douyin.withdraw(state, result.post_id)
    assert standin.douyin()["live"] == 0
    douyin.withdraw(state, result.post_id)  # already gone counts as withdrawn
    assert requests.get(result.post_url, timeout=5).status_code == 404


def cover_png() -> bytes:
    import base64

    from cluster import png_base64
    return base64.b64decode(png_base64())


def test_an_article_without_a_video_goes_out_as_an_image_text_post(standin):
    douyin, state, saver = adapter(standin, authorise(standin)), {}, Saver()
    item = content(None, n=7, cover_image=cover_png(), cover_filename="cover.png")
    result = settle(douyin, item, state, saver)
    assert saver.saved["image_id"] and saver.saved["item_id"] == result.post_id
    assert standin.calls("/image/upload/") == 1 and standin.calls("/image/create/") == 1
    assert standin.calls("/video/upload/") == 0 and standin.calls("/video/create/") == 0
    posts = standin.douyin()
    assert posts["live"] == 1 and "图片" in requests.get(result.post_url, timeout=5).text
    # published again (a retry after the answer): nothing new is uploaded or created
    assert douyin.publish(item, state, saver).post_id == result.post_id
    assert standin.calls("/image/create/") == 1
    douyin.withdraw(state, result.post_id)
    assert standin.douyin()["live"] == 0


def test_a_lost_answer_to_the_image_post_is_found_not_posted_again(standin):
    credentials, saver, state = authorise(standin), Saver(), {}
    item = content(None, n=8, cover_image=cover_png(), cover_filename="cover.png")
    standin.post("/_standin/faults", path="/image/create/", after_commit_delay=1.5, times=1)
    with pytest.raises(UnconfirmedError):
        adapter(standin, credentials, timeout=0.5).publish(item, state, saver)
    assert "item_id" not in state and state["image_id"]
    douyin = adapter(standin, credentials)
    with pytest.raises(UnderReview):
        douyin.find_existing(item, state)
    assert douyin.find_existing(item, state).post_id == state["item_id"]
    assert standin.calls("/image/create/") == 1 and standin.douyin()["count"] == 1


def test_a_picture_the_platform_refuses_is_permanent(standin):
    item = content(None, n=9, cover_image=b"not a picture at all", cover_filename="cover.jpg")
    with pytest.raises(PermanentError):
        adapter(standin, authorise(standin)).publish(item, {}, Saver())
    assert standin.calls("/image/create/") == 0
