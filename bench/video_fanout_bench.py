"""Video fan-out: one ~100 MB video to 50 Douyin accounts beside bare uploads of the same bytes.

    .venv/bin/python bench/video_fanout_bench.py                   # 100 MB, 50 targets, 3 rounds
    .venv/bin/python bench/video_fanout_bench.py --video-mb 10 --targets 10   # a quick look
    .venv/bin/python bench/video_fanout_bench.py --workers 4 --rounds 5
    BENCH_DATABASE_URL=postgresql://... .venv/bin/python bench/video_fanout_bench.py

Issue 15's bar: the product's fan-out of video posts reaches >= 80 % of bare uploads of the
same bytes to the same stand-in, and memory stays flat (the file is streamed, never read
whole). Throwaway PostgreSQL and redis-server, the stand-in platforms in their own process
(`python -m standins`), N `flask --app wsgi worker` processes (SimpleWorker), as
bench/fanout_bench.py runs them.

The video is made once with Debian's ffmpeg (MPEG-4 test pattern cut at the wanted size, so
ffprobe reads it as a real video) and stored through the product's own `receive_video`
(hashed, probed, a cover frame); each round signs off one article carrying it to the
`--targets` Douyin accounts, authorised at the stand-in by its OAuth pages and the product's
code exchange. "fan-out" is the product's path (sign-off rows -> dispatch -> send: claim,
Douyin adapter checking the bytes, uploading in parts, creating the post, asking its review
status, post recorded) until every delivery is `sent`. "baseline" is the same number of bare
RQ jobs through the same workers calling the same adapter with the same file and credentials,
no database. The stand-in ends the review at the first status query on both sides (a real
review's wait is the platform's time, not the product's). Rounds interleave; the median
ratio baseline_time / fan-out_time is the figure.

Memory: each worker's peak RSS (VmHWM in /proc/<pid>/status, reset before each side through
/proc/<pid>/clear_refs) is printed beside the video's size; a peak above the worker's idle
RSS plus the video's size is flagged: the file was read whole somewhere.

Never runs in CI; results go in docs/FANOUT.md. Temporary files (database, video, the
product's VIDEO_DIR) are removed at the end, also on SIGTERM.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.fanout_bench import queued_deliveries, start_workers, stop_processes  # noqa: E402
from govmedia.queue import job  # noqa: E402  (after the path above)

MB = 1024 * 1024


@job("deliveries")
def baseline_upload(credentials: dict, n: int, title: str, video: dict) -> str:
    """The baseline job: the Douyin adapter's upload, create and review query with the same
    file, no database."""
    from flask import current_app

    from adapters import Content, get_adapter

    content = Content(article_id=n, revision=f"b{n}", title=title, body_html="<p>基准</p>",
                      digest="", author="", source_url=None, cover_image=None,
                      cover_filename=None, weibo_text="", video_path=video["path"],
                      video_sha256=video["sha256"], video_size=video["size"])
    adapter = get_adapter("douyin", dict(credentials), current_app.config)
    return adapter.publish(content, {}, lambda saved: None).post_id


# ---------------------------------------------------------------------- the video
def make_video(path: Path, megabytes: float) -> Path:
    """An MP4 cut at `megabytes` by ffmpeg's -fs (the muxer still closes the file, so ffprobe
    reads it); 1280x720 MPEG-4 at top quality is ~1.4 MB a second, far under 15 minutes."""
    subprocess.run(["ffmpeg", "-v", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440", "-t", "840",
                    "-fs", str(int(megabytes * MB)), "-c:v", "mpeg4", "-q:v", "1",
                    "-c:a", "aac", "-shortest", str(path)], check=True, timeout=600)
    return path


def store_video(editor, path: Path):
    """The product's own upload service: streamed to VIDEO_DIR, hashed, probed, a frame."""
    from govmedia.extensions import db
    from publisher.videos import receive_video

    with open(path, "rb") as stream:
        video = receive_video(editor, stream, path.stat().st_size, path.name)
    db.session.commit()
    return video


# ---------------------------------------------------------------------- the stand-in
def standin_posts(url) -> list[dict]:
    import requests

    return requests.get(url + "/_standin/posts", timeout=30).json()["douyin"]["items"]


def public_posts(url) -> int:
    return sum(p["video_status"] == 5 and not p["deleted"] for p in standin_posts(url))


def check_sizes(url, size: int) -> None:
    """Every post the stand-in holds carries the whole video (the bytes really went)."""
    wrong = [p["item_id"] for p in standin_posts(url) if p["size"] != size]
    if wrong:
        raise SystemExit(f"posts without the whole video ({size} bytes): {wrong[:5]}")


def authorise(url: str, open_id: str) -> dict:
    """The sponsor's clicks at the stand-in's OAuth page, then the product's code exchange."""
    import requests

    from adapters.douyin_client import authorize_url, exchange_code
    from standins import DEFAULT_DOUYIN_APPS

    key, secret = next(iter(DEFAULT_DOUYIN_APPS.items()))
    link = authorize_url(url, key, "http://govmedia.bench/cb", "bench")
    form = {k: v[0] for k, v in parse_qs(urlparse(link).query).items()} | {"open_id": open_id}
    answer = requests.post(f"{url}/platform/oauth/approve", data=form, allow_redirects=False,
                           timeout=30)
    code = parse_qs(urlparse(answer.headers["Location"]).query)["code"][0]
    return exchange_code(url, key, secret, code, timeout=30)


# ---------------------------------------------------------------------- the product's rows
def setup_accounts(n: int, url: str):
    """Authorised Douyin accounts, straight into the tables (the bench measures sending)."""
    from datetime import date

    from govmedia.extensions import db
    from govmedia.models import User
    from govmedia.secrets import encrypt
    from registry.models import Account, AccountCredential, Unit

    unit = Unit(name="视频基准测试单位", contacts=[])
    db.session.add(unit)
    db.session.flush()
    editor = User(username="bench-editor", password_hash="x", roles=["editor"],
                  unit_id=unit.id, active=True, session_version=1)
    db.session.add(editor)
    accounts, credentials = [], []
    for i in range(n):
        account = Account(unit_id=unit.id, platform="douyin", name=f"抖音基准账号{i}",
                          handle=f"dy-bench-{i}", status="active", opened_on=date(2026, 1, 5),
                          staff=[])
        db.session.add(account)
        db.session.flush()
        credentials.append(authorise(url, f"bench-douyin-{i}"))
        db.session.add(AccountCredential(account_id=account.id,
                                         ciphertext=encrypt(credentials[-1])))
        accounts.append(account)
    db.session.commit()
    return unit, editor, accounts, credentials


def approved_video_article(unit_id, user_id, video_id, account_ids, label) -> list[int]:
    """One signed-off article carrying the video, with its queued deliveries, as
    publisher.editorial.operations.approve leaves them; the product's checks must pass."""
    from govmedia.extensions import db
    from publisher.content import compute_hash, run_article_checks
    from publisher.models import Article, ArticleVideo

    video = db.session.get(ArticleVideo, video_id)
    article = Article(unit_id=unit_id, created_by_id=user_id, origin="editor",
                      title=f"视频基准{label}", body_html="<p>视频基准测试正文。</p>",
                      digest="防汛提示", video_id=video.id, video=video,
                      cover_id=video.frame_id, cover=video.frame,
                      target_account_ids=list(account_ids), status="approved", revision=1,
                      round=1, content_hash="", checks=[])
    db.session.add(article)
    db.session.flush()
    article.content_hash = compute_hash(article)
    blocking = [f for f in run_article_checks(article) if f["severity"] == "block"]
    if blocking:
        raise SystemExit(f"the product's checks refuse the video: {blocking}")
    ids = queued_deliveries(article, [(account_id, "douyin") for account_id in account_ids])
    db.session.commit()
    return ids


# ---------------------------------------------------------------------- memory
def status_kb(pid: int, field: str) -> int:
    """A /proc/<pid>/status figure in kB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak(pid: int) -> bool:
    """Start VmHWM again from the current RSS (Linux >= 4.0), so each side has its own peak."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------- the two sides
def run_baseline(url, credentials, video, round_no, timeout):
    from bench.fanout_bench import wait_until
    from govmedia.queue import enqueue

    # The workers import the job by its module's name, not as this script's __main__.
    from bench.video_fanout_bench import baseline_upload as upload

    before = public_posts(url)
    start = time.perf_counter()
    for i, account_credentials in enumerate(credentials):
        enqueue(upload, account_credentials, 10_000 * round_no + i, f"基准视频{round_no}-{i}",
                video)
    wait_until(lambda: public_posts(url) - before >= len(credentials), timeout)
    return time.perf_counter() - start


def timed_side(pids, run, *args):
    """(seconds, not sent, peak RSS per worker in kB) of one side, peaks reset before it."""
    for pid in pids:
        reset_peak(pid)
    result = run(*args)
    seconds, failed = result if isinstance(result, tuple) else (result, 0)
    return seconds, failed, [status_kb(pid, "VmHWM") for pid in pids]


def report(results, args, video_size, idle_kb, peaks_reset):
    total_mb = video_size * args.targets / MB
    print(f"\nvideo {video_size / MB:.1f} MB × {args.targets} Douyin accounts = "
          f"{total_mb:.0f} MB a side; parts of {args.part_mb:g} MB; {args.workers} workers")
    print(f"worker idle RSS: {', '.join(f'{kb / 1024:.0f}' for kb in idle_kb)} MB; peak RSS "
          f"{'per side (VmHWM reset before each)' if peaks_reset else 'since start (VmHWM)'}")
    print(f"{'round':>5} {'side':9} {'seconds':>8} {'MB/s':>7} {'not sent':>8}  "
          f"peak RSS per worker (MB)")
    flagged = False
    for round_no, side, seconds, failed, peaks in results:
        over = [kb * 1024 - idle * 1024 > video_size for kb, idle in zip(peaks, idle_kb)]
        flagged |= any(over)
        shown = ", ".join(f"{kb / 1024:.0f}{' (!)' if o else ''}" for kb, o in zip(peaks, over))
        print(f"{round_no:5d} {side:9} {seconds:8.1f} {total_mb / seconds:7.1f} {failed:8d}  "
              f"{shown}")
    ratios = []
    for round_no in sorted({r[0] for r in results}):
        base, ours = (next(r[2] for r in results if r[0] == round_no and r[1] == side)
                      for side in ("baseline", "fan-out"))
        ratios.append(base / ours)
        print(f"round {round_no}: ratio baseline/fan-out {base / ours:.0%}")
    median = statistics.median(ratios)
    print(f"median ratio: {median:.0%} (target >= 80 %: {'met' if median >= 0.8 else 'NOT met'})")
    print("memory: " + ("a worker's peak passed idle RSS + the video's size (!): the file was "
                        "read whole" if flagged else
                        f"every peak stays under idle RSS + {video_size / MB:.0f} MB (streamed)"))


# ---------------------------------------------------------------------- setup and teardown
def start_standin(port: int) -> subprocess.Popen:
    standin = subprocess.Popen([sys.executable, "-m", "standins", "--port", str(port)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    standin.stdout.readline()  # it prints its address once it listens
    return standin


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video-mb", type=float, default=100)
    parser.add_argument("--targets", type=int, default=50, help="Douyin accounts")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved baseline/fan-out rounds; the median ratio is reported")
    parser.add_argument("--part-mb", type=float, default=20,
                        help="DOUYIN_PART_BYTES (the product's default is 20 MB)")
    parser.add_argument("--timeout", type=float, default=1800)
    return parser.parse_args()


def main():
    args = parse_args()
    # SIGTERM ends the run through the finally below: nothing is left on disk.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="video-fanout-bench-"))
    processes, services = [], []
    try:
        run(args, tmp, processes, services)
    finally:
        stop_processes(processes)
        for service in services:
            service.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def start_platform_and_app(args, tmp: Path, processes: list, services: list):
    """PostgreSQL, redis-server, the stand-in; the app configured for them. Returns
    (app, stand-in url, the workers' environment)."""
    from bench.fanout_bench import standin_call
    from services import bench_database, free_port, start_redis

    from govmedia import create_app
    from standins import DEFAULT_DOUYIN_APPS

    database_url, pg = bench_database(tmp / "pg")
    redis = start_redis(tmp / "redis")
    services.extend(s for s in (pg, redis) if s is not None)
    port = free_port()
    processes.append(start_standin(port))
    url = f"http://127.0.0.1:{port}"
    standin_call(url, "/_standin/config", {"douyin_review_queries": 0})
    key, secret = next(iter(DEFAULT_DOUYIN_APPS.items()))
    settings = {"DOUYIN_API_BASE_URL": url, "DOUYIN_CLIENT_KEY": key,
                "DOUYIN_CLIENT_SECRET": secret, "DOUYIN_PART_BYTES": str(int(args.part_mb * MB)),
                "VIDEO_DIR": str(tmp / "videos"), "ADAPTER_TIMEOUT": "120",
                "DELIVERY_BACKOFF_SECONDS": "1"}
    os.environ.update(settings)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis.url,
                      "SECRET_KEY": "bench-secret", "INSTANCE_PATH": str(tmp / "instance"),
                      **settings})
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis.url,
               SECRET_KEY="bench-secret", GOVMEDIA_INSTANCE_PATH=str(tmp / "instance"))
    return app, url, env


def prepare_rows(app, args, url: str, source: Path):
    """Schema, the authorised accounts and the stored video. Returns plain values (the rounds
    run in app contexts of their own): ids, credentials, the video file's facts."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from govmedia.extensions import db
    from publisher.videos import video_path

    with app.app_context():
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        upgrade(revision="heads")
        unit, editor, accounts, credentials = setup_accounts(args.targets, url)
        video = store_video(editor, source)
        ids = SimpleNamespace(unit=unit.id, editor=editor.id, video=video.id,
                              accounts=[a.id for a in accounts])
        video_file = {"path": video_path(video), "sha256": video.sha256, "size": video.size}
    return ids, credentials, video_file


def run_rounds(app, args, url, pids, ids, credentials, video_file) -> list[tuple]:
    from bench.fanout_bench import run_fanout

    results = []
    with app.app_context():
        # Interleaved: a machine busy with other work weighs on both sides alike.
        for round_no in range(1, args.rounds + 1):
            base = timed_side(pids, run_baseline, url, credentials, video_file, round_no,
                              args.timeout)
            delivery_ids = approved_video_article(ids.unit, ids.editor, ids.video,
                                                  ids.accounts, f"第{round_no}轮")
            ours = timed_side(pids, run_fanout, app, delivery_ids, args.timeout)
            check_sizes(url, video_file["size"])
            results += [(round_no, "baseline", *base), (round_no, "fan-out", *ours)]
            print(f"round {round_no}: baseline {base[0]:.1f} s, fan-out {ours[0]:.1f} s "
                  f"(not sent {ours[1]}), ratio {base[0] / ours[0]:.0%}; peak RSS "
                  f"{max(base[2] + ours[2]) / 1024:.0f} MB", flush=True)
    return results


def run(args, tmp: Path, processes: list, services: list) -> None:
    started = time.perf_counter()
    source = make_video(tmp / "bench.mp4", args.video_mb)
    print(f"video: {source.stat().st_size / MB:.1f} MB made in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    app, url, env = start_platform_and_app(args, tmp, processes, services)
    ids, credentials, video_file = prepare_rows(app, args, url, source)
    source.unlink()  # the product keeps its own copy under VIDEO_DIR
    workers = start_workers(args.workers, env)
    processes.extend(workers)
    time.sleep(3)  # workers up
    pids = [w.pid for w in workers]
    idle_kb = [status_kb(pid, "VmRSS") for pid in pids]
    peaks_reset = all(reset_peak(pid) for pid in pids)
    results = run_rounds(app, args, url, pids, ids, credentials, video_file)
    report(results, args, video_file["size"], idle_kb, peaks_reset)
    print(f"stand-in peak RSS: {status_kb(processes[0].pid, 'VmHWM') / 1024:.0f} MB")


if __name__ == "__main__":
    main()
