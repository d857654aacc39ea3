"""The production layout as real processes on loopback, for tests/test_deployment.py,
tests/test_load.py and bench/load_run.py (not a test module).

    procs = Processes(workdir)
    url = fresh_database(postgres_url, "govmedia_deploy")     # an empty database on the server
    standin = start_standin(procs)                             # python -m standins
    env = node_env(url, redis_url, standin, workdir, DELIVERY_SWEEP_SECONDS="2")
    migrate(env)                                               # flask --app wsgi db upgrade
    web = start_web(procs, env, workers=2, threads=4)          # gunicorn -k gthread wsgi:app
    start_worker(procs, env)                                   # flask --app wsgi worker
    procs.stop_all()

Every child's stderr goes to a file in `workdir`, shown by `procs.logs()` when something fails.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from services import free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET = "cluster-test-secret"


class Processes:
    """Children of one run, stopped together (SIGTERM, then SIGKILL after a grace period)."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.running: list[tuple[str, subprocess.Popen]] = []

    def spawn(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        with open(self.workdir / f"{name}.log", "ab") as log:  # the child keeps its copy
            proc = subprocess.Popen(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=log)
        self.running.append((name, proc))
        return proc

    def check_alive(self) -> None:
        dead = [f"{name} exited with {proc.returncode}" for name, proc in self.running
                if proc.poll() is not None]
        if dead:
            raise AssertionError("; ".join(dead) + "\n" + self.logs())

    def logs(self, lines: int = 25) -> str:
        out = []
        for name, _proc in self.running:
            path = self.workdir / f"{name}.log"
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            out.append(f"--- {name}.log\n" + "\n".join(text[-lines:]))
        return "\n".join(out)

    def stop_all(self) -> None:
        for _name, proc in reversed(self.running):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 15
        for _name, proc in self.running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def fresh_database(server_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `server_url`; returns its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
    return url.set(database=name).render_as_string(hide_password=False)


def wait_until(predicate, timeout: float, what, interval: float = 0.1):
    """`what` names the condition; a callable is asked only on failure (the state then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for "
                         f"{what() if callable(what) else what}")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def start_standin(procs: Processes) -> str:
    """The stand-in platforms in a process of their own, answering at once (no publish wait)."""
    port = free_port()
    # serve_in_thread's quiet handler: `python -m standins` logs every request.
    quiet = ("import sys, threading; from standins import serve_in_thread; "
             "serve_in_thread('127.0.0.1', int(sys.argv[1])); threading.Event().wait()")
    procs.spawn("standin", [sys.executable, "-c", quiet, str(port)], dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _answers(f"{url}/_standin/posts"), 20, "the stand-in")
    requests.post(f"{url}/_standin/config", json={"wechat_publish_polls": 0,
                                                  "wechat_publish_seconds": 0},
                  timeout=5).raise_for_status()
    return url


def node_env(database_url: str, redis_url: str, standin_url: str, workdir: Path,
             **settings) -> dict:
    """The environment every web node and worker shares (docs/DEPLOY.md), on loopback."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FLASK_", "GOVMEDIA_", "DELIVERY_", "WECHAT_", "WEIBO_"))}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, SECRET_KEY=SECRET,
               GOVMEDIA_INSTANCE_PATH=str(Path(workdir) / "instance"),
               WECHAT_API_BASE_URL=standin_url, WEIBO_API_BASE_URL=standin_url,
               ADAPTER_TIMEOUT="10", WECHAT_POLL_INTERVAL="0.05", WECHAT_POLL_ATTEMPTS="100",
               PASSWORD_HASH_METHOD="pbkdf2:sha256:1000", PYTHONUNBUFFERED="1")
    env.pop("CREDENTIALS_KEY", None)
    env.update({k: str(v) for k, v in settings.items()})
    return env


def flask_command(env: dict, *args: str, stdin: str | None = None) -> str:
    """Run `flask --app wsgi ARGS` as an operator would; fails loudly with its output."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                          env=env, input=stdin, capture_output=True, text=True, timeout=120,
                          check=False)
    if done.returncode != 0:
        raise AssertionError(f"flask {' '.join(args)} exited {done.returncode}:\n"
                             f"{done.stdout}\n{done.stderr}")
    return done.stdout


def migrate(env: dict) -> None:
    flask_command(env, "db", "upgrade")


def start_web(procs: Processes, env: dict, *, workers: int = 2, threads: int = 4,
              name: str = "web", wait: bool = True) -> str:
    """One gunicorn web node (gthread workers) on a free loopback port; waits for /healthz
    unless `wait` is false (then call wait_healthy)."""
    port = free_port()
    procs.spawn(name, [sys.executable, "-m", "gunicorn", "--workers", str(workers),
                       "--worker-class", "gthread", "--threads", str(threads),
                       "--bind", f"127.0.0.1:{port}", "--timeout", "60",
                       # Clients here keep connections open (no nginx in front): longer than
                       # any pause of theirs, or a request meets a connection being closed.
                       "--keep-alive", "75",
                       "--graceful-timeout", "5", "wsgi:app"], env)
    url = f"http://127.0.0.1:{port}"
    if wait:
        wait_healthy(procs, url)
    return url


def wait_healthy(procs: Processes, url: str, timeout: float = 60) -> None:
    try:
        wait_until(lambda: _answers(f"{url}/healthz"), timeout, f"{url}/healthz")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{procs.logs()}") from None


def start_worker(procs: Processes, env: dict, name: str = "worker") -> subprocess.Popen:
    return procs.spawn(name, [sys.executable, "-m", "flask", "--app", "wsgi", "worker"], env)


# --- the HTTP API, as a client system or a person uses it -----------------------------------

PASSWORD = "Cluster-Passw0rd-1"


class Api:
    """Bearer-token calls to one web node; an unexpected status raises with the answer."""

    def __init__(self, base: str, token: str | None = None):
        self.base, self.token = base, token
        self.http = requests.Session()

    @classmethod
    def login(cls, base: str, username: str, password: str = PASSWORD) -> "Api":
        api = cls(base)
        answer = api.call("POST", "/api/v1/auth/tokens", (201,),
                          json={"username": username, "password": password})
        api.token = answer.json()["token"]
        return api

    def call(self, method: str, path: str, expect=(200,), **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        answer = self.http.request(method, self.base + path, headers=headers, timeout=60,
                                   **kwargs)
        if answer.status_code not in expect:
            raise AssertionError(f"{method} {self.base}{path} answered {answer.status_code}, "
                                 f"expected {expect}: {answer.text[:500]}")
        return answer


def png_base64(size=(40, 30)) -> str:
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 90, 200)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


class Desk:
    """One unit's newsroom: a WeChat and a Weibo account with the stand-in's credentials and a
    sponsor, editor, reviewer, signer and source system (usernames `{prefix}_{role}_{n}`)."""

    ROLES = ("sponsor", "editor", "reviewer", "signer", "source")

    def __init__(self, n: int, prefix: str, unit_id: int, wechat_id: int, weibo_id: int):
        self.n, self.unit_id, self.wechat_id, self.weibo_id = n, unit_id, wechat_id, weibo_id
        self.users = {role: f"{prefix}_{role}_{n}" for role in self.ROLES}


def build_desks(admin: Api, standin_url: str, count: int, prefix: str = "desk") -> list[Desk]:
    """Units, users, accounts and credentials through the API, as an admin and sponsors do."""
    from standins import DEFAULT_WECHAT_APPS

    app_id, app_secret = next(iter(DEFAULT_WECHAT_APPS.items()))
    desks = []
    for n in range(count):
        unit = admin.call("POST", "/api/v1/units", (201,),
                          json={"name": f"某县{prefix}单位{n}"}).json()
        for role in Desk.ROLES:
            admin.call("POST", "/api/v1/users", (201,), json={
                "username": f"{prefix}_{role}_{n}", "password": PASSWORD, "roles": [role],
                "unit_id": unit["id"]})
        sponsor = Api.login(admin.base, f"{prefix}_sponsor_{n}")
        staff = [{"name": "张三", "phone": "13800000000", "platform_role": "admin"}]
        wechat = sponsor.call("POST", "/api/v1/accounts", (201,), json={
            "unit_id": unit["id"], "platform": "wechat", "name": f"{prefix}发布{n}",
            "handle": f"gh_{prefix[:4]}{n:08d}", "opened_on": "2026-11-02",
            "office": "县政府办公室信息科", "staff": staff}).json()
        uid = 7_100_000_000 + n + 1000 * (sum(map(ord, prefix)) % 1000)
        weibo = sponsor.call("POST", "/api/v1/accounts", (201,), json={
            "unit_id": unit["id"], "platform": "weibo", "name": f"{prefix}微博{n}",
            "handle": str(uid), "opened_on": "2026-11-02", "staff": staff}).json()
        token = f"2.00{prefix}_weibo_{n}"
        requests.post(f"{standin_url}/_standin/weibo/tokens", json={
            "access_token": token, "uid": uid, "state": "valid"}, timeout=5).raise_for_status()
        sponsor.call("PUT", f"/api/v1/accounts/{wechat['id']}/credentials", (204,),
                     json={"app_id": app_id, "app_secret": app_secret})
        sponsor.call("PUT", f"/api/v1/accounts/{weibo['id']}/credentials", (204,),
                     json={"access_token": token})
        desks.append(Desk(n, prefix, unit["id"], wechat["id"], weibo["id"]))
    return desks


def article_body(title: str, targets: list[int], cover: str | None = None) -> dict:
    return {"title": title, "body_html": f"<p>{title}：会议要求压实安全生产责任。</p>",
            "source_url": f"https://www.example.gov.cn/news/{abs(hash(title)) % 10**10}",
            "cover_image_base64": cover or png_base64(), "target_account_ids": targets}


def push_article(source: Api, desk: Desk, title: str, cover: str | None = None,
                 targets: list[int] | None = None) -> dict:
    """A source system pushes an article reviewed upstream: approved and queued at once."""
    body = article_body(title, targets or [desk.wechat_id, desk.weibo_id], cover)
    body["review_record"] = [{"stage": stage, "name": name,
                              "reviewed_at": "2026-11-20T09:30:00+08:00"}
                             for stage, name in ((1, "王一审"), (2, "李二审"), (3, "赵三审"))]
    article = source.call("POST", "/api/v1/articles", (201,), json=body).json()
    if article["status"] != "approved":
        raise AssertionError(f"pushed article not approved: {article}")
    return article


def publish_through_reviews(editor: Api, reviewer: Api, signer: Api, desk: Desk, title: str,
                            cover: str | None = None) -> dict:
    """Draft, submit, review and sign off (each call may go to a different web node)."""
    created = editor.call("POST", "/api/v1/articles", (201,),
                          json=article_body(title, [desk.wechat_id, desk.weibo_id], cover))
    article_id = created.json()["id"]
    editor.call("POST", f"/api/v1/articles/{article_id}/submit", json={})
    reviewer.call("POST", f"/api/v1/articles/{article_id}/review",
                  json={"decision": "approve", "comment": ""})
    return signer.call("POST", f"/api/v1/articles/{article_id}/review",
                       json={"decision": "approve", "comment": "同意"}).json()
