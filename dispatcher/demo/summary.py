"""What the outbox holds, per notice kind, and the closing table of the demo."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.table import Table
from sqlalchemy import Engine, case, func, select
from sqlmodel import col

from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, DeliveryStatus, IncidentRow, MessageRow, NoticeRow


@dataclass(frozen=True)
class KindTotals:
    """The notices of one kind: how many, to how many recipients, how many delivered/failed."""

    kind: str
    notices: int
    recipients: int
    delivered: int
    failed: int

    @property
    def finished(self) -> int:
        return self.delivered + self.failed


def totals(engine: Engine) -> list[KindTotals]:
    """Every notice kind in the database, in the order the first of each was queued."""
    query = (
        select(
            col(NoticeRow.kind),
            func.count(func.distinct(col(NoticeRow.id))),
            func.count(col(DeliveryRow.id)),
            func.sum(case((col(DeliveryRow.status) == DeliveryStatus.SENT, 1), else_=0)),
            func.sum(case((col(DeliveryRow.status) == DeliveryStatus.FAILED, 1), else_=0)),
        )
        .join(MessageRow, col(MessageRow.notice_id) == col(NoticeRow.id), isouter=True)
        .join(DeliveryRow, col(DeliveryRow.message_id) == col(MessageRow.id), isouter=True)
        .group_by(col(NoticeRow.kind))
        .order_by(func.min(col(NoticeRow.id)))
    )
    with transaction(engine) as session:
        rows = session.execute(query).all()
    return [KindTotals(k, n, r, int(d or 0), int(f or 0)) for k, n, r, d, f in rows]


@dataclass(frozen=True)
class Summary:
    kinds: list[KindTotals]
    signal_at: datetime
    # When the last municipality's first notice was delivered; None if one never was.
    all_informed_at: datetime | None
    municipalities: int
    real_elapsed: timedelta

    @property
    def time_to_inform(self) -> timedelta | None:
        if self.all_informed_at is None:
            return None
        return self.all_informed_at - self.signal_at


def summarize(
    engine: Engine, incident_id: int, *, municipalities: int, real_elapsed: timedelta
) -> Summary:
    """The totals, and when every one of the `municipalities` had the incident's initial notice.

    A municipality counts as informed when every address of it got the initial notice."""
    with transaction(engine) as session:
        incident = session.get(IncidentRow, incident_id)
        assert incident is not None, f"incident #{incident_id} is in the database"
        sent = col(DeliveryRow.status) == DeliveryStatus.SENT
        count, last, undelivered = session.execute(
            select(
                func.count(func.distinct(case((sent, col(MessageRow.audience))))),
                func.max(case((sent, col(DeliveryRow.finished_at)))),
                func.count(case((~sent, col(DeliveryRow.id)))),
            )
            .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
            .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
            .where(
                col(NoticeRow.incident_id) == incident_id,
                col(NoticeRow.kind) == "initial",
                col(MessageRow.audience).startswith("kommune-"),
            )
        ).one()
    complete = count == municipalities and not undelivered
    return Summary(
        kinds=totals(engine),
        signal_at=incident.opened_at,
        all_informed_at=last if complete else None,
        municipalities=municipalities,
        real_elapsed=real_elapsed,
    )


def span(duration: timedelta) -> str:
    """E.g. '5h 15m 03s', '24m 41s', '12.3s'."""
    seconds = duration.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def table(summary: Summary) -> Table:
    """Notices, recipients, delivered and failed per kind, with a total row."""
    grid = Table(title="Notices", title_justify="left")
    grid.add_column("Kind")
    for name in ("Notices", "Recipients", "Delivered", "Failed"):
        grid.add_column(name, justify="right")
    for row in summary.kinds:
        failed = f"[red]{row.failed}[/]" if row.failed else "0"
        grid.add_row(row.kind, str(row.notices), str(row.recipients), str(row.delivered), failed)
    grid.add_section()
    grid.add_row(
        "total",
        *(
            str(sum(getattr(r, name) for r in summary.kinds))
            for name in ("notices", "recipients", "delivered", "failed")
        ),
        style="bold",
    )
    return grid


def timing_lines(summary: Summary) -> list[str]:
    """The simulated time from the signal to every municipality informed, and the real time."""
    reach = summary.time_to_inform
    informed = (
        f"{span(reach)} (simulated)"
        if reach is not None
        else "[red]not all of them were informed[/]"
    )
    return [
        f"Signal → all {summary.municipalities} municipalities informed: {informed}",
        f"Real time for the whole plan: {span(summary.real_elapsed)}",
    ]
