"""03:00 on New Year's Eve, end to end: SDS's signal arrives at the real HTTP server of a running
daemon, mail goes over real SMTP, and the clock is moved by hand between the daemon's ticks."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from typer.testing import CliRunner

from dispatcher.cli.app import app
from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.daemon.serve import Daemon
from dispatcher.incidents.queries import incident_detail
from dispatcher.mailcatcher import MailCatcher, Received, free_port
from dispatcher.notices.render import NoticeRenderer
from dispatcher.runtime import Runtime
from dispatcher.signals.auth import sign
from tests.conftest import CONTACTS, TEMPLATES
from tests.support.clock import FakeClock
from tests.support.mail import parse, text_body

SECRET = "e2e-webhook-secret"
MIN = timedelta(minutes=1)
KHS, IBS, PRK = "khs@medcom.dk", "ibs@medcom.dk", "prk@kl.dk"


class Running:
    def __init__(self, daemon: Daemon, smtp: MailCatcher, clock: FakeClock, base: str) -> None:
        self.daemon, self.smtp, self.clock, self.base = daemon, smtp, clock, base
        self.start = clock.now()
        self.http = httpx.AsyncClient(base_url=base, timeout=10)

    async def signal(self, kind: str, event_id: str, **fields: object) -> httpx.Response:
        body = json.dumps({"event_id": event_id, "service": "FMK", "kind": kind, **fields}).encode()
        stamp = int(self.clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "X-SDS-Timestamp": str(stamp),
            "X-SDS-Signature": sign(SECRET.encode(), stamp, body),
        }
        return await self.http.post("/api/sds/signals", content=body, headers=headers)

    async def at(self, minutes: float) -> None:
        """Move the clock to `minutes` after the start and let the daemon do what is due."""
        self.clock.set(self.start + minutes * MIN)
        await self.daemon.tick()

    async def mail(self, count: int) -> list[Received]:
        """Wait until `count` messages in all have arrived; return them."""
        deadline = time.monotonic() + 30
        while len(self.smtp.received) < count:
            assert time.monotonic() < deadline, f"{len(self.smtp.received)} of {count} arrived"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        assert len(self.smtp.received) == count, "more mail than expected"
        return list(self.smtp.received)


def kinds_to(received: list[Received], address: str) -> list[str]:
    return [str(parse(r)["X-FMK-Notice"]) for r in received if address in r.recipients]


@pytest.fixture
async def running(
    engine: Engine,
    settings: Settings,
    registry: Registry,
    renderer: NoticeRenderer,
    smtp: MailCatcher,
    clock: FakeClock,
) -> AsyncIterator[Running]:
    port = free_port()
    configured = settings.model_copy(
        update={
            "http_port": port,
            "public_url": f"http://127.0.0.1:{port}",
            "webhook_secret": SecretStr(SECRET),
            "tick_seconds": 3600,
        }
    )
    daemon = Daemon(Runtime(configured, engine, registry, renderer), clock)
    task = asyncio.create_task(daemon.run())
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base) as probe:
        for _ in range(200):
            try:
                if (await probe.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    world = Running(daemon, smtp, clock, base)
    yield world
    await world.http.aclose()
    daemon.stop.set()
    await task


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
        async with httpx.AsyncClient() as browser:
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
        await running.at(60)
        await asyncio.sleep(0.3)
        assert len(running.smtp.received) == 114, "paged after the acknowledgement"

        response = await running.signal("resolved", "sds-2")
        assert response.json() == {"action": "recovering", "incident": 1}
        await running.at(74)
        await running.at(75)
        mail = await running.mail(114 + 98 + 3)
        assert kinds_to(mail, odense) == ["initial", "all_clear"]

        again = await running.signal("outage", "sds-1", **OUTAGE)
        assert again.status_code == 201
        assert again.json()["duplicate"] is True
        await asyncio.sleep(0.3)
        assert len(running.smtp.received) == 215
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
