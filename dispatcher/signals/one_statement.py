"""A heartbeat on PostgreSQL in one statement, one round trip, its own transaction.

The usual heartbeat is a new event id on a running watch that reported no loss: it records the
event id with its answer and moves `last_seen_at`, and pages nobody, so its commit need not
wait for the disk (signals.durability). This does exactly that in one statement run in
autocommit: `set_config(..., true)` makes the statement's own transaction commit without
waiting for the disk, the beat's `UPDATE` runs only for an event id not seen, and the record's
`INSERT` only if the beat moved the watch. A statement is atomic, so either both rows are
written and committed before the answer or neither is.

It also answers a repeat of an event id it finds (the stored answer, as `signals.service`
would). In every other case (no watch yet, a reported loss, an event id another request is
recording at this moment) it writes nothing and says so; the caller then runs the signal
through the general path, which handles all of them. A concurrent first insert of the same
event id fails this statement with a unique violation and nothing written, as it fails the
general path.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Engine, bindparam, text

from dispatcher.signals.model import SignalConflict, SignalKind, SignalOutcome
from dispatcher.store.tables import SignalRow

BEAT = SignalOutcome(200, {"action": "heartbeat", "resumed": False})
_ANSWER = json.dumps({"status_code": BEAT.status_code, "body": BEAT.body}, ensure_ascii=False)
_TIME = SignalRow.__table__.c.received_at.type  # type: ignore[attr-defined]
STATEMENT = text(
    """
    WITH lazy AS (SELECT set_config('synchronous_commit', 'off', true) AS level),
    seen AS (SELECT body_sha256, response FROM signal WHERE event_id = :event_id),
    beat AS (
        UPDATE monitor SET last_seen_at = :now
        WHERE name = :monitor AND lost_since IS NULL
          AND NOT EXISTS (SELECT FROM seen) AND EXISTS (SELECT FROM lazy)
        RETURNING name
    ),
    record AS (
        INSERT INTO signal (event_id, kind, received_at, body_sha256, incident_id, response)
        SELECT :event_id, :kind, :now, :body_sha256, NULL, :response FROM beat
        RETURNING event_id
    )
    SELECT (SELECT count(*) FROM record) AS recorded, seen.body_sha256, seen.response
    FROM (SELECT) AS one LEFT JOIN seen ON true
    """
).bindparams(bindparam("now", type_=_TIME))


def receive_heartbeat(
    engine: Engine, event_id: str, body_sha256: str, now: datetime, monitor: str
) -> SignalOutcome | None:
    """The answer to a heartbeat recorded or repeated in one statement, or None when nothing
    was written and the general path must handle it. Raises SignalConflict for an event id
    that came before with another body."""
    with engine.connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        row = autocommit.execute(
            STATEMENT,
            {
                "event_id": event_id,
                "kind": str(SignalKind.HEARTBEAT),
                "now": now,
                "body_sha256": body_sha256,
                "response": _ANSWER,
                "monitor": monitor,
            },
        ).one()
    if row.recorded:
        return BEAT
    if row.response is None:
        return None
    if row.body_sha256 != body_sha256:
        raise SignalConflict(f"event_id {event_id!r} was used before for a different signal")
    stored = json.loads(row.response)
    return SignalOutcome(stored["status_code"], {**stored["body"], "duplicate": True})
