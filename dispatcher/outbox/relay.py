"""The mail relay's health as the sender finds it, stored in the `relay` row so that the CLI,
`/readyz`, the metrics and the cadence (which tells the owner) all see it.

A relay fails when an attempt fails in a way that retrying may fix: no connection, a timeout,
a 4xx, a rejected login (`SendFailure.permanent` is False). Any accepted message, and any 5xx
about one recipient (the relay answered), clears it. The sender writes when the state
changes and records the newest failing reply; it does not write for every success.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select, update
from sqlmodel import col

from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, DeliveryStatus, RelayRow

RELAY = "smtp"


@dataclass(frozen=True)
class RelayHealth:
    failing_since: datetime | None
    last_error: str
    waiting: int  # deliveries pending or being sent, all incidents

    @property
    def failing(self) -> bool:
        return self.failing_since is not None

    def as_json(self) -> dict[str, object]:
        if self.failing_since is None:
            return {"ok": True, "waiting": self.waiting}
        return {
            "ok": False,
            "failing_since": self.failing_since.isoformat(),
            "last_reply": self.last_error,
            "waiting": self.waiting,
        }


def record_failure(engine: Engine, reply: str, now: datetime) -> None:
    """The relay failed just now with `reply`; it has failed since the first such failure."""
    with transaction(engine) as session:
        session.execute(
            update(RelayRow)
            .where(col(RelayRow.name) == RELAY)
            .values(
                failing_since=func.coalesce(col(RelayRow.failing_since), now),
                last_error=reply,
            )
        )


def record_success(engine: Engine, now: datetime) -> None:
    with transaction(engine) as session:
        session.execute(
            update(RelayRow)
            .where(col(RelayRow.name) == RELAY)
            .values(failing_since=None, last_ok_at=now)
        )


def read(conn: Connection) -> RelayHealth:
    """The relay's state and the deliveries waiting, on an open connection."""
    row = conn.execute(
        select(col(RelayRow.failing_since), col(RelayRow.last_error)).where(
            col(RelayRow.name) == RELAY
        )
    ).first()
    waiting = conn.execute(
        select(func.count())
        .select_from(DeliveryRow)
        .where(col(DeliveryRow.status).in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
    ).scalar_one()
    if row is None:
        return RelayHealth(None, "", waiting)
    return RelayHealth(row[0], row[1] or "", waiting)


def health(engine: Engine) -> RelayHealth:
    with transaction(engine) as session:
        return read(session.connection())


class RelayWatch:
    """The sender's view: writes a success only when the relay was (or may have been) failing,
    and every failure (they are spaced by the retry backoff)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._failing: bool | None = None  # unknown until the first outcome

    def succeeded(self, now: datetime) -> None:
        if self._failing is not False:
            record_success(self._engine, now)
            self._failing = False

    def failed(self, reply: str, now: datetime) -> None:
        record_failure(self._engine, reply, now)
        self._failing = True
