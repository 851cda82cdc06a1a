"""Between the stored row and the core's Incident."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from dispatcher.core.enums import Release, Source, Status
from dispatcher.core.model import Incident
from dispatcher.store.tables import IncidentRow

_STATE_FIELDS = tuple(f.name for f in fields(Incident))
OPEN_KEY = "FMK"
DRILL_OPEN_KEY = "DRILL"


def open_key(*, drill: bool) -> str:
    """The unique key an open incident holds: one real outage and one drill at a time."""
    return DRILL_OPEN_KEY if drill else OPEN_KEY


def to_core(row: IncidentRow) -> Incident:
    values = {name: getattr(row, name) for name in _STATE_FIELDS}
    values["status"] = Status(row.status)
    values["release"] = Release(row.release)
    values["source"] = Source(row.source)
    values["scope"] = _codes(row.scope)
    values["scope_label"] = row.scope_label or ""
    values["scope_unknown"] = _codes(row.scope_unknown)
    return Incident(**values)


def _columns(incident: Incident) -> dict[str, Any]:
    values = {name: getattr(incident, name) for name in _STATE_FIELDS}
    for name in ("status", "release", "source"):
        values[name] = str(values[name])
    values["scope"] = _joined(incident.scope)
    values["scope_label"] = incident.scope_label or None
    values["scope_unknown"] = _joined(incident.scope_unknown)
    values["open_key"] = open_key(drill=incident.drill) if incident.status.is_open else None
    return values


def new_row(incident: Incident, *, uid: str, opened_by: str) -> IncidentRow:
    return IncidentRow(uid=uid, opened_by=opened_by, **_columns(incident))


def write_state(row: IncidentRow, incident: Incident) -> None:
    for name, value in _columns(incident).items():
        setattr(row, name, value)


def _codes(column: str | None) -> tuple[int, ...]:
    return tuple(int(code) for code in column.split(",")) if column else ()


def _joined(codes: tuple[int, ...]) -> str | None:
    return ",".join(str(code) for code in codes) or None
