"""The SDS heartbeat watch as stored: one `monitor` row, checked by the daemon's tick."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import bindparam, update
from sqlmodel import Session

from dispatcher.core import heartbeat
from dispatcher.core.model import SDS_ACTOR, SYSTEM_ACTOR, Notify
from dispatcher.incidents.service import Dispatch
from dispatcher.outbox.enqueue import enqueue_notice
from dispatcher.signals import durability
from dispatcher.store.db import transaction
from dispatcher.store.tables import MonitorRow

log = structlog.get_logger(__name__)
MONITOR = "sds-heartbeat"
_MONITORS = MonitorRow.__table__  # type: ignore[attr-defined]
_BEAT = (
    update(_MONITORS)
    .where(_MONITORS.c.name == bindparam("monitor"), _MONITORS.c.lost_since.is_(None))
    .values(last_seen_at=bindparam("now"))
)


def _load(session: Session) -> MonitorRow:
    row = session.get(MonitorRow, MONITOR, with_for_update=True)
    if row is None:
        row = MonitorRow(name=MONITOR)
        session.add(row)
    return row


def _save(
    session: Session,
    d: Dispatch,
    row: MonitorRow,
    watch: heartbeat.Watch,
    notices: list[Notify],
    actor: str,
    now: datetime,
) -> None:
    row.last_seen_at, row.lost_since = watch.last_seen_at, watch.lost_since
    for notify in notices:
        enqueue_notice(
            session,
            row=None,
            incident=None,
            notify=notify,
            actor=actor,
            now=now,
            registry=d.registry,
            renderer=d.renderer,
        )
        log.warning("heartbeat.paged", info=str(notify.info))


def record_beat(session: Session, d: Dispatch, now: datetime) -> bool:
    """A heartbeat arrived; True if it ended a reported loss."""
    if _beat_while_watched(session, now):
        durability.lazy(session)  # it pages nobody: its commit need not wait for the disk
        return False
    row = _load(session)
    watch, notices = heartbeat.beat(heartbeat.Watch(row.last_seen_at, row.lost_since), now)
    _save(session, d, row, watch, notices, SDS_ACTOR, now)
    return bool(notices)


def _beat_while_watched(session: Session, now: datetime) -> bool:
    """`heartbeat.beat` as one conditional update, for the usual case: the watch runs and no
    loss was reported, so the beat only moves `last_seen_at` and pages nobody. False (nothing
    changed) when there is no watch yet or a loss was reported: then the caller loads the row."""
    result = session.connection().execute(_BEAT, {"monitor": MONITOR, "now": now})
    return result.rowcount == 1


def check(d: Dispatch, now: datetime, window: timedelta) -> bool:
    """Page if heartbeats have stopped; True if this check paged."""
    with transaction(d.engine) as session:
        row = session.get(MonitorRow, MONITOR, with_for_update=True)
        if row is None:
            return False
        current = heartbeat.Watch(row.last_seen_at, row.lost_since)
        watch, notices = heartbeat.check(current, now, window)
        _save(session, d, row, watch, notices, SYSTEM_ACTOR, now)
        return bool(notices)
