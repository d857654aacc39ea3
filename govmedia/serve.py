"""`flask --app wsgi serve`: the whole product on one machine, production's path.

The app factory has already started (or found) the embedded PostgreSQL and Redis when no
DATABASE_URL / REDIS_URL is set. This command migrates, loads the demo data, then runs the
stand-in platforms (unless real platform URLs are set), an RQ worker with its scheduler and
gunicorn as child processes, all pointed at the same servers. Ctrl-C stops every one of them;
the data stays in the instance folder for the next run.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from .engines import free_port


STANDIN_STATE = "standins-state.pickle"   # the stand-in's posts, kept across runs


def can_listen(port: int) -> bool:
    """Whether a server can listen on the port now. Bound as the stand-in's server binds
    (SO_REUSEADDR), so the last run's connections in TIME_WAIT do not count as "taken": a
    plain bind refuses for a minute after a restart, and the stand-in moved port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen(1)
        except OSError:
            return False
        return True


def _standin_port(instance_path: str) -> int:
    """The same port every run, so links to posts on the stand-in keep working."""
    state = Path(instance_path) / "standins.json"
    saved = json.loads(state.read_text()).get("port") if state.exists() else None
    port = saved if saved and can_listen(saved) else free_port()
    state.write_text(json.dumps({"port": port}))
    return port


def _child_env(extra: dict) -> dict:
    config = current_app.config
    env = dict(os.environ, DATABASE_URL=config["DATABASE_URL"], REDIS_URL=config["REDIS_URL"],
               GOVMEDIA_INSTANCE_PATH=current_app.instance_path,
               SECRET_KEY=config["SECRET_KEY"], STANDIN_PLATFORMS=str(
                   bool(config["STANDIN_PLATFORMS"])).lower())
    env.update(extra)
    return env


def _standin_douyin_app(url: str) -> dict:
    """The stand-in's Douyin application, unless one is configured (the sponsor authorises
    the demo's Douyin account on its page, against the stand-in)."""
    if current_app.config["DOUYIN_CLIENT_KEY"]:
        return {}
    with urllib.request.urlopen(url + "/_standin/douyin/app", timeout=5) as answer:
        app = json.loads(answer.read())
    return {"DOUYIN_CLIENT_KEY": app["client_key"], "DOUYIN_CLIENT_SECRET": app["client_secret"]}


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"{process.args[0]} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise click.ClickException(f"{url} did not answer within {seconds:.0f} s")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn workers")
@click.option("--no-demo", is_flag=True, help="Do not load the demo data.")
@with_appcontext
def serve_command(host, port, workers, no_demo):
    """Migrate, load the demo data, run the worker, the scheduler and the web server."""
    # `kill` or a closed terminal stops the children and the embedded servers as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    upgrade()
    if not no_demo:
        context = click.get_current_context()
        context.invoke(current_app.cli.get_command(context, "demo"))
    extra, children = {}, []
    try:
        if current_app.config["STANDIN_PLATFORMS"]:
            standin_port = _standin_port(current_app.instance_path)
            url = f"http://127.0.0.1:{standin_port}"
            extra = {"WECHAT_API_BASE_URL": url, "WEIBO_API_BASE_URL": url,
                     "DOUYIN_API_BASE_URL": url}
            state = os.path.join(current_app.instance_path, STANDIN_STATE)
            children.append(subprocess.Popen([sys.executable, "-m", "standins", "--port",
                                              str(standin_port), "--state", state]))
            _wait_for(url + "/", children[-1])
            extra.update(_standin_douyin_app(url))
            click.echo(f"posts go to the stand-in platforms at {url}, not to WeChat or Weibo")
        env = _child_env(extra)
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        children.append(subprocess.Popen([*flask, "worker"], env=env))
        children.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"{host}:{port}",
             "--access-logfile", "-", "wsgi:app"], env=env))
        _wait_for(f"http://{host}:{port}/healthz", children[-1], seconds=60)
        if extra and not no_demo:   # followers write to the demo accounts (the inbox)
            _demo_messages(extra["WECHAT_API_BASE_URL"], f"http://{host}:{port}")
        click.echo(f"govmedia: http://{host}:{port}/  (Ctrl-C stops everything)")
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        raise click.ClickException("a child process stopped; stopping the rest")
    except KeyboardInterrupt:
        click.echo("stopping …")
    finally:
        _stop(children)


def _demo_messages(standin_url: str, base_url: str) -> None:
    context = click.get_current_context()
    try:
        context.invoke(current_app.cli.get_command(context, "demo-messages"),
                       standin_url=standin_url, base_url=base_url)
    except Exception as exc:  # noqa: BLE001 -- the demo's messages are not worth stopping for
        click.echo(f"demo messages not sent: {exc}")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
