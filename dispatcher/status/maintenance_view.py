"""The status page's "Planlagt vedligehold": the maintenance windows that are upcoming or
active at `now`, with their words and times ready to show. Pure, like `status.view`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dispatcher.status.view import Moment
from dispatcher.store.tables import MaintenanceRow


@dataclass(frozen=True)
class WindowView:
    number: int
    uid: str
    sequence: int
    active: bool
    state: str  # "I gang" or "Planlagt"
    starts_at: Moment
    ends_at: Moment
    updated_at: Moment
    text: str
    scope_label: str  # "alle kommuner" when the window concerns all

    @property
    def title(self) -> str:
        return f"Planlagt vedligehold af FMK {self.starts_at.text} til {self.ends_at.text}"


def window_views(
    rows: Sequence[MaintenanceRow], changed: Mapping[int, datetime], now: datetime
) -> tuple[WindowView, ...]:
    """The windows not cancelled and not over at `now`, soonest first; `changed` is when each
    was last planned or changed."""
    shown = []
    for row in sorted(rows, key=lambda r: (r.starts_at, r.id or 0)):
        if row.id is None or row.status != "scheduled" or row.ends_at <= now:
            continue
        active = row.starts_at <= now
        shown.append(
            WindowView(
                number=row.id,
                uid=row.uid,
                sequence=row.sequence,
                active=active,
                state="I gang" if active else "Planlagt",
                starts_at=Moment(row.starts_at),
                ends_at=Moment(row.ends_at),
                updated_at=Moment(changed.get(row.id, row.created_at)),
                text=row.text,
                scope_label=row.scope_label or "alle kommuner",
            )
        )
    return tuple(shown)
