"""Pages go to whoever the rota puts on call at the moment they are queued: an SDS signal at
the real HTTP server of a running daemon, pages over real SMTP, the clock moved by hand across
a handover on the first Monday of summer time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dispatcher.contacts.model import Registry
from dispatcher.contacts.registry import load_registry
from dispatcher.incidents.queries import incident_detail
from dispatcher.mailcatcher import Received
from dispatcher.oncall import overrides
from tests.e2e.conftest import Running
from tests.support.clock import FakeClock
from tests.support.mail import parse, text_body
from tests.support.rota import IBEN, KARINA, METTE, SOEREN, rota_contacts

PRK = "prk@kl.dk"
OUTAGE = {"severity": "down", "summary": "FMK svarer ikke", "details": "Alle opslag fejler."}
# Monday 30 March 2026, 07:50 summer time: ten minutes before the handover at 08:00 CEST,
# which is 06:00 UTC (an hour earlier in UTC than the handover a week before).
BEFORE_HANDOVER = datetime(2026, 3, 30, 5, 50, tzinfo=UTC)


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    """Karina and Iben until the handover, then Søren and Mette."""
    folder = rota_contacts(
        tmp_path / "contacts",
        ("2026-03-23 08:00", (KARINA, IBEN)),
        ("2026-03-30 08:00", (SOEREN, METTE)),
    )
    return load_registry(folder)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(BEFORE_HANDOVER)


def pages(received: list[Received]) -> dict[str, str]:
    """Each page's recipient and its text body."""
    found = {}
    for item in received:
        message = parse(item)
        if message["X-FMK-Notice"] == "page":
            (recipient,) = item.recipients
            found[recipient] = text_body(message)
    return found


class TestPagedByTheRota:
    """The first page goes to the week's pair; the reminder after the handover to the next
    week's pair and the KL fallback, not to the pair that has gone off duty."""

    async def test_across_the_handover(
        self, running: Running, engine: Engine, registry: Registry
    ) -> None:
        response = await running.signal("outage", "sds-1", **OUTAGE)
        assert response.status_code == 201
        first = pages(await running.mail(2 + 3))
        assert set(first) == {KARINA.email, IBEN.email}
        assert "Også kaldt: Iben Søgaard" in first[KARINA.email]

        await running.at(15)  # 08:05 CEST: Søren and Mette are on call
        second = pages((await running.mail(5 + 3))[5:])
        assert set(second) == {SOEREN.email, METTE.email, PRK}
        assert "Søren Ærø" in second[METTE.email]
        assert "Karina" not in second[METTE.email]

        detail = incident_detail(engine, 1)
        assert detail is not None
        queued = [entry.text for entry in detail.timeline if entry.kind == "notice"]
        assert "page notice #1 queued for Karina Hasager Hedevang, Iben Søgaard" in queued
        assert (
            "page notice #3 queued for Søren Ærø, Mette Løkke, Poul Erik Kristensen, KL" in queued
        )

    async def test_an_override_changes_who_is_paged(
        self, running: Running, engine: Engine, registry: Registry, clock: FakeClock
    ) -> None:
        request = overrides.Request(
            person=METTE.email,
            replaces=IBEN.email,
            starts_at=BEFORE_HANDOVER,
            ends_at=datetime(2026, 3, 30, 7, 0, tzinfo=UTC),
        )
        overrides.create(engine, registry, request, actor=KARINA.email, now=clock.now())

        await running.signal("outage", "sds-1", **OUTAGE)
        first = pages(await running.mail(2 + 3))

        assert set(first) == {KARINA.email, METTE.email}
        assert "Også kaldt: Karina Hasager Hedevang" in first[METTE.email]
