"""Each running daemon keeps a row in `replica` fresh; the CLI reads it to tell whether one runs
and how its background tasks fare."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select, update
from sqlmodel import col

from dispatcher.store.db import transaction
from dispatcher.store.tables import ReplicaRow

INTERVAL = timedelta(seconds=5)
STALE_AFTER = 3 * INTERVAL


def register(engine: Engine, now: datetime) -> str:
    replica_id = str(uuid.uuid4())
    with transaction(engine) as session:
        session.add(
            ReplicaRow(
                id=replica_id,
                hostname=socket.gethostname(),
                pid=os.getpid(),
                started_at=now,
                last_seen_at=now,
            )
        )
    return replica_id


def beat(engine: Engine, replica_id: str, now: datetime, tasks: str | None = None) -> None:
    """Mark the replica seen at `now`, with its tasks' health (`daemon.supervise.dumps`)."""
    with transaction(engine) as session:
        session.execute(
            update(ReplicaRow)
            .where(col(ReplicaRow.id) == replica_id)
            .values(last_seen_at=now, tasks=tasks)
        )
        session.execute(
            delete(ReplicaRow).where(col(ReplicaRow.last_seen_at) < now - timedelta(days=1))
        )


def unregister(engine: Engine, replica_id: str) -> None:
    with transaction(engine) as session:
        session.execute(delete(ReplicaRow).where(col(ReplicaRow.id) == replica_id))


def daemon_running(engine: Engine, now: datetime) -> bool:
    with transaction(engine) as session:
        seen = session.scalar(select(func.max(col(ReplicaRow.last_seen_at))))
    return seen is not None and seen >= now - STALE_AFTER
