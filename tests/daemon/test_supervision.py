"""A real daemon whose cadence fails with `[Errno 24] Too many open files` keeps running: the
task is restarted, the restart is counted in `/metrics`, and `/readyz` and `dispatcher status`
show it (issue #10, point 3)."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import structlog
from sqlalchemy import Engine, select
from sqlmodel import col
from typer.testing import CliRunner

from dispatcher.cli.app import app
from dispatcher.clock import SystemClock
from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.daemon import replicas
from dispatcher.daemon.serve import Daemon
from dispatcher.daemon.supervise import Backoff, TaskHealth, TaskState, dumps
from dispatcher.incidents import service
from dispatcher.mailcatcher import free_port
from dispatcher.notices.render import NoticeRenderer
from dispatcher.runtime import Runtime
from dispatcher.store.db import transaction
from dispatcher.store.tables import ReplicaRow
from tests.conftest import CONTACTS, TEMPLATES
from tests.daemon.test_daemon import FMK_DOWN, wait_until

EMFILE = "OSError: [Errno 24] Too many open files"
HOUR = timedelta(hours=1)
MS = timedelta(milliseconds=1)


class FaultyTick:
    """The daemon's `tick`, raising EMFILE for its first `faults` calls (all, if None)."""

    def __init__(self, tick: Callable[[], Awaitable[None]], faults: int | None) -> None:
        self._tick = tick
        self._faults = faults
        self.calls = 0
        self.ticked = 0

    async def __call__(self) -> None:
        self.calls += 1
        if self._faults is None or self.calls <= self._faults:
            raise OSError(errno.EMFILE, "Too many open files")
        await self._tick()
        self.ticked += 1


def make_daemon(
    engine: Engine,
    settings: Settings,
    registry: Registry,
    renderer: NoticeRenderer,
    backoff: Backoff,
    faults: int | None,
) -> tuple[Daemon, FaultyTick]:
    fast = settings.model_copy(update={"http_port": free_port(), "tick_seconds": 0.05})
    daemon = Daemon(Runtime(fast, engine, registry, renderer), SystemClock(), backoff=backoff)
    faulty = FaultyTick(daemon.tick, faults)
    daemon.tick = faulty  # type: ignore[method-assign]
    return daemon, faulty


@asynccontextmanager
async def running(daemon: Daemon) -> AsyncIterator[httpx.AsyncClient]:
    """The daemon, running until the block ends; then it must stop cleanly (no DaemonFailed)."""
    task = asyncio.create_task(daemon.run())
    base = f"http://127.0.0.1:{daemon.runtime.settings.http_port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            await wait_until(lambda: daemon.http.started or task.done())
            yield client
            assert not task.done(), "the daemon stopped by itself"
    finally:
        daemon.stop.set()
        await task


def published_tasks(engine: Engine) -> str:
    with transaction(engine) as session:
        return session.scalar(select(col(ReplicaRow.tasks))) or ""


def status_output(database_url: str) -> str:
    env = {
        "DISPATCHER_DATABASE_URL": database_url,
        "DISPATCHER_CONTACTS_DIR": str(CONTACTS),
        "DISPATCHER_TEMPLATES_DIR": str(TEMPLATES),
    }
    return " ".join(CliRunner().invoke(app, ["status"], env=env).output.split())


async def test_a_cadence_failing_with_emfile_waits_to_restart_and_says_so(
    engine: Engine,
    database_url: str,
    settings: Settings,
    registry: Registry,
    renderer: NoticeRenderer,
) -> None:
    backoff = Backoff(initial=HOUR, maximum=HOUR)
    daemon, _ = make_daemon(engine, settings, registry, renderer, backoff, faults=None)
    async with running(daemon) as client:
        await wait_until(lambda: not daemon.supervisor.running("cadence"))
        ready = await client.get("/readyz")
        metrics = (await client.get("/metrics")).text
        await wait_until(lambda: "restarting" in published_tasks(engine), timeout=15)
        status = status_output(database_url)
    assert ready.status_code == 503
    body = ready.json()
    assert body["checks"]["sender"] == {"ok": True}
    assert body["checks"]["tasks"]["ok"] is False
    assert "cadence restarting since 20" in body["checks"]["tasks"]["reason"]
    cadence = body["tasks"]["cadence"]
    assert (cadence["state"], cadence["restarts"], cadence["last_error"]) == (
        "restarting",
        1,
        EMFILE,
    )
    assert {name: task["state"] for name, task in body["tasks"].items()} == {
        "sender": "running",
        "cadence": "restarting",
        "leadership": "running",
    }
    assert 'fmk_dispatcher_task_restarts_total{task="cadence"} 1.0' in metrics
    assert 'fmk_dispatcher_task_restarts_total{task="sender"} 0.0' in metrics
    assert 'fmk_dispatcher_task_running{task="cadence"} 0.0' in metrics
    assert "cadence restarting" in status
    assert "task cadence restarting since" in status
    assert "1 restart(s); last error at" in status
    assert EMFILE in status


async def test_a_cadence_that_recovers_keeps_the_cadence_going(
    engine: Engine,
    settings: Settings,
    registry: Registry,
    renderer: NoticeRenderer,
) -> None:
    # The three faults come within a few ticks (50 ms apart); a settle of 300 ms let a loaded
    # machine's late tick end the burst early and start a second one (issue #16).
    backoff = Backoff(initial=MS, maximum=10 * MS, settle=2000 * MS)
    daemon, faulty = make_daemon(engine, settings, registry, renderer, backoff, faults=3)
    service.trigger(daemon.runtime.dispatch, FMK_DOWN, SystemClock().now())
    with structlog.testing.capture_logs() as logs:
        async with running(daemon) as client:
            await wait_until(lambda: any(e["event"] == "task.recovered" for e in logs))
            ready = await client.get("/readyz")
            metrics = (await client.get("/metrics")).text
            scheduled = daemon.scheduler.get_job("cadence") is not None
    assert faulty.ticked >= 1
    assert scheduled, "the recovered cadence scheduled the incident's next update"
    assert ready.status_code == 200
    cadence = ready.json()["tasks"]["cadence"]
    assert (cadence["state"], cadence["restarts"], cadence["last_error"]) == ("running", 3, EMFILE)
    assert 'fmk_dispatcher_task_restarts_total{task="cadence"} 3.0' in metrics
    assert 'fmk_dispatcher_task_running{task="cadence"} 1.0' in metrics
    supervision = [(e["event"], e["task"]) for e in logs if e["event"].startswith("task.")]
    assert supervision == [("task.failed", "cadence"), ("task.recovered", "cadence")]
    assert daemon.supervisor.health()["cadence"].state is TaskState.RUNNING


def test_status_shows_a_recovered_task_with_its_last_error(
    engine: Engine, database_url: str
) -> None:
    now = SystemClock().now()
    replica = replicas.register(engine, now)
    recovered = TaskHealth(
        TaskState.RUNNING, now, 2, "OSError: [Errno 24] Too many open files", now
    )
    tasks = {"sender": TaskHealth(TaskState.RUNNING, now), "cadence": recovered}
    replicas.beat(engine, replica, now, dumps(tasks))
    status = status_output(database_url)
    assert "all running" in status
    assert f"Replica {replica[:8]}: task cadence running again since" in status
    assert "2 restart(s); last error at" in status
    assert EMFILE in status
    assert "task sender" not in status
