"""03:00 on New Year's Eve, end to end: SDS's signal arrives at the real HTTP server of a running
daemon, mail goes over real SMTP, and the clock is moved by hand between the daemon's ticks."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime

from sqlalchemy import Engine
from typer.testing import CliRunner

from dispatcher.cli.app import app
from dispatcher.contacts.model import Registry
from dispatcher.daemon.leadership import RENEW
from dispatcher.incidents.queries import incident_detail
from dispatcher.mailcatcher import Received
from tests.conftest import CONTACTS, TEMPLATES
from tests.e2e.conftest import Running
from tests.support.http import client
from tests.support.mail import parse, text_body

KHS, IBS, PRK = "khs@medcom.dk", "ibs@medcom.dk", "prk@kl.dk"


def kinds_to(received: list[Received], address: str) -> list[str]:
    return [str(parse(r)["X-FMK-Notice"]) for r in received if address in r.recipients]


OUTAGE = {"severity": "down", "summary": "FMK svarer ikke", "details": "Alle opslag fejler."}


def ack_link(received: list[Received], address: str) -> str:
    page = [
        parse(r) for r in received if address in r.recipients and parse(r)["X-FMK-Notice"] == "page"
    ][-1]
    match = re.search(r"http://127\.0\.0\.1:\d+/ack/\S+", text_body(page))
    assert match is not None
    return match.group(0)


class TestNobodyAtADesk:
    """Signal → pages and vendors; KL at 15 min; municipalities at 30; an ack by link ends it."""

    async def test_the_chain(self, running: Running, engine: Engine, registry: Registry) -> None:
        response = await running.signal("outage", "sds-1", **OUTAGE)
        assert (response.status_code, response.json()) == (201, {"action": "opened", "incident": 1})
        mail = await running.mail(2 + 3)
        assert kinds_to(mail, KHS) == kinds_to(mail, IBS) == ["page"]
        assert kinds_to(mail, "fmk-beredskab@kmd.example") == ["vendor_alert"]
        assert kinds_to(mail, PRK) == []

        await running.at(14)
        await running.at(15)
        mail = await running.mail(5 + 3)
        assert kinds_to(mail, PRK) == ["page"]
        assert kinds_to(mail, KHS) == ["page", "page"]

        await running.at(30)
        mail = await running.mail(8 + 3 + 98 + 3)
        odense = "fmk-beredskab@odense.kommune.example"
        assert kinds_to(mail, odense) == ["initial"]
        assert kinds_to(mail, "fmk-beredskab@kmd.example") == ["vendor_alert", "initial"]
        detail = incident_detail(engine, 1)
        assert detail is not None
        assert detail.incident.sent_without_ack
        assert "failsafe" in [t.kind for t in detail.timeline]

        link = ack_link(mail, IBS)
        async with client() as browser:
            shown = await browser.get(link)
            assert shown.status_code == 200
            assert "<form" in shown.text
            assert incident_detail(engine, 1).incident.owner is None  # type: ignore[union-attr]
            done = await browser.post(link)
            assert done.status_code == 200
        assert incident_detail(engine, 1).incident.owner == IBS  # type: ignore[union-attr]
        mail = await running.mail(112 + 2)
        assert kinds_to(mail, KHS)[-1] == kinds_to(mail, PRK)[-1] == "owner"
        assert kinds_to(mail, IBS)[-1] == "page"

        await running.at(45)
        await running.at(60)  # 30 min after the notice: a reminder to each silent municipality
        reminded = (await running.mail(114 + 98))[114:]
        assert [str(parse(r)["X-FMK-Notice"]) for r in reminded] == ["reminder"] * 98, (
            "paged after the acknowledgement"
        )
        assert kinds_to(reminded, odense) == ["reminder"]

        response = await running.signal("resolved", "sds-2")
        assert response.json() == {"action": "recovering", "incident": 1}
        await running.at(74)
        await running.at(75)
        mail = await running.mail(114 + 98 + 98 + 3)
        assert kinds_to(mail, odense) == ["initial", "reminder", "all_clear"]

        again = await running.signal("outage", "sds-1", **OUTAGE)
        assert again.status_code == 201
        assert again.json()["duplicate"] is True
        await asyncio.sleep(0.3)
        assert len(running.smtp.received) == 114 + 98 + 98 + 3
        assert len(registry.municipalities) == 98


class TestAcknowledgedFromTheCli:
    async def test_cli_ack_stops_paging_and_municipalities_wait_for_confirmation(
        self, running: Running, engine: Engine, database_url: str
    ) -> None:
        # The CLI reads the real clock: start the daemon's clock there too.
        running.clock.set(datetime.now(UTC))
        running.start = running.clock.now()
        await running.signal("outage", "sds-1", **OUTAGE)
        await running.mail(5)
        result = CliRunner().invoke(
            app,
            ["incident", "ack", "1", "--as", KHS],
            env={
                "DISPATCHER_DATABASE_URL": database_url,
                "DISPATCHER_CONTACTS_DIR": str(CONTACTS),
                "DISPATCHER_TEMPLATES_DIR": str(TEMPLATES),
            },
        )
        assert result.exit_code == 0, result.output
        running.clock.set(datetime.now(UTC))
        mail = await running.mail(6)
        assert kinds_to(mail, IBS) == ["page", "owner"]
        await running.at(15)
        await asyncio.sleep(0.3)
        assert len(running.smtp.received) == 6
        await running.at(30)
        mail = await running.mail(6 + 98 + 3)
        detail = incident_detail(engine, 1)
        assert detail is not None
        assert not detail.incident.sent_without_ack


class TestHeartbeat:
    """Heartbeats stop: one page. They return: one more. Nothing in between."""

    async def test_loss_and_return(self, running: Running) -> None:
        assert (await running.signal("heartbeat", "hb-1")).status_code == 200
        await running.at(10)
        await asyncio.sleep(0.3)
        assert running.smtp.received == []
        await running.at(10.5)
        mail = await running.mail(2)
        assert {r.recipients[0] for r in mail} == {KHS, IBS}
        assert "Intet signal fra SDS" in str(parse(mail[0])["Subject"])
        await running.at(30)
        await asyncio.sleep(0.3)
        assert len(running.smtp.received) == 2
        assert (await running.signal("heartbeat", "hb-2")).json()["resumed"] is True
        mail = await running.mail(4)
        assert "Signal fra SDS igen" in str(parse(mail[-1])["Subject"])
        assert (await running.signal("heartbeat", "hb-3")).json()["resumed"] is False
        await asyncio.sleep(0.3)
        assert len(running.smtp.received) == 4


class TestClockSteps:
    """Moving the clock by minutes, as these tests do and as NTP or a resumed VM may do to a
    real server, does not depose the daemon: it is the only replica, nobody could replace it."""

    async def test_the_daemon_keeps_leading(self, running: Running) -> None:
        leader = running.daemon.leader
        assert leader is not None
        deadline = time.monotonic() + 10
        while not leader.leading:
            assert time.monotonic() < deadline, "the daemon did not lead"
            await asyncio.sleep(0.05)
        assert leader.lease is not None
        epoch = leader.lease.epoch
        await running.at(30)
        assert leader.leading
        await asyncio.sleep(RENEW.total_seconds() + 0.5)  # the lease is renewed on real time
        assert leader.leading
        assert leader.lease.epoch == epoch
