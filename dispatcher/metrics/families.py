"""The metric families, built from a `Snapshot` and this replica's own state; no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from dispatcher import __version__
from dispatcher.core.enums import Status
from dispatcher.core.kinds import NoticeKind
from dispatcher.daemon.supervise import TaskHealth, TaskState
from dispatcher.metrics.receipts import receipt_families
from dispatcher.metrics.snapshot import Snapshot
from dispatcher.store.backlog import SCHEDULED
from dispatcher.store.tables import DeliveryStatus

PREFIX = "fmk_dispatcher_"
SIGNAL_KINDS = ("outage", "update", "resolved", "heartbeat")

_Family = TypeVar("_Family", GaugeMetricFamily, CounterMetricFamily)


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
            "Deliveries (one per envelope recipient) by status; `scheduled`: pending, due later.",
            labels=["status"],
        ),
        _with_known(snapshot.deliveries, (*(s.value for s in DeliveryStatus), SCHEDULED)),
    )
    oldest = snapshot.oldest_pending_due_at
    yield _gauge(
        "oldest_pending_delivery_age_seconds",
        "Seconds the longest-waiting pending delivery has been due (queued, or its notice's due "
        "time); 0 when none is pending.",
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
    yield from receipt_families(snapshot.relay_failing_since, snapshot.receipts)
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
