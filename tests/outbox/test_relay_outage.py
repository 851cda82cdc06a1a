"""A relay that is down for hours never stops the sender, and every notice arrives once after it
(issue #10, point 2).

The relay is real aiosmtpd on loopback that refuses every login until the test clock reaches the
end of the outage, as the relay in the issue's reproduction did; the sender runs on the injected
clock, which jumps to each due retry, so twelve hours pass in seconds. The incident is scoped to
two Cura municipalities (3 deliveries with Systematic's copy) to keep the number of attempts
small: every delivery is retried on its own schedule, so more recipients would only repeat the
same path.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import Engine, func, select
from sqlmodel import col
from structlog.testing import capture_logs

from dispatcher.config import Settings
from dispatcher.incidents import service
from dispatcher.incidents.queries import incident_detail
from dispatcher.mailcatcher import LOOPBACK, CatcherHandler, free_port
from dispatcher.outbox.sender import Sender
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow
from tests.support.clock import FakeClock
from tests.support.drain import drain
from tests.support.incidents import fmk_down
from tests.support.mail import per_recipient

ISHOEJ_AND_ODSHERRED = (183, 306)
RECIPIENTS = {
    "fmk-beredskab@ishoej.kommune.example",
    "fmk-beredskab@odsherred.kommune.example",
    "fmk-beredskab@systematic.example",
}


class LoginRefusedUntil:
    """aiosmtpd authenticator: refuses every login (535) until `clock` reaches `back_at`."""

    def __init__(self, clock: FakeClock, back_at: datetime) -> None:
        self.clock = clock
        self.back_at = back_at

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if self.clock.now() < self.back_at:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data)


@pytest.fixture
def outage(clock: FakeClock) -> LoginRefusedUntil:
    return LoginRefusedUntil(clock, clock.now() + timedelta(hours=12))


@pytest.fixture
def relay(outage: LoginRefusedUntil) -> Iterator[tuple[int, CatcherHandler]]:
    handler, port = CatcherHandler(), free_port()
    controller = Controller(
        handler,
        hostname=LOOPBACK,
        port=port,
        server_hostname="relay.test",
        authenticator=outage,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


def relay_settings(settings: Settings, port: int, **overrides: Any) -> Settings:
    update = {"smtp_port": port, "smtp_username": "fmk-dispatcher", "smtp_password": "pw"}
    return Settings.model_validate({**settings.model_dump(), **update, **overrides})


def deliveries(engine: Engine) -> int:
    with transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(DeliveryRow)) or 0


def most_attempts(engine: Engine) -> int:
    with transaction(engine) as session:
        return session.scalar(select(func.max(col(DeliveryRow.attempts)))) or 0


async def test_a_twelve_hour_relay_outage_ends_with_every_delivery_sent_once(
    dispatch: service.Dispatch,
    engine: Engine,
    settings: Settings,
    clock: FakeClock,
    relay: tuple[int, CatcherHandler],
) -> None:
    """On the default retry settings: waits of 10 s doubling to 10 min, the default deadline."""
    port, handler = relay
    sender = Sender(engine, relay_settings(settings, port), clock, rng=random.Random(12))
    start = clock.now()
    number, _ = service.trigger(
        dispatch, fmk_down(scope=ISHOEJ_AND_ODSHERRED, scope_label="to Cura-kommuner"), start
    )
    try:
        await drain(sender, engine, clock, max_rounds=5000)
    finally:
        await sender.close()

    detail = incident_detail(engine, number)
    assert detail is not None
    assert detail.failures == []
    assert per_recipient(handler.received) == {(r, "initial"): 1 for r in RECIPIENTS}
    assert deliveries(engine) == len(RECIPIENTS)
    assert most_attempts(engine) > 44  # past the attempt whose wait once overflowed
    finished = clock.now() - start
    assert timedelta(hours=12) < finished <= timedelta(hours=12, minutes=11)


async def test_a_short_backoff_survives_hundreds_of_refusals(
    dispatch: service.Dispatch,
    engine: Engine,
    settings: Settings,
    clock: FakeClock,
    relay: tuple[int, CatcherHandler],
) -> None:
    """The issue's reproduction: DISPATCHER_RETRY_INITIAL=1s, DISPATCHER_RETRY_MAX=2s and a relay
    that refuses login. The 48th attempt used to raise OverflowError and stop the sender."""
    port, handler = relay
    short = relay_settings(settings, port, retry_initial="1s", retry_max="2s")
    sender = Sender(engine, short, clock, rng=random.Random(48))
    start = clock.now()
    service.trigger(
        dispatch, fmk_down(scope=ISHOEJ_AND_ODSHERRED, scope_label="to Cura-kommuner"), start
    )
    try:
        while clock.now() - start < timedelta(minutes=2):
            await sender.run_once()
            with transaction(engine) as session:
                first, last = session.execute(
                    select(
                        func.min(col(DeliveryRow.next_attempt_at)),
                        func.max(col(DeliveryRow.next_attempt_at)),
                    )
                ).one()
            assert last <= clock.now() + timedelta(seconds=2)
            clock.set(max(clock.now(), first))
    finally:
        await sender.close()

    assert most_attempts(engine) > 60
    assert handler.received == []


class JitterFailingOnce(random.Random):
    """A jitter source that fails once, as a bug in computing one delivery's retry would."""

    def __init__(self) -> None:
        super().__init__(7)
        self.failed = False

    def uniform(self, a: float, b: float) -> float:
        if not self.failed:
            self.failed = True
            raise ArithmeticError("jitter out of order")
        return super().uniform(a, b)


async def test_an_unexpected_error_with_one_delivery_stops_neither_the_sender_nor_the_others(
    dispatch: service.Dispatch,
    engine: Engine,
    settings: Settings,
    clock: FakeClock,
    outage: LoginRefusedUntil,
    relay: tuple[int, CatcherHandler],
) -> None:
    """The delivery whose retry could not be computed stays claimed and is sent when its claim
    expires (DISPATCHER_CLAIM_TIMEOUT); the error is logged; the others go out as usual."""
    port, handler = relay
    start = clock.now()
    outage.back_at = start + timedelta(minutes=1)
    sender = Sender(engine, relay_settings(settings, port), clock, rng=JitterFailingOnce())
    service.trigger(dispatch, fmk_down(scope=ISHOEJ_AND_ODSHERRED, scope_label="to Cura"), start)
    try:
        with capture_logs() as logged:
            assert await sender.run_once() == len(RECIPIENTS)
            await drain(sender, engine, clock)
    finally:
        await sender.close()

    assert per_recipient(handler.received) == {(r, "initial"): 1 for r in RECIPIENTS}
    [error] = [entry for entry in logged if entry["event"] == "delivery.error"]
    assert error["log_level"] == "error"
    assert error["retry_after"] == settings.claim_timeout.total_seconds()
    assert clock.now() - start > settings.claim_timeout
