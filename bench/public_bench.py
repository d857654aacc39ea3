"""Benchmark the public `verify` and lookup against a minimal Flask page, side by side, under
gunicorn with the same settings, with 100,000 accounts in the registry (PostgreSQL).

    .venv/bin/python bench/public_bench.py [--accounts 100000] [--workers 2] [--seconds 10]
                                           [--warmup 30] [--rounds 3] [--connections 16]
                                           [--uncached]

* baseline: a bare Flask app whose one view returns a short text (`bench/public_bench.py`
  writes it to a temporary module), under `gunicorn -w W` exactly like the product;
* verify: `GET /api/v1/public/verify?platform=…&handle=…`, rotating over 500 real handles;
* lookup: `GET /public?q=XX` (the HTML page), rotating over 40 two-character parts of names
  (each matching hundreds to thousands of the 100,000 accounts).

The load generator is wrk (Debian package `wrk`) on loopback, with a Lua script that rotates the
paths. Both servers run at once; after a warm-up of the product (`--warmup` seconds per target,
so every worker has seen every path: the caches are per process), short runs of the baseline,
verify and lookup are interleaved for `--rounds` rounds and the ratio to the baseline is taken
per round (the median is reported), so other load on the machine hits both sides alike. `--uncached` also measures the product with
its response cache switched off (PUBLIC_CACHE_DISABLED=1): every request queries the database.
PostgreSQL is `$BENCH_DATABASE_URL` (its `public` schema is DROPPED) or a throwaway server
started with tests/services.py. Nothing here runs in CI.
"""
import argparse
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from sqlalchemy import insert, text  # noqa: E402

from govmedia import create_app  # noqa: E402
from govmedia.extensions import db  # noqa: E402

PLATFORMS = ["wechat", "weibo", "douyin", "kuaishou", "toutiao", "bilibili", "xiaohongshu",
             "app", "miniprogram", "other"]
PLACES = ["青秀", "兴宁", "江南", "西乡塘", "良庆", "邕宁", "武鸣", "隆安", "马山", "上林", "宾阳",
          "横州", "未央", "雁塔", "碑林", "莲湖", "灞桥", "长安", "临潼", "高陵", "鄠邑", "周至",
          "蓝田", "玄武", "秦淮", "建邺", "鼓楼", "浦口", "栖霞", "雨花", "江宁", "六合", "溧水",
          "高淳", "红塔", "江川", "澄江", "通海", "华宁", "易门", "峨山", "新平", "元江", "房县"]
BODIES = ["人民政府办公室", "教育局", "卫生健康委员会", "公安局", "民政局", "财政局", "人力资源和社会保障局",
          "自然资源局", "生态环境局", "住房和城乡建设局", "交通运输局", "水利局", "农业农村局", "商务局",
          "文化广电和旅游局", "应急管理局", "审计局", "市场监督管理局", "统计局", "医疗保障局", "信访局",
          "税务局", "消防救援大队", "融媒体中心", "团委", "妇联", "科协", "档案馆", "图书馆", "博物馆"]
SUFFIXES = ["发布", "", "在线", "微讯", "之声", "服务", "政务"]
QUERIES = ["教育", "发布", "青秀", "卫生", "公安", "民政", "财政", "社会", "自然", "生态", "住房",
           "交通", "水利", "农业", "商务", "文化", "应急", "审计", "市场", "统计", "医疗", "信访",
           "税务", "消防", "融媒", "团委", "妇联", "科协", "档案", "图书", "博物", "未央", "雁塔",
           "秦淮", "鼓楼", "红塔", "江川", "房县", "微讯", "之声"]
MINIMAL_APP = '''from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "ok"
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def populate(url: str, n: int) -> list[tuple[str, str]]:
    """The schema through the migrations, 1,000 units and n accounts; returns (platform, handle)."""
    from flask_migrate import upgrade

    from govmedia import audit
    from registry.models import Account, Unit

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "REDIS_URL": None})
    rng = random.Random(5)
    with app.app_context():
        db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.session.commit()
        upgrade(revision="heads")
        units = [{"name": f"{PLACES[i % len(PLACES)]}区{BODIES[i % len(BODIES)]}{i // 660 or ''}"}
                 for i in range(1000)]
        unit_ids = [row.id for row in db.session.execute(
            insert(Unit).returning(Unit.id, sort_by_parameter_order=True), units)]
        handles, rows = [], []
        opened = date(2020, 1, 1)
        for i in range(n):
            unit_no = i % 1000
            plat = PLATFORMS[(i // 1000) % len(PLATFORMS)]
            handle = f"gh_{i:012x}" if plat == "wechat" else f"{plat[:2]}{i:09d}"
            name = (PLACES[unit_no % len(PLACES)] + BODIES[rng.randrange(len(BODIES))][:4]
                    + SUFFIXES[rng.randrange(len(SUFFIXES))] + (str(i // 1000) if i >= 1000 else ""))
            status = "deregistered" if i % 50 == 0 else "active"
            rows.append({"unit_id": unit_ids[unit_no], "platform": plat, "name": name,
                         "handle": handle, "status": status,
                         "opened_on": opened + timedelta(days=i % 2000), "staff": [],
                         "office": "信息科"})
            handles.append((plat, handle))
        for start in range(0, n, 10_000):
            db.session.execute(insert(Account), rows[start:start + 10_000])
        audit.record("bench.populate", "bench", 0, after={"accounts": n})
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.engine.dispose()
    return handles


def start_gunicorn(app_spec: str, port: int, workers: int, env: dict, cwd: str):
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", str(workers), "-k", "sync",
               "-b", f"127.0.0.1:{port}", "--log-level", "warning", app_spec]
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start: " + process.stderr.read().decode()[-2000:])


def stop(process) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def lua_script(paths: list[str], directory: str) -> str:
    path = os.path.join(directory, f"paths{abs(hash(tuple(paths)))}.lua")
    quoted = ",\n".join('  "' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in paths)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("local paths = {\n" + quoted + "\n}\nlocal i = 0\n"
                 "request = function()\n  i = i % #paths + 1\n"
                 "  return wrk.format(\"GET\", paths[i])\nend\n"
                 "done = function(summary, latency, requests)\n"
                 "  io.write(string.format(\"STATUS_NON2XX %d\\n\", summary.errors.status))\nend\n")
    return path


def wrk(port: int, script: str, seconds: int, connections: int, threads: int) -> dict:
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
                          "--latency", "-s", script, f"http://127.0.0.1:{port}"],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+\w+)", out).group(1)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    bad = int(re.search(r"STATUS_NON2XX (\d+)", out).group(1))
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": bad,
            "socket_errors": errors.group(1) if errors else ""}


def show(name: str, result: dict) -> None:
    print(f"  {name:<30} {result['rps']:>9.0f} req/s   p50 {result['p50']:>8}   "
          f"p99 {result['p99']:>8}   non-2xx {result['non2xx']}", flush=True)
    if result["non2xx"] or result["socket_errors"]:
        print(f"    !! non-2xx {result['non2xx']}, socket errors: {result['socket_errors']}")


def rounds(targets: dict, args) -> dict:
    """Interleave short runs of every target, round after round, so that load from anything
    else on the machine hits the baseline and the product alike; ratios are per round."""
    ratios = {name: [] for name in targets if name != "baseline"}
    for number in range(1, args.rounds + 1):
        print(f"round {number}")
        results = {}
        for name, (port, script) in targets.items():
            results[name] = wrk(port, script, args.seconds, args.connections, args.threads)
            show(name, results[name])
        for name in ratios:
            ratios[name].append(results[name]["rps"] / results["baseline"]["rps"])
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=30,
                        help="seconds of load before each measurement (fills every worker's cache)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--uncached", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2

    from services import bench_database

    url, service = bench_database(Path(tempfile.mkdtemp(prefix="govmedia-public-bench-")))
    tmp = tempfile.mkdtemp(prefix="govmedia-public-bench-")
    processes = []
    try:
        started = time.perf_counter()
        handles = populate(url, args.accounts)
        print(f"populated {args.accounts:,} accounts in {time.perf_counter() - started:.1f} s")
        rng = random.Random(7)
        verify_paths = [f"/api/v1/public/verify?platform={p}&handle={h}"
                        for p, h in rng.sample(handles, 500)]
        lookup_paths = ["/public?q=" + "".join(f"%{b:02X}" for b in q.encode("utf-8"))
                        for q in QUERIES]
        with open(os.path.join(tmp, "minimal_app.py"), "w") as fh:
            fh.write(MINIMAL_APP)
        env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench", PYTHONPATH=str(ROOT))
        env.pop("REDIS_URL", None)
        print(f"gunicorn -w {args.workers} (sync); wrk -t{args.threads} -c{args.connections} "
              f"-d{args.seconds}s after a {args.warmup}s warm-up; {os.cpu_count()} CPUs, "
              f"Python {platform.python_version()}")
        base_port, app_port = free_port(), free_port()
        processes.append(start_gunicorn("minimal_app:app", base_port, args.workers, env, tmp))
        processes.append(start_gunicorn("wsgi:app", app_port, args.workers, env, str(ROOT)))
        verify_script = lua_script(verify_paths, tmp)
        lookup_script = lua_script(lookup_paths, tmp)
        # warm-up: every worker's cache sees every path
        for script in (verify_script, lookup_script):
            wrk(app_port, script, args.warmup, args.connections, args.threads)
        targets = {"baseline": (base_port, lua_script(["/"], tmp)),
                   "verify": (app_port, verify_script), "lookup": (app_port, lookup_script)}
        ratios = rounds(targets, args)
        if args.uncached:
            stop(processes.pop())
            uncached_port = free_port()
            processes.append(start_gunicorn("wsgi:app", uncached_port, args.workers,
                                            dict(env, PUBLIC_CACHE_DISABLED="1"), str(ROOT)))
            print("response cache off (every request queries the database)")
            for name, script in (("verify, cache off", verify_script),
                                 ("lookup, cache off", lookup_script)):
                show(name, wrk(uncached_port, script, args.seconds, args.connections,
                               args.threads))
        print("\nratio to the minimal Flask page, per round and median (the bar: at least 0.50)")
        ok = True
        for name, values in ratios.items():
            median = sorted(values)[len(values) // 2]
            ok &= median >= 0.5
            print(f"  {name:<8} " + " ".join(f"{v:5.2f}" for v in values)
                  + f"   median {median:5.2f}  " + ("PASS" if median >= 0.5 else "FAIL"))
        return 0 if ok else 1
    finally:
        for process in processes:
            stop(process)
        if service is not None:
            service.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
