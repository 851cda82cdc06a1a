"""The engine and sessions. SQLite gets WAL, a busy timeout and write-locking transactions;
`read_only` transactions take no write lock, so readers never wait for a writer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10
READ_ONLY = "dispatcher_read_only"


def make_engine(url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for `url`; on SQLite a statement waits up to `busy_timeout_ms` for another
    process's write lock before it fails with "database is locked"."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, busy_timeout_ms)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    connect_args = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


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
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any exception."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_only(engine: Engine) -> Iterator[Session]:
    """A session for reading: on SQLite it takes no write lock (a WAL snapshot, so it neither
    waits for nor blocks a writer), on PostgreSQL it is a READ ONLY transaction. Rolled back
    when it closes; on PostgreSQL writing in it is an error."""
    with Session(engine.execution_options(**{READ_ONLY: True})) as session:
        if not is_sqlite(engine):
            session.execute(text("SET TRANSACTION READ ONLY"))
        yield session


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
