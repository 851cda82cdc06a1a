"""Common test data: an FMK outage as duty staff would trigger it, and who should hear of it."""

from __future__ import annotations

from dispatcher.contacts.model import Registry
from dispatcher.core.model import Trigger


def fmk_down(**overrides: object) -> Trigger:
    fields: dict[str, object] = {
        "actor": "khs@medcom.dk",
        "summary": "FMK svarer ikke – ordinationer kan ikke ses",
        "details": "SDS undersøger årsagen.",
        "guidance": "Brug seneste udskrift af medicinlisten; notér ændringer på papir.",
    }
    fields.update(overrides)
    return Trigger(**fields)  # type: ignore[arg-type]


def notice_addresses(registry: Registry) -> list[str]:
    """Every address a municipal notice reaches: all municipal contacts and each vendor's."""
    return [e for g in (*registry.municipalities, *registry.vendors) for e in g.emails]
