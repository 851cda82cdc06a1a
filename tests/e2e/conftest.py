"""A running daemon for the end-to-end tests: its real HTTP server on a free loopback port, real
SMTP, and a clock the test moves by hand between the daemon's ticks."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.daemon.serve import Daemon
from dispatcher.mailcatcher import MailCatcher, Received, free_port
from dispatcher.notices.render import NoticeRenderer
from dispatcher.runtime import Runtime
from dispatcher.signals.auth import sign
from tests.support.clock import FakeClock
from tests.support.http import client

SECRET = "e2e-webhook-secret"
MIN = timedelta(minutes=1)


class Running:
    def __init__(self, daemon: Daemon, smtp: MailCatcher, clock: FakeClock, base: str) -> None:
        self.daemon, self.smtp, self.clock, self.base = daemon, smtp, clock, base
        self.start = clock.now()
        self.http = client(base)

    async def signal(
        self, kind: str, event_id: str, *, via: httpx.AsyncClient | None = None, **fields: object
    ) -> httpx.Response:
        """Post a signed SDS signal (with `via`, or the tests' own client); the same event
        always has the same body bytes, with a fresh timestamp and signature each time."""
        body = json.dumps({"event_id": event_id, "service": "FMK", "kind": kind, **fields}).encode()
        stamp = int(self.clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "X-SDS-Timestamp": str(stamp),
            "X-SDS-Signature": sign(SECRET.encode(), stamp, body),
        }
        return await (via or self.http).post("/api/sds/signals", content=body, headers=headers)

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


@pytest.fixture
def daemon_settings() -> dict[str, Any]:
    """Settings of the daemon besides the test's own; replace in a module to change them."""
    return {}


@pytest.fixture
async def running(
    engine: Engine,
    settings: Settings,
    registry: Registry,
    renderer: NoticeRenderer,
    smtp: MailCatcher,
    clock: FakeClock,
    daemon_settings: dict[str, Any],
) -> AsyncIterator[Running]:
    port = free_port()
    configured = settings.model_copy(
        update={
            "http_port": port,
            "public_url": f"http://127.0.0.1:{port}",
            "webhook_secret": SecretStr(SECRET),
            "tick_seconds": 3600,
            **daemon_settings,
        }
    )
    daemon = Daemon(Runtime(configured, engine, registry, renderer), clock)
    task = asyncio.create_task(daemon.run())
    base = f"http://127.0.0.1:{port}"
    async with client(base) as probe:
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
