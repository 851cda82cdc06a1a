"""The supervisor: a transient error restarts a task after a capped, jittered backoff, logged
once per burst; a fatal one ends it."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.clock import SystemClock
from dispatcher.daemon.supervise import (
    Backoff,
    Fatal,
    Supervisor,
    TaskHealth,
    TaskState,
    describe,
    dumps,
    is_fatal,
    loads,
)

MS = timedelta(milliseconds=1)
SEC = timedelta(seconds=1)
FAST = Backoff(initial=MS, maximum=5 * MS, settle=100 * MS)
EMFILE = OSError(errno.EMFILE, "Too many open files")


class TestBackoff:
    @pytest.mark.parametrize(
        ("failures", "jitter", "seconds"),
        [(1, 1.0, 1), (1, 0.0, 0.5), (2, 1.0, 2), (3, 1.0, 4), (5, 1.0, 16), (6, 1.0, 30)],
    )
    def test_doubles_from_initial_up_to_the_cap(
        self, failures: int, jitter: float, seconds: float
    ) -> None:
        assert Backoff().delay(failures, jitter) == timedelta(seconds=seconds)

    @given(st.integers(min_value=1, max_value=200), st.floats(min_value=0, max_value=1))
    def test_stays_in_the_upper_half_of_a_capped_ceiling(
        self, failures: int, jitter: float
    ) -> None:
        policy = Backoff()
        ceiling = min(policy.maximum, 2 ** min(failures - 1, 10) * SEC)
        assert ceiling / 2 <= policy.delay(failures, jitter) <= ceiling <= policy.maximum


def test_only_the_fatal_set_is_fatal() -> None:
    assert is_fatal(Fatal("schema"))
    assert is_fatal(ExceptionGroup("lanes", [EMFILE, ExceptionGroup("inner", [Fatal("x")])]))
    assert not is_fatal(EMFILE)
    assert not is_fatal(TypeError("a bug"))
    assert not is_fatal(ExceptionGroup("lanes", [EMFILE]))


def test_an_error_is_described_in_one_line_a_group_by_its_first() -> None:
    lanes = ExceptionGroup("unhandled errors in a TaskGroup", [EMFILE, TypeError("x")])
    assert describe(lanes) == "OSError: [Errno 24] Too many open files"
    assert describe(RuntimeError("two\nlines")) == "RuntimeError: two lines"
    assert describe(TimeoutError()) == "TimeoutError"


def test_health_survives_the_replica_row() -> None:
    now = SystemClock().now()
    tasks = {
        "cadence": TaskHealth(TaskState.RESTARTING, now, 3, "OSError: [Errno 24] æøå", now),
        "sender": TaskHealth(TaskState.RUNNING, now),
    }
    assert loads(dumps(tasks)) == tasks
    assert loads(None) == {}


def failing(
    times: int, error: Exception, then: Callable[[], Awaitable[None]]
) -> Callable[[], Awaitable[None]]:
    calls = 0

    async def work() -> None:
        nonlocal calls
        calls += 1
        if calls <= times:
            raise error
        await then()

    return work


async def run_until(supervisor: Supervisor, stop: asyncio.Event, done: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not done():
            await asyncio.sleep(0.01)
    stop.set()


class TestSupervisor:
    async def test_restarts_after_transient_errors_and_logs_each_burst_once(self) -> None:
        stop = asyncio.Event()
        supervisor = Supervisor(SystemClock(), stop, FAST)
        bursts = 0

        async def steady_then_failing_again() -> None:
            nonlocal bursts
            await asyncio.sleep(0.2)  # longer than `settle`: the first burst is over
            bursts += 1
            if bursts == 1:
                raise EMFILE
            await stop.wait()

        work = failing(3, EMFILE, steady_then_failing_again)
        with structlog.testing.capture_logs() as logs:
            task = asyncio.create_task(supervisor.run("cadence", work))
            await run_until(supervisor, stop, lambda: bursts == 2)
            await task
        events = [(e["event"], e.get("failures")) for e in logs]
        assert events == [
            ("task.failed", None),
            ("task.recovered", 3),
            ("task.failed", None),
            ("task.recovered", 1),
        ]
        assert logs[0]["error"] == "OSError: [Errno 24] Too many open files"
        assert logs[0]["log_level"] == "error"
        health = supervisor.health()["cadence"]
        assert (health.state, health.restarts) == (TaskState.RUNNING, 4)
        assert health.last_error == "OSError: [Errno 24] Too many open files"

    async def test_a_bug_and_an_unasked_return_are_restarted_too(self) -> None:
        stop = asyncio.Event()
        supervisor = Supervisor(SystemClock(), stop, FAST)
        returns = failing(1, TypeError("'NoneType' object is not iterable"), stop.wait)
        calls = 0

        async def returns_once() -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                return
            await returns()

        task = asyncio.create_task(supervisor.run("sender", returns_once))
        await run_until(supervisor, stop, lambda: calls >= 3 and supervisor.running("sender"))
        await task
        assert supervisor.health()["sender"].restarts == 2
        assert supervisor.health()["sender"].last_error == (
            "TypeError: 'NoneType' object is not iterable"
        )

    async def test_a_fatal_error_ends_the_task(self) -> None:
        stop = asyncio.Event()
        supervisor = Supervisor(SystemClock(), stop, FAST)
        with pytest.raises(Fatal, match="cannot go on"):
            await supervisor.run("sender", failing(1, Fatal("cannot go on"), stop.wait))

    async def test_the_stop_cuts_a_backoff_short(self) -> None:
        stop = asyncio.Event()
        hour = timedelta(hours=1)
        supervisor = Supervisor(SystemClock(), stop, Backoff(initial=hour, maximum=hour))
        task = asyncio.create_task(supervisor.run("cadence", failing(1, EMFILE, stop.wait)))

        def restarting() -> bool:
            health = supervisor.health().get("cadence")
            return health is not None and health.state is TaskState.RESTARTING

        await run_until(supervisor, stop, restarting)
        async with asyncio.timeout(1):
            await task
        assert supervisor.health()["cadence"].state is TaskState.RESTARTING
