"""Between the stored maintenance row and the core's Window."""

from __future__ import annotations

from dispatcher.core.maintenance import Outage, Window, WindowStatus
from dispatcher.store.tables import MaintenanceRow


def codes(text: str | None) -> tuple[int, ...]:
    return tuple(int(code) for code in text.split(",")) if text else ()


def _text(scope: tuple[int, ...]) -> str | None:
    return ",".join(str(code) for code in scope) or None


def to_window(row: MaintenanceRow) -> Window:
    down = None
    if row.down_since is not None:
        down = Outage(
            since=row.down_since,
            summary=row.down_summary or "",
            details=row.down_details or "",
            severity=row.down_severity or "down",
            scope=codes(row.down_scope),
            scope_label=row.down_scope_label or "",
        )
    return Window(
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        text=row.text,
        scope=codes(row.scope),
        scope_label=row.scope_label or "",
        status=WindowStatus(row.status),
        sequence=row.sequence,
        released=row.released,
        down=down,
    )


def write_window(row: MaintenanceRow, window: Window) -> None:
    row.starts_at = window.starts_at
    row.ends_at = window.ends_at
    row.text = window.text
    row.scope = _text(window.scope)
    row.scope_label = window.scope_label or None
    row.status = str(window.status)
    row.sequence = window.sequence
    row.released = window.released
    down = window.down
    row.down_since = down.since if down else None
    row.down_summary = down.summary if down else None
    row.down_details = down.details if down else None
    row.down_severity = down.severity if down else None
    row.down_scope = _text(down.scope) if down else None
    row.down_scope_label = (down.scope_label or None) if down else None
