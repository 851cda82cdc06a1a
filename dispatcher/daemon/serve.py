"""`dispatcher serve`: the sender, the scheduler and the HTTP server in one event loop.

Every background task is named and watched. SIGTERM or SIGINT stops intake and gives in-flight
sends `SHUTDOWN_GRACE` to finish; if any task dies, the daemon stops and exits non-zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import structlog
import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from dispatcher.clock import Clock
from dispatcher.daemon import heartbeat
from dispatcher.http.app import create_app
from dispatcher.incidents import service
from dispatcher.outbox.sender import Sender
from dispatcher.runtime import Runtime
from dispatcher.store import migrate

log = structlog.get_logger(__name__)

SHUTDOWN_GRACE = timedelta(seconds=20)


class DaemonFailed(Exception):
    """A background task died; the daemon stopped."""


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Daemon:
    def __init__(self, runtime: Runtime, clock: Clock) -> None:
        self.runtime = runtime
        self.clock = clock
        self.stop = asyncio.Event()
        self.sender = Sender(runtime.engine, runtime.settings, clock)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        settings = runtime.settings
        self.http = _Server(
            uvicorn.Config(
                create_app(),
                host=settings.http_host,
                port=settings.http_port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )

    async def tick(self) -> None:
        """Send due updates, then wake the scheduler again when the next one falls due."""
        sent = await asyncio.to_thread(service.tick_due, self.runtime.dispatch, self.clock.now())
        if sent:
            log.info("cadence.updates_enqueued", incidents=sent)
            self.sender.wake.set()
        due = await asyncio.to_thread(service.next_update_due, self.runtime.engine)
        if due is not None:
            self.scheduler.add_job(
                self.tick, "date", run_date=due, id="cadence", replace_existing=True
            )

    async def run(self) -> None:
        engine = self.runtime.engine
        await asyncio.to_thread(migrate.upgrade, engine)
        replica = await asyncio.to_thread(heartbeat.register, engine, self.clock.now())
        log.info("daemon.started", replica=replica, http_port=self.runtime.settings.http_port)
        self._install_signal_handlers()
        self.scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.runtime.settings.tick_seconds,
            id="tick",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self._beat,
            "interval",
            seconds=heartbeat.INTERVAL.total_seconds(),
            id="heartbeat",
            args=[replica],
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.start()
        tasks: set[asyncio.Task[object]] = {
            asyncio.create_task(self.sender.run(self.stop), name="sender"),
            asyncio.create_task(self.http.serve(), name="http"),
            asyncio.create_task(self.stop.wait(), name="stop"),
        }
        try:
            await self._watch(tasks)
        finally:
            self.scheduler.shutdown(wait=False)
            await asyncio.to_thread(heartbeat.unregister, engine, replica)
            log.info("daemon.stopped", replica=replica)

    async def _watch(self, tasks: set[asyncio.Task[object]]) -> None:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        failed = [t for t in done if t.get_name() != "stop"]
        self.stop.set()
        self.http.should_exit = True
        _, late = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE.total_seconds())
        for task in late:
            log.warning("daemon.task_cancelled", task=task.get_name())
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        if failed:
            task = failed[0]
            error = task.exception() if not task.cancelled() else None
            log.error("daemon.task_died", task=task.get_name(), error=repr(error))
            raise DaemonFailed(f"background task {task.get_name()!r} stopped: {error!r}")

    async def _beat(self, replica: str) -> None:
        await asyncio.to_thread(heartbeat.beat, self.runtime.engine, replica, self.clock.now())

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("daemon.signal", signal=sig.name)
        self.stop.set()
