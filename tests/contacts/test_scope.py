"""Scoped outages: which municipalities an EOJ system, a region or a list of codes picks, and
which vendors that concerns."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dispatcher.contacts.model import EojSystem, Registry
from dispatcher.contacts.scope import ScopeError, affected, resolve, vendors_for

HOVEDSTADEN = 1084


def with_systems(registry: Registry, **systems: EojSystem) -> Registry:
    """Every municipality on Nexus but those named (by name) on another system."""
    return replace(
        registry,
        municipalities=tuple(
            replace(m, eoj=systems.get(m.name, EojSystem.NEXUS)) for m in registry.municipalities
        ),
    )


class TestNothingNarrows:
    """Without EOJ, region or codes the outage hits every municipality and every vendor."""

    def test_no_scope(self, registry: Registry) -> None:
        assert resolve(registry) is None
        assert affected(registry, ()) == registry.municipalities
        assert vendors_for(registry, ()) == registry.vendors


class TestByEojSystem:
    """An EOJ system picks its municipalities, and those whose system is not registered."""

    def test_known_systems_only(self, registry: Registry) -> None:
        known = with_systems(registry, Ishøj=EojSystem.CURA, Esbjerg=EojSystem.CURA)
        scope = resolve(known, eoj=[EojSystem.CURA])
        assert scope is not None
        assert scope.codes == (183, 561)
        assert scope.label == "kommuner med Cura"
        assert scope.unknown_eoj == ()
        assert [v.key for v in vendors_for(known, scope.codes)] == ["systematic"]

    def test_unknown_systems_are_counted_in(self, registry: Registry) -> None:
        scope = resolve(registry, eoj=[EojSystem.CURA])
        assert scope is not None
        cura = {m.code for m in registry.municipalities if m.eoj is EojSystem.CURA}
        unknown = {m.code for m in registry.municipalities if m.eoj is EojSystem.UNKNOWN}
        assert cura
        assert unknown
        assert set(scope.codes) == cura | unknown
        assert set(scope.unknown_eoj) == unknown
        assert 740 not in scope.codes  # Silkeborg runs Nexus
        assert vendors_for(registry, scope.codes) == registry.vendors

    def test_unknown_systems_left_out_on_request(self, registry: Registry) -> None:
        scope = resolve(registry, eoj=[EojSystem.CURA], include_unknown=False)
        assert scope is not None
        cura = {m.code for m in registry.municipalities if m.eoj is EojSystem.CURA}
        assert set(scope.codes) == cura
        assert scope.unknown_eoj == ()
        assert [v.key for v in vendors_for(registry, scope.codes)] == ["systematic"]

    def test_two_systems(self, registry: Registry) -> None:
        known = with_systems(registry, Læsø=EojSystem.VITAE, Ishøj=EojSystem.CURA)
        scope = resolve(known, eoj=[EojSystem.VITAE, EojSystem.CURA])
        assert scope is not None
        assert scope.label == "kommuner med Cura og Vitae"
        assert [v.key for v in vendors_for(known, scope.codes)] == ["systematic", "dedalus"]

    def test_unknown_is_not_a_system_to_scope_by(self, registry: Registry) -> None:
        with pytest.raises(ScopeError, match="name a system"):
            resolve(registry, eoj=[EojSystem.UNKNOWN])


class TestByRegionAndCodes:
    def test_region_by_code_or_name(self, registry: Registry) -> None:
        by_code = resolve(registry, regions=[str(HOVEDSTADEN)])
        by_name = resolve(registry, regions=["hovedstaden"])
        assert by_code is not None
        assert by_code == by_name
        assert len(by_code.codes) == 29
        assert by_code.label == "Region Hovedstaden"

    def test_unknown_region_names_the_regions(self, registry: Registry) -> None:
        with pytest.raises(ScopeError, match=r"no region matches 'Bornholm'.*1084 Region"):
            resolve(registry, regions=["Bornholm"])

    def test_codes(self, registry: Registry) -> None:
        scope = resolve(registry, codes=[147, 101, 101])
        assert scope is not None
        assert scope.codes == (101, 147)
        assert scope.label == "udvalgte kommuner"

    def test_unknown_codes_are_named(self, registry: Registry) -> None:
        with pytest.raises(ScopeError, match="unknown municipality codes 411, 999"):
            resolve(registry, codes=[101, 999, 411])

    def test_options_narrow_together(self, registry: Registry) -> None:
        known = with_systems(registry, Ishøj=EojSystem.CURA, Esbjerg=EojSystem.CURA)
        scope = resolve(known, eoj=[EojSystem.CURA], regions=["hovedstaden"])
        assert scope is not None
        assert scope.codes == (183,)
        assert scope.label == "kommuner med Cura, Region Hovedstaden"

    def test_nothing_left_is_an_error(self, registry: Registry) -> None:
        with pytest.raises(ScopeError, match="no municipality is in all"):
            resolve(registry, regions=["hovedstaden"], codes=[561])
