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
