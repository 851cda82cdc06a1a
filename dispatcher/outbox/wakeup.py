"""Waking the sender the moment deliveries are queued, instead of at its next look.

`queued(session)` is called wherever delivery rows are added. When that transaction commits,
every sender of this process on the same database is woken (the webhook, the acknowledgement
page and the scheduler's tick commit in worker threads, so a subscriber is called from any
thread). On PostgreSQL the transaction also carries a `NOTIFY`, which PostgreSQL delivers at
its commit (and not at all on a rollback) to every process that listens (`outbox.watch`): a
notice committed by the CLI wakes the daemon. SQLite has nothing of the kind; the daemon notices
another process's commit by a short poll (`outbox.watch.SqliteWatch`)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event, text
from sqlmodel import Session

from dispatcher.store.db import is_sqlite

CHANNEL = "dispatcher_outbox"
_QUEUED = "dispatcher_outbox_queued"

_lock = threading.Lock()
_subscribers: defaultdict[str, set[Callable[[], None]]] = defaultdict(set)


def _database(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def subscribe(engine: Engine, callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` after every commit in this process that queued deliveries on `engine`'s
    database; returns the function that ends the subscription."""
    database = _database(engine)
    with _lock:
        _subscribers[database].add(callback)

    def unsubscribe() -> None:
        with _lock:
            _subscribers[database].discard(callback)

    return unsubscribe


def queued(session: Session) -> None:
    """Deliveries were added in `session`'s transaction: wake the senders when it commits."""
    if session.info.get(_QUEUED):
        return
    engine = session.get_bind().engine
    session.info[_QUEUED] = engine
    if not is_sqlite(engine):
        session.execute(text(f"NOTIFY {CHANNEL}"))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    engine: Engine | None = session.info.pop(_QUEUED, None)
    if engine is None:
        return
    with _lock:
        callbacks = list(_subscribers.get(_database(engine), ()))
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session, *_: Any) -> None:
    session.info.pop(_QUEUED, None)
