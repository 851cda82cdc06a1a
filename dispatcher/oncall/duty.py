"""Who is on call at an instant, from the registry's rota and the overrides in the database: the
adapter around the pure `contacts.rota`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import structlog
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from dispatcher.contacts.model import Person, Registry
from dispatcher.contacts.rota import Duty, Override, Rota, Shift, duty, shifts
from dispatcher.store.db import read_only
from dispatcher.store.tables import OncallOverrideRow

log = structlog.get_logger(__name__)


def schedule(registry: Registry) -> Rota:
    """The rota of rota.csv; without one, every on-call person of escalation.csv always."""
    return registry.rota or Rota.always(registry.escalation.staff)


def staff_member(registry: Registry, email: str) -> Person | None:
    """The on-call person (role oncall) with address `email`, in any case."""
    wanted = email.strip().casefold()
    return next((p for p in registry.escalation.staff if p.email.casefold() == wanted), None)


def overrides_between(
    session: Session, registry: Registry, start: datetime, end: datetime
) -> list[Override]:
    """The overrides in force at some time from `start` until `end` (or at `start`, if they
    are the same), oldest first. One that
    names a person no longer in escalation.csv is left out (and logged): the schedule's
    person is paged instead of an address nobody checked."""
    rows = session.scalars(
        select(OncallOverrideRow)
        .where(
            col(OncallOverrideRow.removed_at).is_(None),
            col(OncallOverrideRow.starts_at) <= end,
            col(OncallOverrideRow.ends_at) > start,
        )
        .order_by(col(OncallOverrideRow.id))
    )
    found = []
    for row in rows:
        override = as_override(row, registry)
        if override is None:
            log.warning("oncall.override_ignored", override=row.id, person=row.person)
        else:
            found.append(override)
    return found


def as_override(row: OncallOverrideRow, registry: Registry) -> Override | None:
    """The stored override for the pure rota, or None if a person in it is not on-call staff."""
    assert row.id is not None
    person = staff_member(registry, row.person)
    replaces = staff_member(registry, row.replaces) if row.replaces is not None else None
    if person is None or (row.replaces is not None and replaces is None):
        return None
    return Override(row.id, person, row.starts_at, row.ends_at, replaces)


def duty_at(session: Session, registry: Registry, at: datetime) -> Duty:
    return duty(schedule(registry), overrides_between(session, registry, at, at), at)


def on_duty(session: Session, registry: Registry, at: datetime) -> Registry:
    """`registry` as it stands at `at`: its escalation's on-call people are those the rota
    and the overrides put on call then (its `staff` are still everyone)."""
    people = duty_at(session, registry, at).people
    return replace(registry, escalation=registry.escalation.on_duty(people))


def on_duty_now(engine: Engine, registry: Registry, at: datetime) -> Registry:
    """`on_duty` in a read-only transaction of its own."""
    with read_only(engine) as session:
        return on_duty(session, registry, at)


def shifts_between(
    engine: Engine, registry: Registry, start: datetime, end: datetime
) -> list[Shift]:
    """Who is on call from `start` until `end`, shift by shift."""
    with read_only(engine) as session:
        overrides = overrides_between(session, registry, start, end)
    return shifts(schedule(registry), overrides, start, end)
