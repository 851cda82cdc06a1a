"""A connection sends MAIL and RCPT of its next delivery while the outcome of its last is being
committed, and DATA only once it has: the relay never holds two of one connection's messages
that are not recorded (the duplicate window, docs/delivery-guarantees.md)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import Engine

from dispatcher.config import Settings
from dispatcher.incidents import service
from dispatcher.mailcatcher import CatcherHandler, MailCatcher
from dispatcher.outbox import queue
from dispatcher.outbox.sender import Sender
from tests.support.clock import FakeClock
from tests.support.incidents import fmk_down

RECORD_DELAY = 0.2  # seconds each record takes, so that the order is plain to see


class TimedRelay(CatcherHandler):
    """Notes when each transaction's MAIL and its end of DATA arrive."""

    def __init__(self) -> None:
        super().__init__()
        self.mail: list[float] = []
        self.data: list[float] = []

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.mail.append(time.monotonic())
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.data.append(time.monotonic())
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp_handler() -> CatcherHandler:
    return TimedRelay()


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """When each `sent` record committed; every record takes RECORD_DELAY longer."""
    finish, moments = queue.finish, []

    def slow_finish(engine: Engine, outcomes: list[queue.Outcome]) -> list[bool]:
        time.sleep(RECORD_DELAY)
        done = finish(engine, outcomes)
        moments.extend(time.monotonic() for o in outcomes if o.sent)
        return done

    monkeypatch.setattr(queue, "finish", slow_finish)
    return moments


async def test_data_waits_for_the_last_record_and_mail_does_not(
    dispatch: service.Dispatch,
    engine: Engine,
    settings: Settings,
    clock: FakeClock,
    smtp: MailCatcher,
    smtp_handler: TimedRelay,
    recorded: list[float],
) -> None:
    service.trigger(dispatch, fmk_down(), clock.now())
    sender = Sender(engine, settings.model_copy(update={"send_concurrency": 1}), clock)
    assert await sender.run_once() == 4
    await sender.close()

    relay = smtp_handler
    assert len(relay.data) == len(recorded) == 4
    for last in range(3):
        assert relay.mail[last + 1] < recorded[last], "MAIL waited for the record"
        assert relay.data[last + 1] > recorded[last], "DATA went before the record"
