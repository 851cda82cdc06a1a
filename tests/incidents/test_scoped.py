"""Scoped incidents: only the affected municipalities and the vendors concerned hear of them,
and every notice names the municipalities affected."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Engine

from dispatcher.contacts.model import EojSystem, Registry
from dispatcher.contacts.scope import resolve
from dispatcher.core.enums import Release, Source
from dispatcher.core.model import PostUpdate, Resolve, Trigger
from dispatcher.incidents import service
from dispatcher.mailcatcher import MailCatcher
from dispatcher.outbox.sender import Sender
from tests.support.clock import FakeClock
from tests.support.drain import drain
from tests.support.incidents import fmk_down
from tests.support.mail import parse, per_recipient, text_body

CURA = {"Ishøj", "Odsherred", "Esbjerg", "Favrskov", "Ærø"}
SYSTEMATIC = "fmk-beredskab@systematic.example"
KHS = "khs@medcom.dk"


@pytest.fixture
def known(registry: Registry) -> Registry:
    """Every municipality's EOJ system known: a handful on Cura, the rest on Nexus."""
    return replace(
        registry,
        municipalities=tuple(
            replace(m, eoj=EojSystem.CURA if m.name in CURA else EojSystem.NEXUS)
            for m in registry.municipalities
        ),
    )


@pytest.fixture
def scoped(dispatch: service.Dispatch, known: Registry) -> service.Dispatch:
    return replace(dispatch, registry=known)


def cura_outage(registry: Registry, **overrides: object) -> Trigger:
    scope = resolve(registry, eoj=[EojSystem.CURA])
    assert scope is not None
    return fmk_down(scope=scope.codes, scope_label=scope.label, **overrides)


class TestOnlyTheCuraMunicipalities:
    """A Cura outage reaches the Cura municipalities and Systematic, each notice naming them."""

    async def test_initial_update_and_all_clear(
        self,
        scoped: service.Dispatch,
        known: Registry,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        engine: Engine,
    ) -> None:
        number, _ = service.trigger(scoped, cura_outage(known), clock.now())
        service.apply(
            scoped, number, PostUpdate(KHS, "Systematic arbejder på en rettelse."), clock.now()
        )
        service.apply(scoped, number, Resolve(KHS), clock.now())
        await drain(sender, engine, clock)

        cura = [m for m in known.municipalities if m.name in CURA]
        expected = {e for m in cura for e in m.emails} | {SYSTEMATIC}
        counts = per_recipient(smtp.received)
        assert {address for address, _ in counts} == expected
        for address in expected:
            for kind in ("initial", "update", "all_clear"):
                assert counts[(address, kind)] == 1, (address, kind)

        ishoej = next(parse(i) for i in smtp.received if cura[0].emails[0] in i.recipients)
        body = text_body(ishoej)
        assert "Nedbruddet rammer kun 5 kommuner (kommuner med Cura):" in body
        assert (
            "Ishøj Kommune, Odsherred Kommune, Ærø Kommune, Esbjerg Kommune og Favrskov Kommune"
            in body
        )
        assert SYSTEMATIC in str(ishoej["Cc"])
        assert "kmd" not in str(ishoej["Cc"])

        copy = next(parse(i) for i in smtp.received if i.recipients == (SYSTEMATIC,))
        assert "sendt til de 5 berørte kommuner" in text_body(copy)

    async def test_pages_and_vendor_alert_name_the_affected(
        self,
        scoped: service.Dispatch,
        known: Registry,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        engine: Engine,
    ) -> None:
        outage = cura_outage(known, source=Source.SDS, release=Release.AFTER_CONFIRM)
        service.trigger(scoped, outage, clock.now())
        await drain(sender, engine, clock)
        kinds = {str(parse(i)["X-FMK-Notice"]): i for i in smtp.received}
        assert set(kinds) == {"page", "vendor_alert"}
        assert [
            i.recipients for i in smtp.received if parse(i)["X-FMK-Notice"] == "vendor_alert"
        ] == [(SYSTEMATIC,)]
        for item in smtp.received:
            assert "Nedbruddet rammer kun 5 kommuner" in text_body(parse(item))


class TestUnknownSystems:
    """With the repository's registry (most systems unknown) a Cura outage errs on the side
    of telling: unknown municipalities and every vendor are in."""

    async def test_unknown_municipalities_and_all_vendors_are_told(
        self,
        dispatch: service.Dispatch,
        registry: Registry,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        engine: Engine,
    ) -> None:
        service.trigger(dispatch, cura_outage(registry), clock.now())
        await drain(sender, engine, clock)
        nexus = [m for m in registry.municipalities if m.eoj is EojSystem.NEXUS]
        told = {a for i in smtp.received for a in i.recipients}
        assert nexus
        assert not told & {e for m in nexus for e in m.emails}
        assert {e for v in registry.vendors for e in v.emails} <= told
        assert len(smtp.received) == len(registry.municipalities) - len(nexus) + 3
