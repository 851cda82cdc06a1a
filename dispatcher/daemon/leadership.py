"""Who leads: a lease row in the database with an epoch that fences a deposed leader.

Every replica serves HTTP; only the leader pages, escalates, keeps the cadence and sends.
The leader renews its lease every `RENEW` seconds; when it cannot, it stops sending at once.
A standby takes the lease once it has expired (`TTL`) by its wall clock, so a dead leader is
replaced within TTL + RENEW. The leader's own view of its lease is timed on the steady clock,
from the moment its last renewal began, so a step of its wall clock neither deposes it nor
extends it; renewal needs only the holder and the epoch, which change when anyone else takes
the lease. Times come from the caller's clocks; replicas are expected to run NTP.

On SQLite (one host) a lock file next to the database refuses a second daemon outright.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, update
from sqlalchemy.engine import make_url
from sqlmodel import col

from dispatcher.store.db import is_sqlite, transaction
from dispatcher.store.tables import LEADER_LEASE, LeaderLeaseRow

TTL = timedelta(seconds=10)
RENEW = timedelta(seconds=2)


class SecondDaemon(Exception):
    """Another daemon already runs on this SQLite database."""


@dataclass(frozen=True)
class Lease:
    replica: str
    epoch: int
    began: float  # steady-clock seconds when the acquisition or renewal that gave it began

    def valid(self, steady: float) -> bool:
        """The leader's own view at `steady` (steady-clock seconds): act only while the lease
        surely has not run out, RENEW before it does by the clock that wrote its expiry."""
        return steady - self.began < (TTL - RENEW).total_seconds()


def acquire(engine: Engine, replica: str, now: datetime, *, began: float) -> Lease | None:
    """Take the lease if it is free or expired by `now` (or renew our own); the new lease, or
    None. `began`: the steady clock just before the attempt."""
    with transaction(engine) as session:
        row = session.get(LeaderLeaseRow, LEADER_LEASE, with_for_update=True)
        assert row is not None, "migration 0003 creates the lease row"
        free = row.holder is None or row.expires_at is None or row.expires_at <= now
        if not free and row.holder != replica:
            return None
        if row.holder != replica or free:
            row.epoch += 1
        row.holder, row.expires_at = replica, now + TTL
        return Lease(replica, row.epoch, began)


def renew(engine: Engine, lease: Lease, now: datetime, *, began: float) -> Lease | None:
    """Extend our lease to `now` + TTL; None if another replica has taken it since (the epoch
    changed). A lease that has expired meanwhile by `now` but that nobody took is still ours:
    nothing can have been claimed under another epoch. `began`: the steady clock just before."""
    with transaction(engine) as session:
        result = session.execute(
            update(LeaderLeaseRow)
            .where(
                col(LeaderLeaseRow.name) == LEADER_LEASE,
                col(LeaderLeaseRow.holder) == lease.replica,
                col(LeaderLeaseRow.epoch) == lease.epoch,
            )
            .values(expires_at=now + TTL)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
    return Lease(lease.replica, lease.epoch, began)


def resign(engine: Engine, lease: Lease) -> None:
    """Give the lease up at once (clean shutdown), so a standby need not wait for it to expire."""
    with transaction(engine) as session:
        session.execute(
            update(LeaderLeaseRow)
            .where(
                col(LeaderLeaseRow.holder) == lease.replica,
                col(LeaderLeaseRow.epoch) == lease.epoch,
            )
            .values(holder=None, expires_at=None)
        )


def current(engine: Engine) -> LeaderLeaseRow | None:
    with transaction(engine) as session:
        return session.get(LeaderLeaseRow, LEADER_LEASE)


class SqliteLock:
    """An exclusive lock file beside the SQLite database, held for the daemon's lifetime."""

    def __init__(self, engine: Engine) -> None:
        self._file: IO[str] | None = None
        database = make_url(str(engine.url)).database
        self.path = Path(f"{database}.daemon.lock") if is_sqlite(engine) and database else None

    def take(self) -> None:
        if self.path is None:
            return
        handle = self.path.open("a+", encoding="ascii")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise SecondDaemon(
                f"another dispatcher daemon (pid {holder}) runs on this SQLite database; "
                "more than one replica needs PostgreSQL"
            ) from None
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
