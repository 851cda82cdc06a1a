"""Test registries: a few municipalities, for tests where rendering 98 notices is only slow;
and a copy of the contacts with telephone numbers and alternate addresses."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from dispatcher.contacts.model import Registry

FEW = (101, 147, 461, 751, 825)  # København, Frederiksberg, Odense, Aarhus, Læsø


def few_municipalities(registry: Registry) -> Registry:
    """`registry` with only the municipalities in FEW (vendors and escalation as they are)."""
    return replace(
        registry, municipalities=tuple(m for m in registry.municipalities if m.code in FEW)
    )


def phone_of(code: int) -> str:
    """A test telephone number for municipality `code` (never dialled): +45 44 10 0C CC."""
    return f"+454410{code:04d}"


def with_phones(contacts: Path, target: Path, *, alternates: tuple[int, ...] = ()) -> Path:
    """A copy of the contacts folder `contacts` at `target` whose municipalities.csv gives
    every municipality a telephone number, and those in `alternates` an alternate address
    (`vagt@<code>.kommune.example`)."""
    shutil.copytree(contacts, target, ignore=shutil.ignore_patterns("*.md"))
    path = target / "municipalities.csv"
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    lines = [f"{header},phone,alternate_emails"]
    for row in rows:
        code = int(row.split(",", 1)[0])
        alternate = f"vagt@{code}.kommune.example" if code in alternates else ""
        lines.append(f"{row},{phone_of(code)},{alternate}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target
