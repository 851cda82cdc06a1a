"""Drills (ØVELSE): marked in every subject and body, mailed by default to the on-call pair and
the drill list only, never in the real incident's way, and left out of the incident metrics."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from dispatcher.contacts.model import Person, Registry
from dispatcher.core.enums import Release, Source
from dispatcher.core.model import Acknowledge, PostUpdate, Resolve
from dispatcher.incidents import service
from dispatcher.mailcatcher import MailCatcher
from dispatcher.metrics.snapshot import read_snapshot
from dispatcher.outbox.sender import Sender
from tests.support.clock import FakeClock
from tests.support.drain import drain
from tests.support.incidents import fmk_down
from tests.support.mail import parse, text_body

KHS, IBS, PRK = "khs@medcom.dk", "ibs@medcom.dk", "prk@kl.dk"
OBSERVER = Person("Øvelsesleder Åse Ærbødig", "oevelse@medcom.dk")
MINUTE = timedelta(minutes=1)


@pytest.fixture
def drill_registry(registry: Registry) -> Registry:
    escalation = replace(registry.escalation, drill=(OBSERVER,))
    return replace(registry, escalation=escalation)


@pytest.fixture
def drills(dispatch: service.Dispatch, drill_registry: Registry) -> service.Dispatch:
    return replace(dispatch, registry=drill_registry)


def recipients(smtp: MailCatcher) -> set[str]:
    return {address for item in smtp.received for address in item.recipients}


class TestWhoHearsOfADrill:
    """By default a drill's notices reach the pair and the drill list, nobody else."""

    async def test_a_drill_from_the_cli(
        self,
        drills: service.Dispatch,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        engine: Engine,
    ) -> None:
        number, _ = service.trigger(drills, fmk_down(drill=True), clock.now())
        service.apply(drills, number, PostUpdate(KHS, "Øvelsen fortsætter."), clock.now())
        service.apply(drills, number, Resolve(KHS), clock.now())
        await drain(sender, engine, clock)

        assert recipients(smtp) == {KHS, IBS, OBSERVER.email}
        kinds = [str(parse(item)["X-FMK-Notice"]) for item in smtp.received]
        assert sorted(kinds) == sorted(["initial", "update", "all_clear"] * 3)
        for item in smtp.received:
            message = parse(item)
            assert str(message["Subject"]).startswith("ØVELSE: [FMK-nedbrud #1]")
            assert "*** ØVELSE ***" in text_body(message)
            html = message.get_body(preferencelist=("html",))
            assert html is not None
            assert "ØVELSE" in str(html.get_content())  # type: ignore[attr-defined]
        observer = [parse(i) for i in smtp.received if OBSERVER.email in i.recipients]
        assert str(observer[0]["To"]) == f"{OBSERVER.name} <{OBSERVER.email}>"

    async def test_a_drill_through_the_whole_escalation_chain(
        self,
        drills: service.Dispatch,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        engine: Engine,
    ) -> None:
        """As SDS would signal it: pages, vendor alert, no KL, fail-safe — all to drill staff."""
        start = clock.now()
        trigger = fmk_down(drill=True, source=Source.SDS, release=Release.AFTER_CONFIRM)
        number, _ = service.trigger(drills, trigger, start)
        for minutes in (15, 30, 45):
            clock.set(start + minutes * MINUTE)
            service.tick_due(drills, clock.now())
        service.apply(drills, number, Acknowledge(IBS), clock.now())
        await drain(sender, engine, clock)

        assert PRK not in recipients(smtp)
        assert recipients(smtp) == {KHS, IBS, OBSERVER.email}
        to_observer = Counter(
            str(parse(i)["X-FMK-Notice"]) for i in smtp.received if OBSERVER.email in i.recipients
        )
        assert to_observer == {"page": 4, "vendor_alert": 1, "initial": 1, "owner": 1}
        assert all(str(parse(i)["Subject"]).startswith("ØVELSE: ") for i in smtp.received)

    async def test_someone_on_call_and_on_the_drill_list_gets_one_copy(
        self,
        dispatch: service.Dispatch,
        registry: Registry,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        engine: Engine,
    ) -> None:
        twice = Person("Karina (øvelsesleder)", KHS.upper())
        escalation = replace(registry.escalation, drill=(twice, OBSERVER))
        drills = replace(dispatch, registry=replace(registry, escalation=escalation))
        service.trigger(drills, fmk_down(drill=True), clock.now())
        await drain(sender, engine, clock)
        assert sorted(a.lower() for i in smtp.received for a in i.recipients) == sorted(
            [IBS, KHS, OBSERVER.email]
        )

    async def test_a_drill_that_reaches_the_municipalities(
        self,
        drills: service.Dispatch,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        engine: Engine,
        registry: Registry,
    ) -> None:
        service.trigger(drills, fmk_down(drill=True, drill_municipalities=True), clock.now())
        await drain(sender, engine, clock)
        assert len(smtp.received) == len(registry.municipalities) + len(registry.vendors)
        assert OBSERVER.email not in recipients(smtp)
        assert all(str(parse(i)["Subject"]).startswith("ØVELSE: ") for i in smtp.received)


class TestDrillsAndRealOutages:
    """A drill never stands in a real outage's way, and there is one drill at a time."""

    def test_a_real_incident_opens_beside_a_drill(
        self, drills: service.Dispatch, clock: FakeClock, engine: Engine
    ) -> None:
        drill, _ = service.trigger(drills, fmk_down(drill=True), clock.now())
        real, _ = service.trigger(drills, fmk_down(), clock.now())
        assert real != drill
        with pytest.raises(service.AlreadyOpen, match="already open"):
            service.trigger(drills, fmk_down(), clock.now())
        with pytest.raises(service.AlreadyOpen, match=f"drill #{drill} is still open"):
            service.trigger(drills, fmk_down(drill=True), clock.now())

    def test_metrics_leave_drills_out(
        self, drills: service.Dispatch, clock: FakeClock, engine: Engine
    ) -> None:
        number, _ = service.trigger(drills, fmk_down(drill=True), clock.now())
        snapshot = read_snapshot(engine, clock.now())
        assert snapshot.open_incidents == 0
        assert snapshot.incidents == {}
        service.apply(drills, number, Resolve(KHS), clock.now())
        service.trigger(drills, fmk_down(), clock.now())
        snapshot = read_snapshot(engine, clock.now())
        assert snapshot.open_incidents == 1
        assert snapshot.incidents == {"triggered": 1}
