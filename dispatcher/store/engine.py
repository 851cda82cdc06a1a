"""The engine: SQLite gets WAL, a busy timeout and write-locking transactions; a connection
with the `READ_ONLY` option takes no write lock, so readers never wait for a writer. No
SQLModel here: the CLI's read-only commands use the engine without the ORM (the sessions are
in `dispatcher.store.db`).

A PostgreSQL connection that has waited in the pool `PING_AFTER_IDLE` or longer is pinged
when it is checked out, and replaced if the server cut it off (a restart, a failover): what
`pool_pre_ping` does, but not for a connection that was in use a moment ago, which is how a
stream of requests uses the pool, and which then paid a round trip per request. A statement
on a connection that turns out dead fails with a disconnect error
(`DBAPIError.connection_invalidated`), and SQLAlchemy then replaces every connection the pool
held before it; a caller that retries its transaction on such an error (signals.service)
rides out a restart that came between two of its requests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10
READ_ONLY = "dispatcher_read_only"
PING_AFTER_IDLE = timedelta(seconds=1)
_CHECKED_IN = "dispatcher_checked_in"


def make_engine(url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for `url`; on SQLite a statement waits up to `busy_timeout_ms` for another
    process's write lock before it fails with "database is locked"."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, busy_timeout_ms)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    connect_args = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    engine = create_engine(url, connect_args=connect_args)
    _ping_when_idle(engine, PING_AFTER_IDLE.total_seconds())
    return engine


def _ping_when_idle(engine: Engine, after_s: float) -> None:
    """Ping a pooled connection at checkout if it has waited `after_s` or longer; one that
    does not answer is replaced, and so is every other the pool held (see the docstring)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is None or time.monotonic() - since < after_s:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.InvalidatePoolError(f"ping at checkout: {error}") from error


def _sqlite_engine(url: str, database: str | None, busy_timeout_ms: int) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so that BEGIN IMMEDIATE below is honoured.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A transaction that may write takes the write lock up front: no deadlock when a reader
        # upgrades. A read-only one reads a WAL snapshot and never waits for the writer.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def probe(engine: Engine, timeout_ms: int) -> Iterator[Connection]:
    """A read-only connection whose statements give up after about `timeout_ms` waiting for a
    lock or running (SQLite's busy timeout; PostgreSQL's statement and lock timeouts), for
    health checks that must answer quickly. The connection goes back to the pool as it was."""
    with engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        if is_sqlite(engine):
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(timeout_ms)}")
        else:
            for name in ("statement_timeout", "lock_timeout"):
                conn.execute(
                    text("SELECT set_config(:name, :value, true)"),
                    {"name": name, "value": f"{int(timeout_ms)}ms"},
                )
        try:
            yield conn
        finally:
            conn.rollback()
            if is_sqlite(engine):
                conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
