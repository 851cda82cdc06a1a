"""Paging by SMS end to end: SDS's signal at the real HTTP server, the SMS at the fake gateway on
loopback, mail over real SMTP, delivery reports and replies posted back signed, and a clock the
test moves by hand."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from dispatcher.incidents.queries import incident_detail
from dispatcher.mailcatcher import CatcherHandler
from dispatcher.paging.fake_gateway import FakeGateway, SentSms
from dispatcher.paging.provider import INBOUND_PATH
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, DeliveryStatus
from tests.e2e.conftest import Running
from tests.e2e.test_escalation_chain import kinds_to
from tests.support.mail import ScriptedHandler
from tests.support.sms import PHONES, UNKNOWN_PHONE

KHS, IBS, PRK = "khs@medcom.dk", "ibs@medcom.dk", "prk@kl.dk"
OUTAGE = {
    "severity": "down",
    "summary": "FMK svarer ikke – opslag fejler på Sjælland og Fyn",
    "details": "Alle opslag fejler.",
}


def code_of(sms: SentSms) -> str:
    match = re.search(r"svar OK (\d{6})", sms.message)
    assert match is not None, sms.message
    return match.group(1)


def status(engine: Engine, number: int = 1) -> tuple[str, str | None]:
    detail = incident_detail(engine, number)
    assert detail is not None
    return detail.incident.status, detail.incident.owner


def timeline(engine: Engine, number: int = 1) -> list[str]:
    detail = incident_detail(engine, number)
    assert detail is not None
    return [t.kind for t in detail.timeline]


async def reply(running: Running, gateway: FakeGateway, phone: str, text: str, **kw: Any) -> Any:
    response = await gateway.reply(running.base + INBOUND_PATH, phone, text, **kw)
    return response.status_code, response.json()


class TestAcknowledgeByReply:
    """Signal → SMS and mail to the on-call pair; the right code from the paged number takes
    it; wrong, used and unknown change nothing; KL is not paged; the other hears who took it."""

    async def test_the_reply(self, running: Running, gateway: FakeGateway, engine: Engine) -> None:
        response = await running.signal("outage", "sds-1", **OUTAGE)
        assert response.status_code == 201
        pages = await gateway.wait_sent(2)
        assert sorted(s.msisdn for s in pages) == sorted([PHONES[KHS], PHONES[IBS]])
        mail = await running.mail(2 + 3)
        assert kinds_to(mail, KHS) == kinds_to(mail, IBS) == ["page"]
        karina = next(s for s in pages if s.msisdn == PHONES[KHS])
        iben = next(s for s in pages if s.msisdn == PHONES[IBS])
        assert "FMK-nedbrud #1 siden 03:00: FMK svarer ikke - opslag fejler på Sjælland" in (
            karina.message
        )
        assert re.search(r"åbn http://127\.0\.0\.1:\d+/p/\S{11}$", karina.message)
        assert len(karina.message) <= 160
        assert karina.body["encoding"] == "UTF8"
        assert code_of(karina) != code_of(iben)

        wrong = f"{(int(code_of(karina)) + 1) % 10**6:06d}"
        assert await reply(running, gateway, PHONES[KHS], f"OK {wrong}") == (
            200,
            {"action": "ignored"},
        )
        assert await reply(running, gateway, UNKNOWN_PHONE, f"OK {code_of(karina)}") == (
            200,
            {"action": "ignored"},
        )
        assert await reply(running, gateway, PHONES[IBS], f"OK {code_of(karina)}") == (
            200,
            {"action": "ignored"},
        )
        assert status(engine) == ("triggered", None)

        spaced = " ok  " + " ".join(code_of(iben)[:3]) + code_of(iben)[3:] + " "
        first = await reply(running, gateway, PHONES[IBS], spaced, mo_id=7001)
        assert first == (200, {"action": "acknowledged"})
        assert status(engine) == ("acknowledged", IBS)

        sent = await gateway.wait_sent(4)
        taken = [s for s in sent[2:] if s.msisdn == PHONES[KHS]]
        receipt = [s for s in sent[2:] if s.msisdn == PHONES[IBS]]
        assert "Iben Søgaard har taget ansvaret kl. 03:00" in taken[0].message
        assert "Kvitteret. Du har ansvaret" in receipt[0].message
        mail = await running.mail(5 + 1)
        assert kinds_to(mail, KHS) == ["page", "owner"]

        assert await reply(running, gateway, PHONES[IBS], f"OK {code_of(iben)}") == (
            200,
            {"action": "ignored"},
        )
        repeated = await reply(running, gateway, PHONES[IBS], spaced, mo_id=7001)
        assert repeated[0] == 409
        assert repeated[1]["error"] == "repeated"

        await running.at(15)
        await running.at(30)
        await asyncio.sleep(0.5)
        assert gateway.to(PHONES[PRK]) == []
        assert PRK not in {r for m in running.smtp.received for r in m.recipients}
        assert status(engine) == ("acknowledged", IBS)


def failed_mail(engine: Engine) -> int:
    with transaction(engine) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(DeliveryRow)
                .where(
                    col(DeliveryRow.channel) == "email",
                    col(DeliveryRow.status) == DeliveryStatus.FAILED,
                )
            )
            or 0
        )


async def wait_until(condition: Any, what: str) -> None:
    for _ in range(600):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class TestEveryChannelFailed:
    """Karina's SMS undeliverable and her mail refused → KL (and the pair again) paged at once,
    not at 15 minutes; Iben's channels failing as well records it and pages no third time."""

    @pytest.fixture
    def smtp_handler(self) -> CatcherHandler:
        refused = "550 5.1.1 mailbox unavailable"
        return ScriptedHandler(refuse={KHS: refused, IBS: refused})

    async def test_kl_paged_on_the_last_failure(
        self, running: Running, gateway: FakeGateway, engine: Engine
    ) -> None:
        await running.signal("outage", "sds-1", **OUTAGE)
        pages = await gateway.wait_sent(2)
        await wait_until(lambda: failed_mail(engine) == 2, "both page mails to fail")
        assert (await gateway.report(pages[0], "UNDELIVERABLE", error="unknown")).status_code == 200
        sent = await gateway.wait_sent(5)
        assert sorted(s.msisdn for s in sent[2:]) == sorted(PHONES.values())
        assert "(kald 2)" in gateway.to(PHONES[PRK])[0].message
        assert (await gateway.report(pages[1], "REJECTED", error="barred")).status_code == 200
        await asyncio.sleep(0.5)
        assert len(gateway.sent) == 5
        assert timeline(engine).count("channels_exhausted") == 2
        assert timeline(engine).count("page_failed") == 2
        assert timeline(engine).count("paged") == 1
        assert status(engine) == ("triggered", None)

        late = await gateway.report(pages[0], "DELIVERED")
        assert late.json() == {"action": "kept"}


class FlakyThenRefusing(CatcherHandler):
    """Holds off Karina's mail with 451 until `refuse` is set, then refuses it for good."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse = False

    def verdict(self, envelope_from: str, recipients: tuple[str, ...], data: bytes) -> str | None:
        if KHS in recipients:
            return "550 5.1.1 mailbox unavailable" if self.refuse else "451 4.3.0 try later"
        return None


class TestMailFailsLast:
    """The SMS is reported undeliverable first; when the mail then fails for good, the daemon's
    next tick pages the next level (within seconds, not at 15 minutes)."""

    @pytest.fixture
    def smtp_handler(self) -> CatcherHandler:
        return FlakyThenRefusing()

    async def test_tick_escalates(
        self, running: Running, gateway: FakeGateway, engine: Engine, smtp_handler: Any
    ) -> None:
        await running.signal("outage", "sds-1", **OUTAGE)
        pages = await gateway.wait_sent(2)
        karina = next(s for s in pages if s.msisdn == PHONES[KHS])
        assert (await gateway.report(karina, "EXPIRED")).json() == {"action": "recorded"}
        await running.at(0.5)
        await asyncio.sleep(0.5)
        assert gateway.to(PHONES[PRK]) == []
        smtp_handler.refuse = True
        await running.at(1)
        await wait_until(lambda: failed_mail(engine) == 1, "Karina's mail to fail for good")
        assert gateway.to(PHONES[PRK]) == []
        await running.at(1.1)
        await gateway.wait_sent(5)
        assert len(gateway.to(PHONES[PRK])) == 1
        assert timeline(engine).count("channels_exhausted") == 1
