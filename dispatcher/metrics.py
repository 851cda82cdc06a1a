"""Prometheus metrics, read from the database at scrape time.

Nothing about incidents or mail is counted in process memory: those values come from the tables
when `/metrics` is scraped, so every replica reports the same truth and a restart loses nothing.
Only this replica's own state is its own: whether it leads, whether its sender runs, and its
background tasks' restarts since it started (`task_restarts_total`, from the `Supervisor`; a
counter that starts again at 0 with the process, as Prometheus expects). The collector is
registered on a private `CollectorRegistry` (not prometheus_client's global one), so the
exposition holds only these metrics.

"Counters" (`*_total` with counter type) count rows that are never deleted, so they only grow.
Drills (ØVELSE) are left out of the incident metrics (open incidents, incidents by status,
fail-safe sends); the mail they send counts among the notices and deliveries like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from dispatcher import __version__
from dispatcher.clock import Clock
from dispatcher.core.model import Status
from dispatcher.daemon.supervise import TaskHealth, TaskState
from dispatcher.incidents.mapping import OPEN_KEY
from dispatcher.notices.context import NoticeKind
from dispatcher.signals.heartbeat import MONITOR
from dispatcher.store.db import read_only
from dispatcher.store.tables import (
    LEADER_LEASE,
    DeliveryRow,
    DeliveryStatus,
    IncidentRow,
    LeaderLeaseRow,
    MonitorRow,
    NoticeRow,
    SignalRow,
    TimelineRow,
)

PREFIX = "fmk_dispatcher_"
# What `generate_latest` writes: the classic Prometheus text format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SIGNAL_KINDS = ("outage", "update", "resolved", "heartbeat")
FAILSAFE = "failsafe"

_Family = TypeVar("_Family", GaugeMetricFamily, CounterMetricFamily)


@dataclass(frozen=True)
class Snapshot:
    """What the metrics say, as read from the database in one transaction."""

    open_incidents: int
    incidents: Mapping[str, int]
    deliveries: Mapping[str, int]
    oldest_pending_enqueued_at: datetime | None
    last_signals: Mapping[str, datetime]
    last_heartbeat_at: datetime | None
    heartbeat_lost: bool
    notices: Mapping[str, int]
    failsafe_sends: int
    leader_epoch: int = 0
    leader_lease_expires_at: datetime | None = None


def read_snapshot(engine: Engine) -> Snapshot:
    """A handful of aggregate queries; raises SQLAlchemyError if the database does not answer."""
    with read_only(engine) as session:
        monitor = session.get(MonitorRow, MONITOR)
        lease = session.get(LeaderLeaseRow, LEADER_LEASE)
        return Snapshot(
            open_incidents=session.scalar(
                select(func.count())
                .select_from(IncidentRow)
                .where(col(IncidentRow.open_key) == OPEN_KEY)
            )
            or 0,
            incidents=_count_by(
                session, col(IncidentRow.status), col(IncidentRow.drill).is_(False)
            ),
            deliveries=_count_by(session, col(DeliveryRow.status)),
            oldest_pending_enqueued_at=session.scalar(
                select(func.min(col(DeliveryRow.enqueued_at))).where(
                    col(DeliveryRow.status) == DeliveryStatus.PENDING.value
                )
            ),
            last_signals={
                kind: at
                for kind, at in session.execute(
                    select(col(SignalRow.kind), func.max(col(SignalRow.received_at))).group_by(
                        col(SignalRow.kind)
                    )
                )
                if at is not None
            },
            last_heartbeat_at=monitor.last_seen_at if monitor else None,
            heartbeat_lost=monitor is not None and monitor.lost_since is not None,
            notices=_count_by(session, col(NoticeRow.kind)),
            failsafe_sends=session.scalar(
                select(func.count())
                .select_from(TimelineRow)
                .join(IncidentRow, col(IncidentRow.id) == col(TimelineRow.incident_id))
                .where(col(TimelineRow.kind) == FAILSAFE, col(IncidentRow.drill).is_(False))
            )
            or 0,
            leader_epoch=lease.epoch if lease else 0,
            leader_lease_expires_at=lease.expires_at if lease and lease.holder else None,
        )


def _count_by(session: Session, column: Mapped[str], *where: ColumnElement[bool]) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).where(*where).group_by(column))
    return {str(key): int(count) for key, count in rows}


def families(
    snapshot: Snapshot,
    *,
    now: datetime,
    sender_running: bool,
    leading: bool = False,
    tasks: Mapping[str, TaskHealth] | None = None,
    version: str = __version__,
) -> Iterator[Metric]:
    """The metric families for one scrape. Known label values are always present (0 if none),
    so that a series exists before its first event and `increase()` sees the first one."""
    yield _gauge(
        "open_incidents",
        "Incidents open now (triggered or acknowledged).",
        snapshot.open_incidents,
    )
    yield _labelled(
        GaugeMetricFamily(
            PREFIX + "incidents_total", "Incidents by status, ever.", labels=["status"]
        ),
        _with_known(snapshot.incidents, (s.value for s in Status)),
    )
    yield _labelled(
        GaugeMetricFamily(
            PREFIX + "deliveries",
            "Deliveries (one per envelope recipient) by status.",
            labels=["status"],
        ),
        _with_known(snapshot.deliveries, (s.value for s in DeliveryStatus)),
    )
    oldest = snapshot.oldest_pending_enqueued_at
    yield _gauge(
        "oldest_pending_delivery_age_seconds",
        "Seconds since the oldest pending delivery was queued; 0 when none is pending.",
        max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
    )
    yield _labelled(
        GaugeMetricFamily(
            PREFIX + "last_signal_timestamp_seconds",
            "Unix time of the newest SDS signal of each kind received.",
            labels=["kind"],
        ),
        {
            kind: snapshot.last_signals[kind].timestamp()
            for kind in sorted(snapshot.last_signals, key=_signal_order)
        },
    )
    yield _gauge(
        "last_heartbeat_timestamp_seconds",
        "Unix time the SDS heartbeat was last seen (absent if never).",
        None if snapshot.last_heartbeat_at is None else snapshot.last_heartbeat_at.timestamp(),
    )
    yield _gauge(
        "heartbeat_lost",
        "1 while the SDS heartbeat is reported lost, else 0.",
        int(snapshot.heartbeat_lost),
    )
    yield CounterMetricFamily(
        PREFIX + "escalation_pages",
        "Page notices to the on-call staff, ever.",
        value=snapshot.notices.get(NoticeKind.PAGE.value, 0),
    )
    yield _labelled(
        CounterMetricFamily(PREFIX + "notices", "Notices by kind, ever.", labels=["kind"]),
        _with_known(snapshot.notices, (k.value for k in NoticeKind)),
    )
    yield CounterMetricFamily(
        PREFIX + "failsafe_sends",
        "Times the municipalities were told without waiting for an acknowledgement, ever.",
        value=snapshot.failsafe_sends,
    )
    yield _gauge(
        "leader", "1 if this replica leads (pages, escalates, sends), else 0.", int(leading)
    )
    yield _gauge(
        "leader_epoch",
        "Changes of leader so far (the lease's fencing epoch).",
        snapshot.leader_epoch,
    )
    expires = snapshot.leader_lease_expires_at
    yield _gauge(
        "leader_lease_valid",
        "1 if some replica holds an unexpired leader lease, else 0.",
        int(expires is not None and expires > now),
    )
    yield _gauge(
        "sender_running", "1 if this replica's sender is running, else 0.", int(sender_running)
    )
    if tasks:
        yield _labelled(
            CounterMetricFamily(
                PREFIX + "task_restarts",
                "Restarts of each background task after an error, since this replica started.",
                labels=["task"],
            ),
            {name: health.restarts for name, health in sorted(tasks.items())},
        )
        yield _labelled(
            GaugeMetricFamily(
                PREFIX + "task_running",
                "1 if the background task runs, 0 while it waits to be restarted.",
                labels=["task"],
            ),
            {
                name: int(health.state is TaskState.RUNNING)
                for name, health in sorted(tasks.items())
            },
        )
    yield _labelled(
        GaugeMetricFamily(PREFIX + "build_info", "The running version.", labels=["version"]),
        {version: 1},
    )


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    """An unlabelled gauge; with no sample if `value` is None."""
    return GaugeMetricFamily(PREFIX + name, documentation, value=value)


def _labelled(family: _Family, values: Mapping[str, float]) -> _Family:
    for label, value in values.items():
        family.add_metric([label], value)
    return family


def _with_known(found: Mapping[str, int], known: Iterable[str]) -> dict[str, int]:
    """Every known label value in a fixed order (0 if absent), then any other value found."""
    counts = dict.fromkeys(known, 0)
    for label in sorted(found):
        counts[label] = counts.get(label, 0) + found[label]
    return counts


def _signal_order(kind: str) -> tuple[int, str]:
    return (SIGNAL_KINDS.index(kind) if kind in SIGNAL_KINDS else len(SIGNAL_KINDS), kind)


class DispatcherCollector(Collector):
    """Reads the database on every `collect`; `sender_alive`, `leading`, `tasks` and the clock
    are this replica's."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        sender_alive: Callable[[], bool],
        leading: Callable[[], bool] = lambda: False,
        tasks: Callable[[], Mapping[str, TaskHealth]] = dict,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._sender_alive = sender_alive
        self._leading = leading
        self._tasks = tasks

    def describe(self) -> Iterable[Metric]:
        # Describing would mean a scrape; the registry is private, so no name can clash.
        return []

    def collect(self) -> Iterable[Metric]:
        snapshot = read_snapshot(self._engine)
        return list(
            families(
                snapshot,
                now=self._clock.now(),
                sender_running=self._sender_running(),
                leading=self._leading(),
                tasks=self._tasks(),
            )
        )

    def _sender_running(self) -> bool:
        try:
            return bool(self._sender_alive())
        except Exception:
            return False


def make_registry(
    engine: Engine,
    clock: Clock,
    sender_alive: Callable[[], bool],
    leading: Callable[[], bool] = lambda: False,
    tasks: Callable[[], Mapping[str, TaskHealth]] = dict,
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DispatcherCollector(engine, clock, sender_alive, leading, tasks))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry in the text format (`CONTENT_TYPE`). Raises what the collector raises."""
    return generate_latest(registry)
