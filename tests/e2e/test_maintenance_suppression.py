"""SDS outage signals during a planned maintenance window, end to end: the real HTTP server of a
running daemon, real SMTP, the clock moved by hand between the daemon's ticks."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from dispatcher.core.maintenance import Schedule
from dispatcher.mailcatcher import Received
from dispatcher.maintenance import queries, service
from dispatcher.store.db import transaction
from dispatcher.store.tables import IncidentRow
from tests.e2e.conftest import Running
from tests.support.mail import parse

KHS, IBS = "khs@medcom.dk", "ibs@medcom.dk"
SCOPE = {"municipalities": [101]}
OUTAGE = {"severity": "down", "summary": "FMK svarer ikke", "scope": SCOPE}
MIN = timedelta(minutes=1)


def schedule(running: Running, start: float, end: float) -> int:
    """A window for København from `start` to `end` minutes after the test's start."""
    dispatch = running.daemon.runtime.dispatch
    number, _ = service.schedule(
        dispatch,
        Schedule(
            "khs@medcom.dk",
            running.start + start * MIN,
            running.start + end * MIN,
            "Opgradering af FMK.",
            (101,),
            "udvalgte kommuner",
        ),
        running.clock.now(),
    )
    return number


def incidents(engine: Engine) -> int:
    with transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(IncidentRow)) or 0


def pages(received: list[Received], address: str) -> int:
    return sum(
        1 for r in received if address in r.recipients and parse(r)["X-FMK-Notice"] == "page"
    )


async def paged(running: Running, address: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while pages(running.smtp.received, address) < count:
        assert time.monotonic() < deadline, "no page arrived"
        await asyncio.sleep(0.05)


async def quiet(running: Running) -> None:
    """Give the sender time to send anything due: then nobody may have been paged."""
    await asyncio.sleep(0.5)
    assert pages(running.smtp.received, KHS) == 0


class TestInsideTheWindow:
    """An outage the window explains pages nobody; still down at the end, the chain starts
    within that one tick; up again before the end, nothing starts."""

    async def test_still_down_at_the_end(self, running: Running, engine: Engine) -> None:
        number = schedule(running, 10, 70)
        await running.at(15)
        response = await running.signal("outage", "sds-in-1", **OUTAGE)
        assert (response.status_code, response.json()) == (
            200,
            {"action": "suppressed", "maintenance": number},
        )
        await running.at(16)
        repeat = await running.signal("outage", "sds-in-2", **OUTAGE)
        assert repeat.json()["action"] == "suppressed"
        await running.at(69)
        await quiet(running)
        assert incidents(engine) == 0

        await running.at(70)  # one tick at the window's end
        await paged(running, KHS, 1)
        await paged(running, IBS, 1)
        assert incidents(engine) == 1
        detail = queries.window_detail(engine, number)
        assert detail is not None
        kinds = [e.kind for e in detail.events]
        assert kinds.count("suppressed") == 2
        assert kinds[-2:] == ["over", "incident"]

    async def test_up_again_before_the_end(self, running: Running, engine: Engine) -> None:
        schedule(running, 10, 70)
        await running.at(15)
        await running.signal("outage", "sds-in-1", **OUTAGE)
        await running.at(40)
        back = await running.signal("resolved", "sds-in-2")
        assert back.json()["action"] == "suppressed"
        await running.at(70)
        await running.at(90)
        await quiet(running)
        assert incidents(engine) == 0

    async def test_an_outage_of_more_than_the_scope_pages(
        self, running: Running, engine: Engine
    ) -> None:
        schedule(running, 10, 70)
        await running.at(15)
        wider = {**OUTAGE, "scope": {"municipalities": [101, 147]}}
        response = await running.signal("outage", "sds-wide", **wider)
        assert response.status_code == 201
        await paged(running, KHS, 1)


class TestOutsideTheWindow:
    async def test_before_the_start_pages_as_usual(self, running: Running) -> None:
        schedule(running, 10, 70)
        response = await running.signal("outage", "sds-before", **OUTAGE)
        assert (response.status_code, response.json()["action"]) == (201, "opened")
        await paged(running, KHS, 1)

    async def test_an_open_incident_is_not_silenced(self, running: Running) -> None:
        """Opened before the window; its paging goes on inside it."""
        schedule(running, 10, 70)
        await running.signal("outage", "sds-before", **OUTAGE)
        await paged(running, KHS, 1)
        await running.at(12)
        again = await running.signal("outage", "sds-during", **OUTAGE)
        assert again.json()["action"] == "attached"
        await running.at(15)
        await paged(running, KHS, 2)


class TestGracePeriod:
    """With a grace period, the maintenance may run late: the chain starts at its end."""

    @pytest.fixture
    def daemon_settings(self) -> dict[str, Any]:
        return {"maintenance_grace": timedelta(minutes=10)}

    async def test_the_chain_starts_after_the_grace(self, running: Running, engine: Engine) -> None:
        schedule(running, 10, 70)
        await running.at(75)
        late = await running.signal("outage", "sds-late", **OUTAGE)
        assert late.json()["action"] == "suppressed"
        await running.at(79)
        await quiet(running)
        await running.at(80)
        await paged(running, KHS, 1)
        assert incidents(engine) == 1
