"""VERP: each delivery goes out with its own signed return path, which names it again."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlmodel import col

from dispatcher.bounces.verp import delivery_of, return_path
from dispatcher.config import Settings
from dispatcher.incidents import service
from dispatcher.mailcatcher import MailCatcher
from dispatcher.outbox.sender import Sender
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow
from tests.bounces.conftest import BOUNCE_ADDRESS
from tests.support.clock import FakeClock
from tests.support.drain import drain
from tests.support.incidents import fmk_down

SECRET = "a-test-secret-that-is-long-enough-for-hmac"


class TestReturnPath:
    """A return path names its delivery, and only a genuine one does."""

    def test_it_names_the_delivery(self) -> None:
        address = return_path(BOUNCE_ADDRESS, SECRET, 4711)
        assert address.startswith("bounces+4711-")
        assert address.endswith("@medcom.example")
        assert delivery_of(address, BOUNCE_ADDRESS, SECRET) == 4711
        assert delivery_of(address.upper(), BOUNCE_ADDRESS, SECRET) == 4711

    @pytest.mark.parametrize(
        "forged",
        [
            "bounces+4712-{mac}@medcom.example",  # another delivery, the same MAC
            "bounces+4711-000000000000@medcom.example",
            "bounces+4711-{mac}@other.example",
            "other+4711-{mac}@medcom.example",
            "bounces@medcom.example",
            "",
        ],
    )
    def test_a_forged_or_foreign_one_names_none(self, forged: str) -> None:
        mac = return_path(BOUNCE_ADDRESS, SECRET, 4711).split("-")[1].split("@")[0]
        assert delivery_of(forged.format(mac=mac), BOUNCE_ADDRESS, SECRET) is None

    def test_another_secret_names_none(self) -> None:
        address = return_path(BOUNCE_ADDRESS, SECRET, 4711)
        assert delivery_of(address, BOUNCE_ADDRESS, SECRET + "x") is None


class TestTheSender:
    """Over real SMTP, MAIL FROM is each delivery's return path when a bounce address is set,
    and the sender's address when not."""

    async def test_mail_from_is_the_delivery_return_path(
        self,
        settings: Settings,
        engine: Engine,
        dispatch: service.Dispatch,
        smtp: MailCatcher,
        clock: FakeClock,
    ) -> None:
        verp = settings.model_copy(update={"bounce_address": BOUNCE_ADDRESS})
        sender = Sender(engine, verp, clock)
        service.trigger(dispatch, fmk_down(), clock.now())
        await drain(sender, engine, clock)
        await sender.close()
        with transaction(engine) as session:
            rows = session.execute(select(col(DeliveryRow.recipient), col(DeliveryRow.id)))
            ids = {recipient: delivery_id for recipient, delivery_id in rows}
        secret = verp.link_secret.get_secret_value()
        assert len(smtp.received) == len(ids) > 98
        for item in smtp.received:
            [recipient] = item.recipients
            assert item.envelope_from == return_path(BOUNCE_ADDRESS, secret, ids[recipient])

    async def test_without_a_bounce_address_mail_from_is_the_sender(
        self,
        sender: Sender,
        engine: Engine,
        dispatch: service.Dispatch,
        smtp: MailCatcher,
        clock: FakeClock,
    ) -> None:
        service.trigger(dispatch, fmk_down(), clock.now())
        await drain(sender, engine, clock)
        assert {item.envelope_from for item in smtp.received} == {"fmk-beredskab@medcom.example"}
