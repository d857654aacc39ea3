"""Throwaway PostgreSQL and Redis servers for the tests, from the same wheels the product's
embedded run uses (govmedia/engines.py); no mocks.

    pg = start_postgres(tmp_path)      # initdb + start on 127.0.0.1:<free port>
    pg.url                             # postgresql+psycopg://postgres@127.0.0.1:PORT/govmedia_test
    pg.stop()                          # fast shutdown, data removed; restart() keeps it

    rd = start_redis(tmp_path)         # redis-server on 127.0.0.1:<free port>, no persistence
    rd.stop(); rd.start()              # same object, SAME port again (fault tests)

`TEST_DATABASE_URL` / `TEST_REDIS_URL` (read by the fixtures) use existing servers instead.
"""
from __future__ import annotations

import atexit
import os
import tempfile
from pathlib import Path

from govmedia.engines import PostgresServer, RedisServer, free_port  # noqa: F401

PG_DATABASE = "govmedia_test"
_running: set = set()


@atexit.register
def _stop_all_at_exit() -> None:
    for service in list(_running):
        try:
            service.stop()
        except Exception:  # best effort at interpreter exit
            pass


class PostgresService(PostgresServer):
    """A throwaway cluster: its data lives in a fresh folder the postgres user can reach."""

    def __init__(self, base_dir: Path, port: int | None = None):
        root = Path(tempfile.mkdtemp(prefix="govmedia-pg-"))  # /tmp is 1777: reachable
        root.rmdir()
        super().__init__(root, port, database=PG_DATABASE, throwaway=True)
        self.base_dir = Path(base_dir)

    @property
    def running(self) -> bool:
        return self.started

    def start(self) -> "PostgresService":
        super().start()
        _running.add(self)
        return self

    def stop(self, keep_data: bool = False) -> None:
        super().stop()
        _running.discard(self)
        if not keep_data:
            self.remove()

    def restart(self) -> "PostgresService":
        self.stop(keep_data=True)
        return self.start()


class RedisService(RedisServer):
    def __init__(self, base_dir: Path, port: int | None = None):
        super().__init__(Path(base_dir) / "redis", port)

    def start(self, timeout: float = 15.0) -> "RedisService":
        super().start(timeout)
        _running.add(self)
        return self

    def stop(self) -> None:
        super().stop()
        _running.discard(self)

    def restart(self) -> "RedisService":
        self.stop()
        return self.start()


def start_postgres(base_dir: Path, port: int | None = None) -> PostgresService:
    """A throwaway PostgreSQL on 127.0.0.1 with database govmedia_test."""
    return PostgresService(Path(base_dir), port).start()


def start_redis(base_dir: Path, port: int | None = None) -> RedisService:
    """redis-server on 127.0.0.1 (no persistence); stop()/start() keep the same port."""
    return RedisService(Path(base_dir), port).start()


def bench_database(base_dir: Path) -> tuple[str, "PostgresService | None"]:
    """The benchmarks' PostgreSQL: ``$BENCH_DATABASE_URL`` when set (the benchmarks drop its
    public schema), else a throwaway server under base_dir. Returns (url, service); the
    service, None for an existing server, is the caller's to stop."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url, None
    service = start_postgres(base_dir)
    return service.url, service
