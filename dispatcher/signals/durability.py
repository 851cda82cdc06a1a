"""Heartbeats committed without waiting for the disk, and on it within a stated window.

Every signal's event id and effect are committed, and so visible to every later request and
every replica, before it is answered; a kill -9 of the daemon loses nothing that was answered.
What a `lazy` transaction gives up is only the wait for the disk at its commit: it is flushed
shortly after (by PostgreSQL's WAL writer, or by a timer here for SQLite), so only a crash of
the database's host (power, kernel) within that window can lose it.

- PostgreSQL: `SET LOCAL synchronous_commit TO OFF` for that transaction (or, for the usual
  beat, the same inside the one statement of `signals.one_statement`); the WAL writer flushes
  it within 3 × `wal_writer_delay` (0.6 s with the default 200 ms).
- SQLite: the transaction commits under `PRAGMA synchronous=NORMAL` (in WAL mode the data is
  in the WAL file, safe from a process crash, consistent after a power loss); the WAL file is
  fsynced `SQLITE_FLUSH_WITHIN` after the first such commit, as `synchronous=FULL` does at
  every commit. Any later durable commit syncs it sooner.

Only a heartbeat that pages nobody is lazy (`signals.heartbeat`); everything else, and a
heartbeat whose transaction queued a page, is on disk before its answer, as before.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from dispatcher.store.db import is_sqlite, transaction

log = structlog.get_logger(__name__)

SQLITE_FLUSH_WITHIN = timedelta(milliseconds=200)
_LAZY = "dispatcher_lazy_commit"


def lazy(session: Session) -> None:
    """Let this transaction's commit not wait for the disk (see the module's docstring)."""
    session.info[_LAZY] = True
    if not is_sqlite(session.get_bind().engine):
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


@contextmanager
def may_be_lazy(engine: Engine) -> Iterator[Session]:
    """`store.db.transaction`, whose commit `lazy(session)` inside may make lazy. On SQLite
    the choice is the connection's before the transaction begins, so it commits under
    `synchronous=NORMAL` either way, and a transaction not made lazy has its WAL synced
    before this returns: it is as durable as a `synchronous=FULL` commit."""
    if not is_sqlite(engine):
        with transaction(engine) as session:
            yield session
        return
    with engine.connect() as connection:
        raw: Any = connection.connection.dbapi_connection
        _synchronous(raw, "NORMAL")
        changes = raw.total_changes
        try:
            with Session(bind=connection, expire_on_commit=False) as session, session.begin():
                yield session
            wrote = raw.total_changes != changes  # a repeat writes nothing: nothing to sync
            was_lazy = bool(session.info.get(_LAZY))
        finally:
            try:
                _synchronous(raw, "FULL")
            except Exception:
                connection.invalidate()  # never hand a relaxed connection back to the pool
                raise
    if not wrote:
        return
    if was_lazy:
        flusher(engine).soon()
        return
    try:
        flusher(engine).now()
    except OSError as exc:  # the disk refused: a database error (a 503 to retry), not a 500
        raise OperationalError("fsync of the SQLite WAL", None, exc) from exc


def _synchronous(raw: Any, level: str) -> None:
    """Set the connection's `synchronous`, outside SQLAlchemy's transaction (SQLite refuses it
    inside one); a failure is the database error it is, as any statement's would be."""
    statement = f"PRAGMA synchronous={level}"
    try:
        raw.execute(statement)
    except sqlite3.Error as exc:
        raise OperationalError(statement, None, exc) from exc


class WalFlusher:
    """fsyncs one SQLite database's WAL file, at once or `within` after the first request."""

    def __init__(self, wal: str, within: timedelta) -> None:
        self.wal = wal
        self.within = within
        self.flushes = 0
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    @property
    def pending(self) -> bool:
        return self._timer is not None

    def soon(self) -> None:
        with self._lock:
            if self._timer is None:
                self._timer = threading.Timer(self.within.total_seconds(), self._later)
                self._timer.daemon = True
                self._timer.name = "sqlite-wal-flush"
                self._timer.start()

    def _later(self) -> None:
        try:
            self.now()
        except OSError as exc:  # the next lazy commit tries again; say so, nobody else will
            log.error("sqlite.wal_flush_failed", wal=self.wal, error=str(exc))

    def now(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        try:
            descriptor = os.open(self.wal, os.O_RDONLY)
        except FileNotFoundError:
            return  # checkpointed and removed: the data is in the database file, synced
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        self.flushes += 1


_flushers: dict[str, WalFlusher] = {}
_flushers_lock = threading.Lock()


@atexit.register
def _flush_pending() -> None:
    """A daemon that stops cleanly does not leave its last heartbeats to the kernel's timing."""
    with _flushers_lock:
        pending = [found for found in _flushers.values() if found.pending]
    for found in pending:
        found.now()


def flusher(engine: Engine) -> WalFlusher:
    """The one flusher of `engine`'s SQLite database in this process."""
    wal = f"{os.path.abspath(str(engine.url.database))}-wal"
    with _flushers_lock:
        found = _flushers.get(wal)
        if found is None:
            found = _flushers[wal] = WalFlusher(wal, SQLITE_FLUSH_WITHIN)
        return found
