"""Temporary SMTP failures are retried until they succeed; permanent ones are recorded with the
relay's reply and shown, without holding up anyone else."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.incidents import service
from dispatcher.incidents.queries import incident_detail
from dispatcher.mailcatcher import MailCatcher, free_port
from dispatcher.outbox.sender import Sender
from tests.support.clock import FakeClock
from tests.support.drain import drain
from tests.support.incidents import fmk_down, notice_addresses
from tests.support.mail import ScriptedHandler, per_recipient

ODENSE_REFUSAL = "550 5.1.1 <fmk-beredskab@odense.kommune.example>: Recipient address rejected"


class TestTemporaryFailures:
    """A relay answering 451 for a while loses nothing once it recovers."""

    @pytest.fixture
    def smtp_handler(self) -> ScriptedHandler:
        return ScriptedHandler(temporary=150)

    async def test_everything_arrives_after_451s(
        self,
        dispatch: service.Dispatch,
        sender: Sender,
        smtp: MailCatcher,
        smtp_handler: ScriptedHandler,
        clock: FakeClock,
        engine: Engine,
        registry: Registry,
    ) -> None:
        start = clock.now()
        number, _ = service.trigger(dispatch, fmk_down(), start)
        await drain(sender, engine, clock)

        assert smtp_handler.refused_data == 150
        counts = per_recipient(smtp.received)
        assert all(counts[(a, "initial")] == 1 for a in notice_addresses(registry))
        detail = incident_detail(engine, number)
        assert detail is not None
        assert detail.failures == []
        assert clock.now() - start < timedelta(hours=1)


class TestPermanentFailures:
    """A 5xx for one municipality is reported with the relay's words; the other 97 get theirs."""

    @pytest.fixture
    def smtp_handler(self) -> ScriptedHandler:
        return ScriptedHandler(refuse={"fmk-beredskab@odense.kommune.example": ODENSE_REFUSAL})

    async def test_one_refused_recipient(
        self,
        dispatch: service.Dispatch,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        engine: Engine,
        registry: Registry,
    ) -> None:
        number, _ = service.trigger(dispatch, fmk_down(), clock.now())
        await drain(sender, engine, clock)

        counts = per_recipient(smtp.received)
        delivered = [a for a in notice_addresses(registry) if counts[(a, "initial")] == 1]
        assert len(delivered) == len(notice_addresses(registry)) - 1
        detail = incident_detail(engine, number)
        assert detail is not None
        [failure] = detail.failures
        assert failure.recipient == "fmk-beredskab@odense.kommune.example"
        assert failure.audience == "kommune-461"
        assert failure.reply == ODENSE_REFUSAL
        assert detail.grid["kommune-461"][1] == "failed"


class RejectAtEndOfData(ScriptedHandler):
    def verdict(self, envelope_from: str, recipients: tuple[str, ...], data: bytes) -> str | None:
        if "fmk-beredskab@aeroe.kommune.example" in recipients:
            return "554 5.7.1 Message rejected as spam"
        return None


class TestRejectionAfterData:
    """A rejection at the end of DATA is permanent too."""

    @pytest.fixture
    def smtp_handler(self) -> ScriptedHandler:
        return RejectAtEndOfData()

    async def test_554_after_data(
        self, dispatch: service.Dispatch, sender: Sender, clock: FakeClock, engine: Engine
    ) -> None:
        number, _ = service.trigger(dispatch, fmk_down(), clock.now())
        await drain(sender, engine, clock)
        detail = incident_detail(engine, number)
        assert detail is not None
        assert [(f.recipient, f.reply) for f in detail.failures] == [
            ("fmk-beredskab@aeroe.kommune.example", "554 5.7.1 Message rejected as spam")
        ]


class RefuseSenderAtFirst(ScriptedHandler):
    """Answers MAIL FROM with 530 (a relay or configuration problem) 60 times, then accepts."""

    def __init__(self) -> None:
        super().__init__()
        self.refused_mail = 0

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if self.refused_mail < 60:
            self.refused_mail += 1
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        return "250 OK"


class TestSessionRefusals:
    """A 5xx about the session (MAIL FROM) is not about a recipient: it is retried, not final."""

    @pytest.fixture
    def smtp_handler(self) -> ScriptedHandler:
        return RefuseSenderAtFirst()

    async def test_530_at_mail_from_is_retried(
        self,
        dispatch: service.Dispatch,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        engine: Engine,
        registry: Registry,
    ) -> None:
        number, _ = service.trigger(dispatch, fmk_down(), clock.now())
        await drain(sender, engine, clock)
        detail = incident_detail(engine, number)
        assert detail is not None
        assert detail.failures == []
        counts = per_recipient(smtp.received)
        assert all(counts[(a, "initial")] == 1 for a in notice_addresses(registry))


class TestRelayDown:
    """With no relay at all, deliveries wait and retry until the deadline, then fail visibly."""

    async def test_gives_up_at_the_deadline(
        self, dispatch: service.Dispatch, engine: Engine, settings: Settings, clock: FakeClock
    ) -> None:
        dead = settings.model_copy(
            update={"smtp_port": free_port(), "retry_deadline": timedelta(minutes=30)}
        )
        sender = Sender(engine, dead, clock)
        start = clock.now()
        number, _ = service.trigger(dispatch, fmk_down(), start)
        try:
            await drain(sender, engine, clock, max_rounds=2000)
        finally:
            await sender.close()
        detail = incident_detail(engine, number)
        assert detail is not None
        assert len(detail.failures) == 101
        assert all(f.reply.startswith("gave up: connection") for f in detail.failures)
        assert timedelta(minutes=20) < clock.now() - start <= timedelta(minutes=31)
