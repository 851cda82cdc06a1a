"""Overrides of the on-call rota, made and removed by duty staff (`dispatcher oncall`) and
stored in `oncall_override`. Bad input is refused with the reason and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import Engine, select
from sqlmodel import col

from dispatcher.contacts.model import Person, Registry
from dispatcher.contacts.rota import COPENHAGEN, Override, on_call, shifts
from dispatcher.oncall.duty import overrides_between, schedule, staff_member
from dispatcher.store.db import read_only, transaction
from dispatcher.store.tables import OncallOverrideRow

log = structlog.get_logger(__name__)


class OverrideRejected(Exception):
    """The override cannot be made or removed; the message says why."""


@dataclass(frozen=True)
class Request:
    person: str
    starts_at: datetime
    ends_at: datetime
    replaces: str | None = None
    reason: str = ""


def create(
    engine: Engine, registry: Registry, request: Request, *, actor: str, now: datetime
) -> OncallOverrideRow:
    """Store the override and return it, or raise OverrideRejected (storing nothing): for a
    person who is not on-call staff, a period that is empty or over, or an override that would
    change nobody's duty (replacing someone who is not on call then, or adding someone who is)."""
    person = _staff(registry, request.person, "the person")
    replaces = _staff(registry, request.replaces, "--replaces") if request.replaces else None
    if replaces is not None and replaces.email == person.email:
        raise OverrideRejected(f"{person.email} cannot replace themselves")
    start, end = request.starts_at, request.ends_at
    if end <= start:
        raise OverrideRejected(f"--to {_local(end)} is not after --from {_local(start)}")
    if end <= now:
        raise OverrideRejected(
            f"--to {_local(end)} is in the past: the override would change nothing"
        )
    with transaction(engine) as session:
        row = OncallOverrideRow(
            person=person.email,
            replaces=replaces.email if replaces else None,
            starts_at=start,
            ends_at=end,
            reason=request.reason,
            created_at=now,
            created_by=actor,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        everything = overrides_between(session, registry, start, end)
        _check_effect(registry, row.id, everything, person, replaces, start, end)
    log.info("oncall.override_created", override=row.id, person=row.person, replaces=row.replaces)
    return row


def _check_effect(
    registry: Registry,
    number: int,
    everything: list[Override],
    person: Person,
    replaces: Person | None,
    start: datetime,
    end: datetime,
) -> None:
    """Refuse an override that would not change who is on call at any time of its period."""
    rota = schedule(registry)
    before = [o for o in everything if o.number != number]
    for shift in shifts(rota, everything, start, end):
        was = {p.email for p in on_call(rota, before, shift.starts_at)}
        if was != {p.email for p in shift.duty.people}:
            return
    period = f"from {_local(start)} to {_local(end)}"
    if replaces is not None:
        raise OverrideRejected(
            f"{replaces.email} is not on call at any time {period}: there is nobody to replace"
        )
    raise OverrideRejected(f"{person.email} is on call all the time {period} already")


def remove(engine: Engine, number: int, *, actor: str, now: datetime) -> OncallOverrideRow:
    """Remove override `number` (its row stays, marked removed); refused for an unknown,
    removed or ended override."""
    with transaction(engine) as session:
        row = session.get(OncallOverrideRow, number, with_for_update=True)
        if row is None:
            raise OverrideRejected(f"there is no override #{number}")
        if row.removed_at is not None:
            raise OverrideRejected(
                f"override #{number} was removed already, at {_local(row.removed_at)} by "
                f"{row.removed_by}"
            )
        if row.ends_at <= now:
            raise OverrideRejected(
                f"override #{number} ended at {_local(row.ends_at)}: there is nothing to remove"
            )
        row.removed_at, row.removed_by = now, actor
    log.info("oncall.override_removed", override=number, by=actor)
    return row


def listed(engine: Engine, *, now: datetime, everything: bool = False) -> list[OncallOverrideRow]:
    """The overrides that are in force or to come, by start; `everything` adds the ended and
    the removed ones."""
    query = select(OncallOverrideRow).order_by(
        col(OncallOverrideRow.starts_at), col(OncallOverrideRow.id)
    )
    if not everything:
        query = query.where(
            col(OncallOverrideRow.removed_at).is_(None), col(OncallOverrideRow.ends_at) > now
        )
    with read_only(engine) as session:
        return list(session.scalars(query))


def _staff(registry: Registry, email: str, what: str) -> Person:
    found = staff_member(registry, email)
    if found is None:
        known = ", ".join(p.email for p in registry.escalation.staff)
        raise OverrideRejected(
            f"{what} {email!r} is not an on-call person (role oncall) in escalation.csv; "
            f"known: {known}"
        )
    return found


def _local(moment: datetime) -> str:
    return moment.astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M %Z")
