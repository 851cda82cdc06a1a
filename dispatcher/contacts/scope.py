"""Which municipalities and vendors an outage concerns, when it does not hit all of them.

An outage may hit only the municipalities on one EOJ system, in one region, or a list of
codes. `resolve` turns such a description into the affected municipality codes and a Danish
label; `vendors_for` picks the vendors concerned. Both are pure functions of the registry.

The registry does not know every municipality's EOJ system, and a notice that misses a
municipality is worse than one that reaches a municipality it does not concern: by default a
municipality whose system is `unknown` is counted in for any EOJ system (the scope lists it
in `unknown_eoj`, so every notice can say why it was told), and every vendor is concerned by
it. `include_unknown=False` leaves such municipalities out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dispatcher.contacts.model import EojSystem, Municipality, Registry, Vendor

SYSTEM_NAMES = {
    EojSystem.NEXUS: "Nexus",
    EojSystem.CURA: "Cura",
    EojSystem.VITAE: "Vitae",
    EojSystem.OTHER: "andre EOJ-systemer",
}


class ScopeError(ValueError):
    """The scope names something the registry does not have, or nothing at all."""


@dataclass(frozen=True)
class Scope:
    """The affected municipalities' codes, sorted, and what they have in common, in Danish."""

    codes: tuple[int, ...]
    label: str
    unknown_eoj: tuple[int, ...] = ()  # counted in because their system is not registered


def in_region(municipality: Municipality, region: str) -> bool:
    """`region` is a region code (1084) or part of its name (hovedstaden, sjælland)."""
    wanted = region.strip()
    if wanted.isdigit():
        return municipality.region_code == int(wanted)
    return wanted.casefold() in municipality.region_name.casefold()


def resolve(
    registry: Registry,
    *,
    eoj: Sequence[EojSystem] = (),
    regions: Sequence[str] = (),
    codes: Sequence[int] = (),
    include_unknown: bool = True,
) -> Scope | None:
    """The municipalities that are on one of `eoj` AND in one of `regions` AND among `codes`
    (each that is given); None when nothing narrows the outage (it hits all). For `eoj`, a
    municipality whose system is not registered counts as on it unless not `include_unknown`."""
    if not (eoj or regions or codes):
        return None
    chosen = list(registry.municipalities)
    parts: list[str] = []
    unknown: list[int] = []
    if eoj:
        systems = set(eoj)
        if EojSystem.UNKNOWN in systems:
            raise ScopeError("EOJ system 'unknown' cannot scope an outage; name a system")
        if include_unknown:
            unknown = [m.code for m in chosen if m.eoj is EojSystem.UNKNOWN]
        chosen = [m for m in chosen if m.eoj in systems or m.code in unknown]
        parts.append("kommuner med " + _joined(SYSTEM_NAMES[s] for s in _ordered(systems)))
    if regions:
        for region in regions:
            if not any(in_region(m, region) for m in registry.municipalities):
                raise ScopeError(f"no region matches {region!r}; regions: {_regions(registry)}")
        chosen = [m for m in chosen if any(in_region(m, r) for r in regions)]
        names = sorted(
            {m.region_name for m in registry.municipalities for r in regions if in_region(m, r)}
        )
        parts.append(_joined(names))
    if codes:
        missing = sorted({c for c in codes if registry.municipality(c) is None})
        if missing:
            raise ScopeError(
                "unknown municipality code"
                + ("s " if len(missing) > 1 else " ")
                + ", ".join(str(c) for c in missing)
                + "; `dispatcher contacts list` shows the codes"
            )
        wanted = set(codes)
        chosen = [m for m in chosen if m.code in wanted]
        parts.append("udvalgte kommuner")
    if not chosen:
        raise ScopeError("no municipality is in all of the given EOJ systems, regions and codes")
    kept = {m.code for m in chosen}
    return Scope(
        codes=tuple(sorted(kept)),
        label=", ".join(parts),
        unknown_eoj=tuple(c for c in unknown if c in kept),
    )


def affected(registry: Registry, codes: Iterable[int]) -> tuple[Municipality, ...]:
    """The municipalities with these codes (all of them for no codes), in registry order."""
    wanted = set(codes)
    if not wanted:
        return registry.municipalities
    return tuple(m for m in registry.municipalities if m.code in wanted)


def vendors_for(registry: Registry, codes: Iterable[int]) -> tuple[Vendor, ...]:
    """The vendors whose system an affected municipality runs; every vendor when all are
    affected or when one affected municipality's system is unknown."""
    systems = {m.eoj for m in affected(registry, codes)}
    if EojSystem.UNKNOWN in systems:
        return registry.vendors
    return tuple(v for v in registry.vendors if v.system in systems)


def _ordered(systems: set[EojSystem]) -> list[EojSystem]:
    return [s for s in EojSystem if s in systems]


def _joined(names: Iterable[str]) -> str:
    items = list(names)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " og " + items[-1]


def _regions(registry: Registry) -> str:
    return ", ".join(sorted({f"{m.region_code} {m.region_name}" for m in registry.municipalities}))
