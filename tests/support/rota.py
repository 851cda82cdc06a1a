"""A copy of the repository's contacts with two more on-call people and a rota.csv, for tests
of who is paged when."""

from __future__ import annotations

import shutil
from pathlib import Path

from dispatcher.contacts.model import Person

CONTACTS = Path(__file__).resolve().parents[2] / "contacts"
KARINA = Person("Karina Hasager Hedevang", "khs@medcom.dk")
IBEN = Person("Iben Søgaard", "ibs@medcom.dk")
SOEREN = Person("Søren Ærø", "sae@medcom.dk")
METTE = Person("Mette Løkke", "mel@medcom.dk")


def rota_contacts(target: Path, *weeks: tuple[str, tuple[Person, ...]]) -> Path:
    """`target` as a contacts folder: the repository's, Søren and Mette as on-call staff too,
    and a rota.csv of `weeks` ((starts, people) each); no rota.csv if `weeks` is empty."""
    shutil.copytree(CONTACTS, target, ignore=shutil.ignore_patterns("*.md"))
    with (target / "escalation.csv").open("a", encoding="utf-8") as escalation:
        for person in (SOEREN, METTE):
            escalation.write(f"oncall,{person.name},{person.email}\n")
    if weeks:
        rows = [f"{starts},{';'.join(p.email for p in people)}" for starts, people in weeks]
        (target / "rota.csv").write_text("starts,emails\n" + "\n".join(rows) + "\n", "utf-8")
    return target
