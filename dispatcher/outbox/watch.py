"""How the daemon's sender learns that another process queued deliveries (see `outbox.wakeup`).

PostgreSQL: a connection of its own LISTENs on the outbox channel and wakes the sender on every
notification, and once on each (re)connection, for whatever was committed while it was not
listening. SQLite: `PRAGMA data_version` on a connection of its own changes whenever another
connection has committed; a thread of its own (`follow`) asks it every `SQLITE_POLL` and wakes
the sender when it changed. That costs no table read, and the event loop is not woken for the
looks that find nothing (waking it five times a second was a third of an idle daemon's CPU)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta

import structlog
from sqlalchemy import Engine

from dispatcher.outbox.wakeup import CHANNEL
from dispatcher.store.db import PG_CONNECT_TIMEOUT_S

log = structlog.get_logger(__name__)

SQLITE_POLL = timedelta(milliseconds=200)
RECONNECT = timedelta(seconds=2)


async def listen(engine: Engine, wake: Callable[[], None]) -> None:
    """Call `wake` on every notification on the outbox channel, until cancelled; a lost
    connection is logged and made again every `RECONNECT`."""
    import psycopg  # only a daemon on PostgreSQL needs it

    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                conninfo, autocommit=True, connect_timeout=PG_CONNECT_TIMEOUT_S
            ) as connection:
                await connection.execute(f"LISTEN {CHANNEL}")
                wake()
                async for _ in connection.notifies():
                    wake()
        except psycopg.Error as exc:
            log.warning("sender.listen_failed", error=str(exc), retry_in=RECONNECT.total_seconds())
        await asyncio.sleep(RECONNECT.total_seconds())


class SqliteWatch:
    """Tells whether anyone else has committed to the SQLite database since it last looked."""

    def __init__(self, database: str) -> None:
        self._database = database
        self._connection: sqlite3.Connection | None = None
        self._version: int | None = None

    def changed(self) -> bool:
        """True on the first call, and when the database changed since the last; an error
        counts as a change (the sender then looks at the queue itself)."""
        try:
            if self._connection is None:
                self._connection = sqlite3.connect(self._database, timeout=0.1)
            version = int(self._connection.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            self.close()
            return True
        changed, self._version = version != self._version, version
        return changed

    def close(self) -> None:
        if self._connection is not None:
            with suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None
        self._version = None


async def follow(watch: SqliteWatch, wake: Callable[[], None]) -> None:
    """Call `wake` in the event loop whenever `watch` sees a commit by another connection (and
    once at the start), looking every `SQLITE_POLL` from a thread, until cancelled."""
    loop = asyncio.get_running_loop()
    stopped = threading.Event()

    def look() -> None:
        try:
            while True:
                if watch.changed():
                    with suppress(RuntimeError):  # the loop has closed: nothing to wake
                        loop.call_soon_threadsafe(wake)
                if stopped.wait(SQLITE_POLL.total_seconds()):
                    return
        finally:
            watch.close()  # in the thread that opened its connection

    looking = threading.Thread(target=look, name="sqlite-watch", daemon=True)
    looking.start()
    try:
        await asyncio.Event().wait()
    finally:
        stopped.set()
        await asyncio.to_thread(looking.join)


def sqlite_watch(engine: Engine) -> SqliteWatch | None:
    """A watch for `engine`'s database file; None for PostgreSQL and in-memory databases."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return SqliteWatch(database)
