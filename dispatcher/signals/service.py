"""What an SDS signal does. Each is handled once, by its event id, in one transaction with the
incident change it causes: a repeat gets the stored answer and changes nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from dispatcher.config import Settings
from dispatcher.core.enums import Release
from dispatcher.core.model import Decision, Incident, Rejected
from dispatcher.incidents.mapping import to_core
from dispatcher.incidents.service import Dispatch, apply_in, open_in, open_incident_id
from dispatcher.maintenance import sds, suppress
from dispatcher.signals import heartbeat, one_statement
from dispatcher.signals.durability import may_be_lazy
from dispatcher.signals.model import Signal, SignalConflict, SignalKind, SignalOutcome
from dispatcher.signals.routing import ApplyToOpen, Heartbeat, Ignore, OpenNew, route
from dispatcher.store.db import is_sqlite, transaction
from dispatcher.store.tables import IncidentRow, SignalRow

log = structlog.get_logger(__name__)
ATTEMPTS = 3

_SIGNALS = SignalRow.__table__  # type: ignore[attr-defined]
_SEEN = select(_SIGNALS.c.body_sha256, _SIGNALS.c.response).where(
    _SIGNALS.c.event_id == bindparam("event_id")
)
_RECORD = insert(_SIGNALS)


def receive_signal(
    d: Dispatch,
    signal: Signal,
    *,
    body_sha256: str,
    now: datetime,
    settings: Settings,
    also: Callable[[Session, SignalOutcome], None] | None = None,
) -> SignalOutcome:
    """Carry out `signal` once. Raises SignalConflict if its event id came with another body.
    `also` runs in the same transaction with the answer of a signal handled now (not of a
    repeat), e.g. to remember which incident an alert group belongs to.

    A transaction that fails because someone else handled the same event id just now, or
    because the database had cut its connection off (a restart since the last request: the
    pool does not ping a connection in steady use, store.db), is tried again; the event id
    makes that safe even if the lost connection had committed."""
    heartbeat_only = signal.kind is SignalKind.HEARTBEAT
    one = heartbeat_only and also is None and not is_sqlite(d.engine)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            if one:
                done = one_statement.receive_heartbeat(
                    d.engine, signal.event_id, body_sha256, now, heartbeat.MONITOR
                )
                if done is not None:
                    what = "signal.duplicate" if "duplicate" in done.body else "signal.received"
                    log.debug(what, event_id=signal.event_id, kind=str(signal.kind))
                    return done
            # A heartbeat's commit may be lazy (signals.durability); every other one is not.
            begin = may_be_lazy if heartbeat_only else transaction
            with begin(d.engine) as session:
                return _receive(session, d, signal, body_sha256, now, settings, also)
        except DBAPIError as exc:
            if not _worth_retrying(exc, attempt) or attempt == ATTEMPTS:
                raise
            log.info("signal.retry", event_id=signal.event_id, attempt=attempt, error=str(exc))
    raise AssertionError("unreachable")


def _worth_retrying(exc: DBAPIError, attempt: int) -> bool:
    """Someone else handled the same event id, or opened an incident, just now (the next
    attempt sees it and answers accordingly), or the first attempt found its pooled connection
    dead (SQLAlchemy has replaced the pool's connections; a second disconnect means the
    database does not answer, and that is a 503 without waiting for a third)."""
    return isinstance(exc, IntegrityError) or (exc.connection_invalidated and attempt == 1)


def _receive(
    session: Session,
    d: Dispatch,
    signal: Signal,
    body_sha256: str,
    now: datetime,
    settings: Settings,
    also: Callable[[Session, SignalOutcome], None] | None,
) -> SignalOutcome:
    # Core statements, not the ORM: the idempotency record is read and written for every
    # signal, and the unit of work costs more than the SQL (docs/performance.md, "Intake").
    seen = session.connection().execute(_SEEN, {"event_id": signal.event_id}).first()
    if seen is not None:
        if seen.body_sha256 != body_sha256:
            raise SignalConflict(
                f"event_id {signal.event_id!r} was used before for a different signal"
            )
        log.log(_level(signal), "signal.duplicate", event_id=signal.event_id)
        stored = json.loads(seen.response)
        return SignalOutcome(stored["status_code"], {**stored["body"], "duplicate": True})
    try:
        outcome, incident_id = _route(session, d, signal, now, settings)
    except Rejected as exc:
        outcome, incident_id = SignalOutcome(422, {"error": "rejected", "detail": str(exc)}), None
    if also is not None:
        also(session, outcome)
    session.flush()  # the incident the signal opened exists before the record names it
    answer = {"status_code": outcome.status_code, "body": outcome.body}
    record = {
        "event_id": signal.event_id,
        "kind": str(signal.kind),
        "received_at": now,
        "body_sha256": body_sha256,
        "incident_id": incident_id,
        "response": json.dumps(answer, ensure_ascii=False),
    }
    session.connection().execute(_RECORD, record)
    log.log(
        _level(signal),
        "signal.received",
        event_id=signal.event_id,
        kind=str(signal.kind),
        **outcome.body,
    )
    return outcome


def _level(signal: Signal) -> int:
    """A heartbeat comes every minute and the endpoint logs its answer anyway: what became of
    it is logged at debug level, that of any other signal at info."""
    return logging.DEBUG if signal.kind is SignalKind.HEARTBEAT else logging.INFO


def _route(
    session: Session, d: Dispatch, signal: Signal, now: datetime, settings: Settings
) -> tuple[SignalOutcome, int | None]:
    if signal.kind is SignalKind.MAINTENANCE:
        return sds.receive(session, d, signal, now)
    # A heartbeat routes the same whatever is open: it does not read the incidents.
    heartbeat_only = signal.kind is SignalKind.HEARTBEAT
    current = None if heartbeat_only else open_incident_id(session, drill=signal.drill)
    incident = _load(session, current)
    if incident is None:
        absorbed = suppress.absorb(session, signal, now, d.maintenance)
        if absorbed is not None:
            return absorbed, None
    step = route(
        signal,
        incident,
        now=now,
        guidance=d.standard_guidance,
        release=Release(settings.municipal_release),
    )
    match step:
        case Heartbeat():
            resumed = heartbeat.record_beat(session, d, now)
            return SignalOutcome(200, {"action": "heartbeat", "resumed": resumed}), None
        case OpenNew(trigger):
            number, _ = open_in(session, d, trigger, now)
            return SignalOutcome(201, {"action": "opened", "incident": number}), number
        case Ignore(reason):
            return SignalOutcome(202, {"action": "ignored", "reason": reason}), None
        case ApplyToOpen(event):
            assert current is not None
            decision = apply_in(session, d, current, event, now)
            body = {"action": _action(signal, decision), "incident": current}
            return SignalOutcome(200, body), current


def _load(session: Session, incident_id: int | None) -> Incident | None:
    if incident_id is None:
        return None
    row = session.get(IncidentRow, incident_id)
    return to_core(row) if row is not None else None


def _action(signal: Signal, decision: Decision) -> str:
    if signal.kind is SignalKind.RESOLVED:
        if not decision.incident.status.is_open:
            return "resolved"
        return "recovering" if decision.incident.all_clear_at else "awaiting_owner"
    return "attached"
