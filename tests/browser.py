"""Headless Debian chromium for the browser tests (Playwright drives it).

Playwright's own browser downloads cannot be fetched here, so we launch the
Debian package's /usr/bin/chromium (or $CHROMIUM_PATH) instead; install it
with ``bash scripts/install-system-deps.sh``.

    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch_chromium(p)
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

DEFAULT_CHROMIUM = "/usr/bin/chromium"

# --no-sandbox: we run as root. The background-networking/component/sync flags
# stop chromium from dialling out to Google services; on this closed network
# those connections fail and, without the flags, requests to our own local
# server get refused several at a time.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeError(
            f"chromium not found at {path} (set CHROMIUM_PATH to override); "
            "run `bash scripts/install-system-deps.sh` (as root) to install the Debian "
            "package chromium. Never `playwright install`: browser downloads are unreachable."
        )
    return path


def launch_chromium(playwright, **kwargs):
    """Launch headless chromium via a ``sync_playwright()`` (or async) object.

    Extra keyword arguments go to ``playwright.chromium.launch``; ``args`` given
    there are appended to CHROMIUM_ARGS.
    """
    extra_args = list(kwargs.pop("args", []) or [])
    kwargs.setdefault("headless", True)
    return playwright.chromium.launch(
        executable_path=chromium_path(),
        args=CHROMIUM_ARGS + extra_args,
        **kwargs,
    )


def log_in(page, base_url: str, username: str, password: str, *, next_path: str | None = None):
    """Log `page` in through the login form and wait until the URL has left /login: the one
    login of every browser test. A `goto` right after the click would cancel the login POST
    (the next page then opens logged out), so nothing happens before the redirect has landed.
    `next_path` opens the form as a redirect from that page would (``/login?next=…``)."""
    url = base_url + "/login"
    if next_path:
        url += "?next=" + quote(next_path)
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda address: urlsplit(address).path != "/login")


@contextmanager
def live_app(base_dir: Path, seed: Callable[[], None], *, postgres_url: str, redis_url: str,
             worker: bool = True, **config):
    """The real app on a fresh database of the tests' PostgreSQL server, seeded by `seed()`
    (run inside an app and request context, then committed), served by werkzeug in a thread,
    with a real `flask worker` process running its jobs unless `worker=False`; yields its URL."""
    import redis
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from cluster import fresh_database
    from govmedia import create_app
    from govmedia.extensions import db

    database_url = fresh_database(postgres_url, "browser_" + base_dir.name.replace("-", "_"))
    redis.Redis.from_url(redis_url).flushdb()
    settings = {"DATABASE_URL": database_url, "REDIS_URL": redis_url,
                "SECRET_KEY": "browser-test-secret", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                "INSTANCE_PATH": str(base_dir / "instance"), "STANDIN_PLATFORMS": False}
    settings.update(config)
    app = create_app(settings)
    with app.app_context(), app.test_request_context():
        upgrade()
        seed()
        db.session.commit()
        db.engine.dispose()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    process = None
    if worker:
        env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=settings["REDIS_URL"],
                   SECRET_KEY=settings["SECRET_KEY"], GOVMEDIA_INSTANCE_PATH=settings["INSTANCE_PATH"],
                   STANDIN_PLATFORMS="false")
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                                   env=env, cwd=Path(__file__).resolve().parent.parent)
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=15)
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():  # its pooled connections go, or later tests run out of them
            db.engine.dispose()


def database_of(postgres_url: str, base_dir: Path) -> str:
    """The database live_app made for `base_dir`."""
    from sqlalchemy.engine import make_url

    return make_url(postgres_url).set(
        database="browser_" + base_dir.name.replace("-", "_")).render_as_string(
        hide_password=False)


def jobs_app(postgres_url: str, base_dir: Path, redis_url: str):
    """An app on the database and queue of live_app(base_dir, …, worker=False), for a test
    that runs the queued jobs itself (govmedia.worker.run_burst), as a worker would."""
    from govmedia import create_app

    return create_app({"DATABASE_URL": database_of(postgres_url, base_dir),
                       "REDIS_URL": redis_url, "SECRET_KEY": "browser-test-secret",
                       "STANDIN_PLATFORMS": False, "INSTANCE_PATH": str(base_dir / "instance")})
