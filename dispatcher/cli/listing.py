"""`dispatcher incident list`: one query on the incident table and a table on the terminal.

It reads through SQLAlchemy Core with a lightweight description of the columns it shows, not
through the ORM's table classes, so that the command does not import SQLModel, pydantic's
table models, the registry or the templates (tests/cli/test_fast_start.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.markup import escape
from rich.table import Table
from sqlalchemy import Boolean, Engine, Integer, String, column, select, table

from dispatcher.cli.context import console
from dispatcher.cli.runtime import local
from dispatcher.core.enums import Status
from dispatcher.store.engine import READ_ONLY
from dispatcher.store.types import UTCDateTime

OPEN = (Status.TRIGGERED.value, Status.ACKNOWLEDGED.value)
_TIME = UTCDateTime(timezone=True)
INCIDENT = table(
    "incident",
    column("id", Integer),
    column("status", String),
    column("summary", String),
    column("owner", String),
    column("drill", Boolean),
    column("scope_label", String),
    column("down_since", _TIME),
    column("next_update_at", _TIME),
    column("closed_at", _TIME),
)


@dataclass(frozen=True)
class IncidentLine:
    id: int
    status: str
    summary: str
    owner: str | None
    drill: bool
    scope_label: str | None
    down_since: datetime
    next_update_at: datetime | None
    closed_at: datetime | None


def list_incidents(engine: Engine, *, include_closed: bool = True) -> list[IncidentLine]:
    """Newest first; only the open ones unless `include_closed`. A read that takes no write
    lock (`READ_ONLY`), so it neither waits for nor blocks the daemon."""
    query = select(*INCIDENT.c).order_by(INCIDENT.c.id.desc())
    if not include_closed:
        query = query.where(INCIDENT.c.status.in_(OPEN))
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        return [IncidentLine(**row._mapping) for row in conn.execute(query)]


def show_list(incidents: list[IncidentLine]) -> None:
    if not incidents:
        console.print("No incidents.")
        return
    lines = Table("#", "status", "summary", "down since", "owner", "next update", "closed")
    for row in incidents:
        marks = ("[bold]ØVELSE[/] " if row.drill else "") + (
            f"[{escape(row.scope_label)}] " if row.scope_label else ""
        )
        lines.add_row(
            str(row.id),
            row.status,
            marks + escape(row.summary),
            local(row.down_since),
            escape(row.owner or "–"),
            local(row.next_update_at),
            local(row.closed_at),
        )
    console.print(lines)
