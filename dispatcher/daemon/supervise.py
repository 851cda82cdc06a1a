"""Keep the daemon's background tasks running: restart one after a transient error, with a
capped exponential backoff, instead of stopping the whole process.

A paging tool that exits on the first unexpected error is the failure of 31 December 2021
again, so every exception is taken as transient — an `OSError` such as EMFILE, a database or
SMTP error, even a bug that may only bite one input — except the known-fatal set: `Fatal`
(and its subclasses), raised where restarting cannot mend anything. A fatal error, or an
exception group holding one, ends the task, and the daemon stops and exits non-zero.

A burst of failures is logged once: the first failure at error level with its traceback, the
rest only counted, and one `task.recovered` line once the task has run for `Backoff.settle`
without failing. `Backoff` is pure; `Supervisor` keeps each task's `TaskHealth` for `/readyz`,
`/metrics` and the replica row that `dispatcher status` reads.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

import structlog

from dispatcher.clock import Clock

log = structlog.get_logger(__name__)

MAX_ERROR = 300


class Fatal(Exception):
    """An error that restarting cannot mend: the task ends and the daemon stops, non-zero."""


class TaskEnded(RuntimeError):
    """A background task returned although nobody asked it to stop."""


def is_fatal(error: BaseException) -> bool:
    if isinstance(error, BaseExceptionGroup):
        return any(is_fatal(inner) for inner in error.exceptions)
    return isinstance(error, Fatal)


@dataclass(frozen=True)
class Backoff:
    """How long to wait before restarting a task after its `failures`-th failure in a row."""

    initial: timedelta = timedelta(seconds=1)
    maximum: timedelta = timedelta(seconds=30)
    settle: timedelta = timedelta(seconds=60)

    def delay(self, failures: int, jitter: float) -> timedelta:
        """Doubling from `initial`, capped at `maximum`; `jitter` in [0, 1] picks a point in
        the upper half, so replicas that failed together do not restart together."""
        doublings = min(max(failures - 1, 0), 64)  # past the cap long before; no overflow
        ceiling = min(self.maximum.total_seconds(), self.initial.total_seconds() * 2.0**doublings)
        return timedelta(seconds=ceiling * (0.5 + min(max(jitter, 0.0), 1.0) / 2))


class TaskState(StrEnum):
    RUNNING = "running"
    RESTARTING = "restarting"


@dataclass(frozen=True)
class TaskHealth:
    """One task as `/readyz` and `dispatcher status` show it. `since` is when it entered its
    state; `restarts` counts every restart since the daemon started."""

    state: TaskState
    since: datetime
    restarts: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "since": self.since.isoformat(),
            "restarts": self.restarts,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> TaskHealth:
        error_at = data.get("last_error_at")
        error = data.get("last_error")
        return cls(
            state=TaskState(str(data["state"])),
            since=datetime.fromisoformat(str(data["since"])),
            restarts=int(str(data.get("restarts", 0))),
            last_error=str(error) if error is not None else None,
            last_error_at=datetime.fromisoformat(str(error_at)) if error_at else None,
        )


def dumps(tasks: Mapping[str, TaskHealth]) -> str:
    return json.dumps({name: health.as_json() for name, health in tasks.items()})


def loads(text: str | None) -> dict[str, TaskHealth]:
    """The tasks a replica published; empty for a row written before there were any."""
    if not text:
        return {}
    return {name: TaskHealth.from_json(data) for name, data in json.loads(text).items()}


def describe(error: BaseException) -> str:
    """One line naming the error; for a group (the sender's lanes), its first error."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


class Supervisor:
    def __init__(
        self,
        clock: Clock,
        stop: asyncio.Event,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._clock = clock
        self._stop = stop
        self.backoff = backoff or Backoff()
        self._rng = rng or random.Random()
        self._health: dict[str, TaskHealth] = {}

    def health(self) -> dict[str, TaskHealth]:
        return dict(self._health)

    def running(self, name: str) -> bool:
        health = self._health.get(name)
        return health is not None and health.state is TaskState.RUNNING

    async def run(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work()` until the stop is asked, starting it again after each transient error.

        Returns when the stop is asked; raises a fatal error."""
        failures = 0
        burst_began = self._clock.now()
        while not self._stop.is_set():
            self._running(name)
            attempt = asyncio.ensure_future(work())
            try:
                if failures and await self._settles(attempt):
                    log.warning(
                        "task.recovered",
                        task=name,
                        failures=failures,
                        seconds=round((self._clock.now() - burst_began).total_seconds(), 3),
                    )
                    failures = 0
                await attempt
                if self._stop.is_set():
                    return
                raise TaskEnded(f"the {name} task returned without being asked to stop")
            except Exception as error:
                if is_fatal(error):
                    raise
                now = self._clock.now()
                if failures == 0:
                    burst_began = now
                failures += 1
                delay = self.backoff.delay(failures, self._rng.random())
                self._failed(name, error, now)
                if failures == 1:
                    log.error(
                        "task.failed",
                        task=name,
                        error=describe(error),
                        restart_in=round(delay.total_seconds(), 3),
                        exc_info=error,
                    )
            finally:
                if not attempt.done():
                    attempt.cancel()
                    with suppress(asyncio.CancelledError):
                        await attempt
            with suppress(TimeoutError):
                async with asyncio.timeout(delay.total_seconds()):
                    await self._stop.wait()

    async def _settles(self, attempt: asyncio.Future[None]) -> bool:
        """Whether `attempt` is still running after `Backoff.settle`: the burst is over."""
        done, _ = await asyncio.wait({attempt}, timeout=self.backoff.settle.total_seconds())
        return not done

    def _running(self, name: str) -> None:
        now = self._clock.now()
        current = self._health.get(name)
        if current is None:
            self._health[name] = TaskHealth(TaskState.RUNNING, now)
        elif current.state is not TaskState.RUNNING:
            self._health[name] = replace(current, state=TaskState.RUNNING, since=now)

    def _failed(self, name: str, error: BaseException, now: datetime) -> None:
        current = self._health.get(name) or TaskHealth(TaskState.RUNNING, now)
        self._health[name] = replace(
            current,
            state=TaskState.RESTARTING,
            since=now,
            restarts=current.restarts + 1,
            last_error=describe(error),
            last_error_at=now,
        )
