"""A maintenance window's notices due days ahead are `scheduled` in the metrics, not pending,
until they fall due; the oldest-pending age counts from their due time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from dispatcher.contacts.model import Registry
from dispatcher.contacts.scope import resolve
from dispatcher.core.maintenance import Schedule
from dispatcher.incidents.service import Dispatch
from dispatcher.maintenance import service
from dispatcher.metrics.families import families
from dispatcher.metrics.snapshot import read_snapshot
from dispatcher.outbox.sender import Sender
from tests.support.clock import FakeClock

T0 = datetime(2026, 3, 25, 9, 0, tzinfo=UTC)
START = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)
END = datetime(2026, 3, 29, 2, 0, tzinfo=UTC)


def age(engine: Engine, now: datetime) -> float:
    snapshot = read_snapshot(engine, now)
    metrics = families(snapshot, now=now, sender_running=True)
    family = next(f for f in metrics if f.name.endswith("oldest_pending_delivery_age_seconds"))
    return float(family.samples[0].value)


async def test_reminders_due_later_are_scheduled_until_due(
    dispatch: Dispatch, sender: Sender, clock: FakeClock, registry: Registry, engine: Engine
) -> None:
    scope = resolve(registry, regions=["nordjylland"])
    assert scope is not None
    text = "Opgradering af FMK's databaser."
    service.schedule(
        dispatch, Schedule("khs@medcom.dk", START, END, text, scope.codes, scope.label), T0
    )
    clock.set(T0)
    while await sender.run_once():
        pass
    later = T0 + timedelta(days=1)
    counts = read_snapshot(engine, later).deliveries
    assert counts.get("pending", 0) == 0
    assert counts["scheduled"] > 0
    assert counts["sent"] > 0
    assert age(engine, later) == 0

    # 42 s after the day-before reminder fell due, unsent: 42 s old, not four days.
    reminder_due = START - timedelta(hours=24)
    waiting = read_snapshot(engine, reminder_due + timedelta(seconds=42)).deliveries
    assert waiting["pending"] > 0
    assert waiting["scheduled"] > 0  # the −60 min reminder, the start and the end
    assert age(engine, reminder_due + timedelta(seconds=42)) == 42
