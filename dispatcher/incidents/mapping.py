"""Between the stored row and the core's Incident."""

from __future__ import annotations

from dataclasses import fields

from dispatcher.core.model import Incident, Status
from dispatcher.store.tables import IncidentRow

_STATE_FIELDS = tuple(f.name for f in fields(Incident))


def to_core(row: IncidentRow) -> Incident:
    values = {name: getattr(row, name) for name in _STATE_FIELDS}
    values["status"] = Status(row.status)
    return Incident(**values)


def new_row(incident: Incident, *, uid: str, opened_by: str) -> IncidentRow:
    values = {name: getattr(incident, name) for name in _STATE_FIELDS}
    values["status"] = incident.status.value
    return IncidentRow(uid=uid, opened_by=opened_by, **values)


def write_state(row: IncidentRow, incident: Incident) -> None:
    for name in _STATE_FIELDS:
        setattr(row, name, getattr(incident, name))
    row.status = incident.status.value
