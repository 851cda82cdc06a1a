"""`dispatcher serve`: the sender, the scheduler and the HTTP server in one event loop.

Every background task is named and watched. The sender, the cadence and the leadership loop run
under a `Supervisor`, which restarts one after a transient error with a backoff; the HTTP server
is not restarted. SIGTERM or SIGINT stops intake and gives in-flight sends `SHUTDOWN_GRACE` to
finish; if a task ends all the same (a `Fatal` error, or the HTTP server stopped), the daemon
stops and exits non-zero.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog
import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import SQLAlchemyError

from dispatcher.clock import Clock
from dispatcher.daemon import replicas
from dispatcher.daemon.http_server import HttpLimits, HttpServer
from dispatcher.daemon.leader import Leader
from dispatcher.daemon.leadership import SecondDaemon, SqliteLock
from dispatcher.daemon.supervise import Backoff, Fatal, Supervisor, dumps
from dispatcher.http.app import create_app
from dispatcher.incidents import service
from dispatcher.maintenance import service as maintenance
from dispatcher.outbox.queue import Fence
from dispatcher.outbox.sender import Sender
from dispatcher.paging import failures, provider
from dispatcher.paging.sender import SmsSender
from dispatcher.runtime import Runtime
from dispatcher.signals import heartbeat
from dispatcher.store import schema
from dispatcher.waiting import first_of

log = structlog.get_logger(__name__)

SHUTDOWN_GRACE = timedelta(seconds=20)


class DaemonFailed(Fatal):
    """A background task died, or the daemon could not start; the daemon stopped."""


class Daemon:
    def __init__(self, runtime: Runtime, clock: Clock, *, backoff: Backoff | None = None) -> None:
        self.runtime = runtime
        self.clock = clock
        self.stop = asyncio.Event()
        self.supervisor = Supervisor(clock, self.stop, backoff)
        self.leader: Leader | None = None
        self.sender = Sender(runtime.engine, runtime.settings, clock, leader=self._fence)
        gateway = provider.gateway(runtime.settings)
        self.sms_sender = (
            SmsSender(runtime.dispatch, runtime.settings, clock, gateway, leader=self._fence)
            if gateway is not None
            else None
        )
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._tick_wanted = asyncio.Event()
        settings = runtime.settings
        self.http = HttpServer(
            uvicorn.Config(
                create_app(
                    runtime,
                    clock,
                    sender_alive=self._sender_alive,
                    leading=self._leading,
                    tasks=self.supervisor.health,
                    wake_senders=self._wake_senders,
                ),
                host=settings.http_host,
                port=settings.http_port,
                timeout_keep_alive=int(settings.http_keepalive.total_seconds()),
                log_config=None,
                access_log=False,
                lifespan="off",
            ),
            HttpLimits.from_settings(settings),
            settings.send_concurrency,
        )

    def _fence(self) -> Fence | None:
        return self.leader.fence() if self.leader is not None else None

    def _leading(self) -> bool:
        return self.leader is not None and self.leader.leading

    def _promoted(self) -> None:
        self._tick_wanted.set()
        self._wake_senders()

    def _wake_senders(self) -> None:
        self.sender.wake.set()
        if self.sms_sender is not None:
            self.sms_sender.wake.set()

    def _sender_alive(self) -> bool:
        return self.supervisor.running("sender")

    async def tick(self) -> None:
        """Carry out what has fallen due (pages, fail-safe, all-clear, updates, the heartbeat
        watch), then have the scheduler wake us when the next step falls due. Leader only."""
        if self.leader is None or not self.leader.leading:
            return
        now = self.clock.now()
        dispatch = self.runtime.dispatch
        # A maintenance window that is over first: FMK still down at its end pages now.
        sent = await asyncio.to_thread(maintenance.release_due, dispatch, now)
        sent += await asyncio.to_thread(service.tick_due, dispatch, now)
        window = self.runtime.settings.heartbeat_window
        if await asyncio.to_thread(heartbeat.check, dispatch, now, window):
            sent.append(0)
        if await asyncio.to_thread(failures.exhausted, dispatch, now):
            sent.append(0)
        if sent:
            log.info("tick.notices_enqueued", incidents=[i for i in sent if i])
            self._wake_senders()
        due = await asyncio.to_thread(service.next_due, self.runtime.engine, dispatch.policy, now)
        over = await asyncio.to_thread(maintenance.next_release, dispatch)
        due = min((t for t in (due, over) if t is not None), default=None)
        if due is not None:
            # However late the loop gets to it (a loaded machine): APScheduler's default
            # grace of 1 s would drop it, and the step would wait for the next slow tick.
            self.scheduler.add_job(
                self._tick_wanted.set,
                "date",
                run_date=due,
                id="cadence",
                replace_existing=True,
                misfire_grace_time=None,
            )

    async def _cadence(self) -> None:
        """Run `tick` whenever the scheduler asks; a database hiccup is logged and retried."""
        while not self.stop.is_set():
            await first_of(self.stop, self._tick_wanted)
            self._tick_wanted.clear()
            if self.stop.is_set():
                return
            try:
                await self.tick()
            except SQLAlchemyError as exc:
                log.error("cadence.tick_failed", error=str(exc))

    async def run(self) -> None:
        self._install_signal_handlers()
        lock = SqliteLock(self.runtime.engine)
        try:
            lock.take()
        except SecondDaemon as exc:
            self._remove_signal_handlers()
            raise DaemonFailed(str(exc)) from exc
        try:
            await self._run()
        finally:
            lock.release()
            self._remove_signal_handlers()

    async def _run(self) -> None:
        engine = self.runtime.engine
        listener = self._listen()
        try:
            await asyncio.to_thread(schema.upgrade_if_behind, engine)
            replica = await asyncio.to_thread(replicas.register, engine, self.clock.now())
        except BaseException:
            listener.close()  # the HTTP server never took it over
            raise
        log.info("daemon.started", replica=replica, http_port=self.runtime.settings.http_port)
        self.leader = Leader(
            engine,
            self.clock,
            replica,
            claim_grace=2 * timedelta(seconds=self.runtime.settings.smtp_timeout),
            on_promotion=self._promoted,
        )
        self.scheduler.add_job(
            self._tick_wanted.set,
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
            seconds=replicas.INTERVAL.total_seconds(),
            id="replica",
            args=[replica],
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.start()
        leader = self.leader
        supervised: dict[str, Callable[[], Awaitable[None]]] = {
            "sender": lambda: self.sender.run(self.stop),
            "cadence": self._cadence,
            "leadership": lambda: leader.run(self.stop),
        }
        if self.sms_sender is not None:
            sms_sender = self.sms_sender
            supervised["sms"] = lambda: sms_sender.run(self.stop)
        if self.runtime.settings.bounces_configured:
            from dispatcher.bounces.reader import BounceReader  # IMAP, DSNs: only if configured

            bounces = BounceReader(
                self.runtime, self.clock, leading=self._leading, on_recorded=self.sender.wake.set
            )
            supervised["bounces"] = lambda: bounces.run(self.stop)
        tasks: set[asyncio.Task[object]] = {
            *(
                asyncio.create_task(self.supervisor.run(name, work), name=name)
                for name, work in supervised.items()
            ),
            asyncio.create_task(self._serve_http(listener), name="http"),
            asyncio.create_task(self.stop.wait(), name="stop"),
        }
        try:
            await self._watch(tasks)
        finally:
            self.scheduler.shutdown(wait=False)
            try:
                await asyncio.to_thread(replicas.unregister, engine, replica)
            except SQLAlchemyError as exc:  # the row ages out; its staleness shows we are gone
                log.warning("replica.unregister_failed", error=str(exc))
            log.info("daemon.stopped", replica=replica)

    async def _watch(self, tasks: set[asyncio.Task[object]]) -> None:
        """Wait until asked to stop or until a task ends; then stop the rest within the grace.

        A task that ends on its own before the stop was asked for has died, whatever its
        result; one that ends with an exception has died even while stopping.
        """
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        asked = self.stop.is_set()
        self.stop.set()
        self.http.should_exit = True
        finished, late = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE.total_seconds())
        for task in late:
            log.warning("daemon.task_cancelled", task=task.get_name())
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        died = [
            t
            for t in (*done, *finished)
            if t.get_name() != "stop" and (t.exception() is not None or (t in done and not asked))
        ]
        if died:
            task = died[0]
            error = task.exception()
            log.error("daemon.task_died", task=task.get_name(), error=repr(error))
            raise DaemonFailed(f"background task {task.get_name()!r} stopped: {error!r}")

    async def _beat(self, replica: str) -> None:
        tasks = dumps(self.supervisor.health())
        try:
            await asyncio.to_thread(
                replicas.beat, self.runtime.engine, replica, self.clock.now(), tasks
            )
        except SQLAlchemyError as exc:
            log.error("replica.beat_failed", error=str(exc))

    def _listen(self) -> socket.socket:
        """Bind the HTTP port before anything starts, so a taken port fails at once and plainly."""
        settings = self.runtime.settings
        address = (settings.http_host, settings.http_port)
        try:
            listener = socket.create_server(address, reuse_port=False)
        except OSError as exc:
            raise DaemonFailed(
                f"cannot listen on {address[0]}:{address[1]}: {exc.strerror}"
            ) from exc
        return listener

    async def _serve_http(self, listener: socket.socket) -> None:
        try:
            await self.http.serve(sockets=[listener])
        except SystemExit as exc:
            raise DaemonFailed(f"the HTTP server stopped (uvicorn exit {exc.code})") from exc

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _remove_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("daemon.signal", signal=sig.name)
        self.stop.set()
