"""The SMS sender against the fake gateway on loopback, on a frozen clock: a 5xx or a timeout
is tried again on the stored schedule, a 429 waits as long as the gateway says, another 4xx is
final and goes on the incident's timeline with the other on-call person told."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlmodel import col

from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.core.enums import Release, Source
from dispatcher.core.model import Policy
from dispatcher.incidents import service
from dispatcher.incidents.queries import incident_detail
from dispatcher.incidents.service import Dispatch
from dispatcher.notices.render import NoticeRenderer
from dispatcher.paging import provider
from dispatcher.paging.fake_gateway import FakeGateway
from dispatcher.paging.sender import SmsSender
from dispatcher.runtime import refusals
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, MessageRow, NoticeRow
from tests.support.clock import FakeClock
from tests.support.incidents import fmk_down
from tests.support.sms import PHONES, SMS_SECRET, SMS_TOKEN, with_phones

KHS, IBS = "khs@medcom.dk", "ibs@medcom.dk"


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with FakeGateway(token=SMS_TOKEN, webhook_secret=SMS_SECRET) as fake:
        yield fake


@pytest.fixture
def paging_dispatch(engine: Engine, registry: Registry, renderer: NoticeRenderer) -> Dispatch:
    return Dispatch(
        engine=engine, registry=with_phones(registry), renderer=renderer, policy=Policy()
    )


@pytest.fixture
async def sms_sender(
    paging_dispatch: Dispatch, settings: Settings, clock: FakeClock, gateway: FakeGateway
) -> AsyncIterator[SmsSender]:
    configured = settings.model_copy(
        update={
            "sms_gateway_url": gateway.url,
            "sms_token": SecretStr(SMS_TOKEN),
            "sms_timeout": 0.5,
        }
    )
    fake = provider.gateway(configured)
    assert fake is not None
    sender = SmsSender(paging_dispatch, configured, clock, fake)
    yield sender
    await fake.close()


@dataclass(frozen=True)
class Paged:
    """An SDS-style incident has paged the on-call pair (SMS and mail); the parts at hand."""

    sender: SmsSender
    gateway: FakeGateway
    clock: FakeClock
    engine: Engine


@pytest.fixture
def paged(
    sms_sender: SmsSender, gateway: FakeGateway, paging_dispatch: Dispatch, clock: FakeClock
) -> Paged:
    trigger = fmk_down(source=Source.SDS, release=Release.AFTER_CONFIRM)
    service.trigger(paging_dispatch, trigger, clock.now())
    return Paged(sms_sender, gateway, clock, paging_dispatch.engine)


def sms_status(engine: Engine) -> dict[str, str]:
    with transaction(engine) as session:
        rows = session.scalars(select(DeliveryRow).where(col(DeliveryRow.channel) == "sms"))
        return {d.recipient: d.status for d in rows}


class TestRetries:
    async def test_5xx_then_sent_on_the_stored_schedule(self, paged: Paged) -> None:
        sms_sender, gateway, clock, engine = paged.sender, paged.gateway, paged.clock, paged.engine
        gateway.fail_next(503, times=2)
        assert await sms_sender.run_once() == 2
        assert set(sms_status(engine).values()) == {"pending"}
        assert await sms_sender.run_once() == 0  # not due yet
        clock.advance(timedelta(minutes=1))
        assert await sms_sender.run_once() == 2
        assert set(sms_status(engine).values()) == {"sent"}
        assert sorted(s.msisdn for s in gateway.sent) == sorted([PHONES[KHS], PHONES[IBS]])

    async def test_timeout_is_tried_again(self, paged: Paged) -> None:
        sms_sender, gateway, clock, engine = paged.sender, paged.gateway, paged.clock, paged.engine
        gateway.delay = 1.0
        await sms_sender.run_once()
        assert set(sms_status(engine).values()) == {"pending"}
        gateway.delay = 0
        clock.advance(timedelta(minutes=1))
        await sms_sender.run_once()
        assert set(sms_status(engine).values()) == {"sent"}

    async def test_429_waits_for_retry_after(self, paged: Paged) -> None:
        sms_sender, gateway, clock, engine = paged.sender, paged.gateway, paged.clock, paged.engine
        gateway.fail_next(429, retry_after=120)
        await sms_sender.run_once()
        assert "pending" in sms_status(engine).values()  # the other was in flight already
        requests = gateway.requests
        clock.advance(timedelta(seconds=119))
        assert await sms_sender.run_once() == 0
        assert gateway.requests == requests
        clock.advance(timedelta(seconds=1))
        assert await sms_sender.run_once() >= 1
        assert set(sms_status(engine).values()) == {"sent"}


class TestFinal:
    async def test_4xx_is_final_on_the_timeline_and_the_other_is_told(self, paged: Paged) -> None:
        sms_sender, gateway, engine = paged.sender, paged.gateway, paged.engine
        gateway.fail_next(400)
        await sms_sender.run_once()
        statuses = sms_status(engine)
        assert sorted(statuses.values()) == ["failed", "sent"]
        failed = next(r for r, s in statuses.items() if s == "failed")
        person = KHS if failed == PHONES[KHS] else IBS
        other = IBS if person == KHS else KHS
        detail = incident_detail(engine, 1)
        assert detail is not None
        entry = next(t for t in detail.timeline if t.kind == "page_failed")
        assert entry.text.startswith(f"SMS to {person} failed: 400")
        with transaction(engine) as session:
            told = session.scalars(
                select(col(DeliveryRow.recipient))
                .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
                .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
                .where(col(NoticeRow.kind) == "oncall_info")
            ).all()
        assert told == [other]


class TestWireFormat:
    """What GatewayAPI gets: the documented fields, UCS-2 when a character needs it."""

    async def test_fields_and_ucs2(
        self,
        sms_sender: SmsSender,
        gateway: FakeGateway,
        paging_dispatch: Dispatch,
        clock: FakeClock,
    ) -> None:
        trigger = fmk_down(
            source=Source.SDS, release=Release.AFTER_CONFIRM, summary="Łódź-klyngen er nede"
        )
        service.trigger(paging_dispatch, trigger, clock.now())
        await sms_sender.run_once()
        sms = gateway.to(PHONES[KHS])[0]
        assert "Łódź-klyngen er nede" in sms.message
        body = sms.body
        assert (body["encoding"], body["class"], body["priority"], body["max_parts"]) == (
            "UCS2",
            "standard",
            "NORMAL",
            3,
        )
        assert body["sender"] == "MedCom"
        assert body["recipients"] == [{"msisdn": int(PHONES[KHS].lstrip("+"))}]
        assert body["userref"].isdigit()
        assert body["callback_url"].endswith("/api/sms/reports")


class TestRefusals:
    """`serve` refuses a registry that pages by SMS without a complete gateway set-up."""

    def test_sms_people_need_a_gateway(self, settings: Settings, registry: Registry) -> None:
        assert refusals(settings, registry) == []
        found = refusals(settings, with_phones(registry))
        assert [line.split(" ")[0] for line in found] == [
            "Karina",
            "DISPATCHER_SMS_WEBHOOK_SECRET",
        ]
        ready = settings.model_copy(
            update={
                "sms_gateway_url": "http://127.0.0.1:9",
                "sms_token": SecretStr(SMS_TOKEN),
                "sms_webhook_secret": SecretStr(SMS_SECRET),
            }
        )
        assert refusals(ready, with_phones(registry)) == []
