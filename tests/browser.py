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
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

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


@contextmanager
def live_app(base_dir: Path, seed: Callable[[], None], **config):
    """The real app on a migrated SQLite file in `base_dir`, seeded by `seed()` (run inside an
    app and request context, then committed), served by werkzeug in a thread; yields its URL."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from govmedia import create_app
    from govmedia.extensions import db

    settings = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{base_dir / 'govmedia.sqlite3'}",
                "SECRET_KEY": "browser-test-secret", "QUEUE_EAGER": True, "REDIS_URL": None,
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                "INSTANCE_PATH": str(base_dir / "instance")}
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
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
