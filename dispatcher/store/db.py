"""Sessions on the engine (`dispatcher.store.engine`): `transaction` commits or rolls back;
`read_only` transactions take no write lock, so readers never wait for a writer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlmodel import Session

from dispatcher.store.engine import (
    PG_CONNECT_TIMEOUT_S,
    PING_AFTER_IDLE,
    READ_ONLY,
    SQLITE_BUSY_TIMEOUT_MS,
    is_sqlite,
    make_engine,
    probe,
)

__all__ = [
    "PG_CONNECT_TIMEOUT_S",
    "PING_AFTER_IDLE",
    "READ_ONLY",
    "SQLITE_BUSY_TIMEOUT_MS",
    "is_sqlite",
    "make_engine",
    "probe",
    "read_only",
    "transaction",
]


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
