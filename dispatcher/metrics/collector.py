"""The collector `/metrics` scrapes: it reads the database on every scrape."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client.core import Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import Engine

from dispatcher.clock import Clock
from dispatcher.daemon.supervise import TaskHealth
from dispatcher.metrics.families import families
from dispatcher.metrics.snapshot import read_snapshot

# What `generate_latest` writes: the classic Prometheus text format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


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
        now = self._clock.now()
        snapshot = read_snapshot(self._engine, now)
        return list(
            families(
                snapshot,
                now=now,
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
