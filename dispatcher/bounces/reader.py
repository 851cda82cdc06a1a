"""The bounce reader: one pass over the configured mailboxes (`dispatcher bounces check`, and
the daemon's leader every `DISPATCHER_BOUNCE_CHECK_INTERVAL`).

Each message is read (`dsn.read`), recorded if it is a bounce, then moved: a recorded bounce
to the processed folder; mail that is no bounce, is malformed or matches no delivery to the
ignored folder, unchanged, for a person to look at. A mailbox that cannot be reached or
refuses the login is reported and skipped; nothing else is changed. A database error stops
the pass with the message still in the inbox, to be read again next time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field

import structlog
from sqlalchemy.exc import SQLAlchemyError

from dispatcher.bounces import dsn
from dispatcher.bounces.mailbox import Mailbox, MailboxUnavailable, openers
from dispatcher.bounces.record import Verp, record
from dispatcher.clock import Clock
from dispatcher.runtime import Runtime

log = structlog.get_logger(__name__)

PASS_LIMIT = 200  # messages per mailbox and pass; the rest wait for the next


@dataclass(frozen=True)
class Handled:
    mailbox: str
    key: str
    subject: str
    verdict: str  # "bounce", "not a bounce", "malformed", "unmatched", "error"
    folder: str
    lines: tuple[str, ...]


@dataclass
class Pass:
    handled: list[Handled] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def recorded(self) -> int:
        return sum(h.verdict == "bounce" for h in self.handled)


def check_once(runtime: Runtime, clock: Clock) -> Pass:
    """Read every configured mailbox once."""
    done = Pass()
    for opener in openers(runtime.settings):
        try:
            box = opener()
        except MailboxUnavailable as exc:
            done.problems.append(str(exc))
            continue
        try:
            done.handled += _read_box(runtime, clock, box)
        except MailboxUnavailable as exc:
            done.problems.append(str(exc))
        finally:
            box.close()
    return done


def _read_box(runtime: Runtime, clock: Clock, box: Mailbox) -> list[Handled]:
    s = runtime.settings
    paths = Verp(s.bounce_address, s.link_secret.get_secret_value())
    handled = []
    for key, raw in box.messages(PASS_LIMIT):
        report = dsn.read(raw)
        verdict = str(report.verdict)
        lines: tuple[str, ...] = (report.reason,)
        if report.verdict is dsn.Verdict.BOUNCE:
            try:
                outcome = record(runtime.dispatch, report, paths, clock.now())
            except SQLAlchemyError:
                raise
            except Exception as exc:  # a bug must not stop the reader at this one message
                log.exception("bounce.error", mailbox=box.name, key=key)
                verdict, lines = "error", (f"{type(exc).__name__}: {exc}",)
            else:
                verdict = "bounce" if outcome.matched else "unmatched"
                lines = outcome.lines
        folder = s.bounce_processed_folder if verdict == "bounce" else s.bounce_ignored_folder
        box.move(key, folder)
        item = Handled(box.name, key, report.subject, verdict, folder, lines)
        log.info("bounce.read", mailbox=box.name, key=key, verdict=verdict, folder=folder)
        handled.append(item)
    return handled


class BounceReader:
    """The daemon's task: a pass every interval while this replica leads. A mailbox that
    fails is logged when it starts failing and when it is back, not at every pass."""

    def __init__(
        self,
        runtime: Runtime,
        clock: Clock,
        *,
        leading: Callable[[], bool],
        on_recorded: Callable[[], None],
    ) -> None:
        self._runtime = runtime
        self._clock = clock
        self._leading = leading
        self._on_recorded = on_recorded
        self._failing: list[str] = []

    async def run(self, stop: asyncio.Event) -> None:
        interval = self._runtime.settings.bounce_check_interval.total_seconds()
        while not stop.is_set():
            if self._leading():
                try:
                    done = await asyncio.to_thread(check_once, self._runtime, self._clock)
                except SQLAlchemyError as exc:
                    log.error("bounces.database_unavailable", error=str(exc))
                else:
                    self._report(done)
            with suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await stop.wait()

    def _report(self, done: Pass) -> None:
        if done.recorded:
            self._on_recorded()
        if done.problems and done.problems != self._failing:
            log.error("bounces.mailbox_unavailable", problems=done.problems)
        elif self._failing and not done.problems:
            log.warning("bounces.mailbox_back")
        self._failing = done.problems
