"""Load and check the contact registry: the CSV files in the contacts folder."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from dispatcher.contacts import channels
from dispatcher.contacts.csvcheck import (
    FileCheck,
    Problem,
    RegistryError,
    Row,
    by_line,
    errors_only,
    read_rows,
)
from dispatcher.contacts.model import (
    EojSystem,
    Escalation,
    Municipality,
    Person,
    Registry,
    Vendor,
)
from dispatcher.contacts.rota_file import load_rota

OFFICIAL_FILE = "kommuner.csv"
MUNICIPALITIES_FILE = "municipalities.csv"
VENDORS_FILE = "vendors.csv"
ESCALATION_FILE = "escalation.csv"

OFFICIAL_COLUMNS = ("code", "name", "region_code", "region_name")
MUNICIPALITY_COLUMNS = ("code", "name", "eoj_system", "sor_gln", "emails")
# Optional: a telephone number to call, and addresses the reminder goes to instead of `emails`.
MUNICIPALITY_OPTIONAL = ("phone", "alternate_emails")
VENDOR_COLUMNS = ("key", "name", "system", "emails")
ESCALATION_COLUMNS = ("role", "name", "email")
ESCALATION_PAGING = ("phone", "channels")  # optional
ROLES = ("oncall", "fallback", "sender", "reply_to", "drill")
VENDOR_KEY = re.compile(r"[a-z0-9][a-z0-9-]*")


def load_official(directory: Path, problems: list[Problem]) -> dict[int, Municipality]:
    """The municipalities of kommuner.csv by code: official facts, no addresses yet."""
    check = FileCheck(OFFICIAL_FILE, problems)
    official: dict[int, Municipality] = {}
    for row in read_rows(directory / OFFICIAL_FILE, OFFICIAL_COLUMNS, check):
        code = check.integer(row.line, row.values["code"], "code")
        region = check.integer(row.line, row.values["region_code"], "region code")
        if code is not None and code in official:
            check.error(row.line, f"duplicate code {code}")
        elif code is not None and region is not None:
            name = unicodedata.normalize("NFC", row.values["name"])
            official[code] = Municipality(code, name, region, row.values["region_name"], ())
    if not official and not check.errors:
        check.error(None, "no municipalities")
    return official


def check_municipalities(
    rows: Sequence[Row], official: dict[int, Municipality], check: FileCheck, *, complete: bool
) -> dict[int, Municipality]:
    """The valid municipality rows by code; `complete` also requires every official code."""
    lines: dict[int, int] = {}
    found: dict[int, Municipality] = {}
    for row in rows:
        code = check.integer(row.line, row.values["code"], "municipality code")
        if code is None:
            continue
        if code not in official:
            check.error(row.line, f"unknown municipality code {code}")
            continue
        if code in lines:
            check.error(
                row.line, f"duplicate municipality code {code} (also on line {lines[code]})"
            )
        lines.setdefault(code, row.line)
        municipality = _municipality(row, official[code], check)
        if municipality is not None and lines[code] == row.line:
            found[code] = municipality
    if complete:
        for code in sorted(official.keys() - lines.keys()):
            check.error(None, f"municipality {code} {official[code].name} is missing")
    return found


def _municipality(row: Row, official: Municipality, check: FileCheck) -> Municipality | None:
    before = check.errors
    name = unicodedata.normalize("NFC", row.values["name"])
    if name != official.name:
        check.error(
            row.line,
            f"name {name!r} is not {official.name!r}, the official name of {official.code}",
        )
    eoj = check.system(row.line, row.values["eoj_system"])
    gln = check.gln(row.line, row.values["sor_gln"])
    emails = check.addresses(row.line, row.values["emails"])
    phone = check.phone(row.line, row.values["phone"])
    alternate = check.addresses(row.line, row.values["alternate_emails"], required=False)
    if eoj is None or check.errors != before:
        return None
    return replace(
        official, emails=emails, eoj=eoj, sor_gln=gln, phone=phone, alternate_emails=alternate
    )


def check_vendors(rows: Sequence[Row], check: FileCheck) -> list[Vendor]:
    """The valid vendor rows."""
    lines: dict[str, int] = {}
    vendors: list[Vendor] = []
    for row in rows:
        before = check.errors
        key, name = row.values["key"], row.values["name"]
        if key in lines:
            check.error(row.line, f"duplicate vendor key {key!r} (also on line {lines[key]})")
        lines.setdefault(key, row.line)
        if not VENDOR_KEY.fullmatch(key):
            check.error(row.line, f"vendor key {key!r} must be lower-case letters, digits and '-'")
        if not name:
            check.error(row.line, "empty vendor name")
        system = check.system(row.line, row.values["system"])
        if system is EojSystem.UNKNOWN:
            check.error(row.line, "a vendor's system cannot be 'unknown'")
        emails = check.addresses(row.line, row.values["emails"])
        if system is not None and check.errors == before:
            vendors.append(Vendor(key, name, system, emails))
    return vendors


def check_escalation(rows: Sequence[Row], check: FileCheck) -> Escalation | None:
    """The escalation contacts, or None if they are incomplete or wrong."""
    before = check.errors
    lines: dict[str, list[int]] = {role: [] for role in ROLES}
    people: dict[str, list[Person]] = {role: [] for role in ROLES}
    for row in rows:
        role, name = row.values["role"].lower(), row.values["name"]
        if role not in lines:
            check.error(row.line, f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
            continue
        lines[role].append(row.line)
        if not name:
            check.error(row.line, f"empty name for {role}")
        email = check.address(row.line, row.values["email"])
        who = name or f"the {role} on this line"
        number = channels.phone(check, row.line, who, row.values["phone"])
        paging = channels.channels(check, row.line, who, row.values["channels"], number)
        if name and email is not None:
            people[role].append(Person(name, email, number, paging))
    for role in ("oncall", "fallback"):
        if not lines[role]:
            check.error(None, f"no {role} row; at least one is required")
    for role in ("sender", "reply_to"):
        if not lines[role]:
            check.error(None, f"no {role} row; exactly one is required")
        elif len(lines[role]) > 1:
            where = ", ".join(str(line) for line in lines[role])
            check.error(lines[role][1], f"{role} on lines {where}; exactly one is required")
    if check.errors != before:
        return None
    oncall, fallback = tuple(people["oncall"]), tuple(people["fallback"])
    sender, reply_to = people["sender"][0], people["reply_to"][0]
    return Escalation(oncall, fallback, sender, reply_to, drill=tuple(people["drill"]))


def scan_registry(
    directory: Path, *, production: bool = False
) -> tuple[Registry | None, list[Problem]]:
    """Every problem of the registry in `directory`, and the registry unless one is an error."""
    problems: list[Problem] = []

    def read(
        name: str, columns: Sequence[str], optional: Sequence[str] = ()
    ) -> tuple[list[Row], FileCheck]:
        check = FileCheck(name, problems, production)
        return read_rows(directory / name, columns, check, optional), check

    official = load_official(directory, problems)
    municipalities: dict[int, Municipality] = {}
    if official:
        rows, check = read(MUNICIPALITIES_FILE, MUNICIPALITY_COLUMNS, MUNICIPALITY_OPTIONAL)
        municipalities = check_municipalities(rows, official, check, complete=True)
    vendors = check_vendors(*read(VENDORS_FILE, VENDOR_COLUMNS))
    escalation = check_escalation(*read(ESCALATION_FILE, ESCALATION_COLUMNS, ESCALATION_PAGING))
    rota = load_rota(directory, escalation.staff if escalation else None, problems)
    if escalation is None or errors_only(problems):
        return None, by_line(problems)
    ordered = tuple(municipalities[code] for code in sorted(municipalities))
    return Registry(ordered, tuple(vendors), escalation, rota), by_line(problems)


def check_registry(directory: Path, *, production: bool = False) -> list[Problem]:
    """Every problem found, placeholders included (flagged `placeholder=True`)."""
    return scan_registry(directory, production=production)[1]


def load_registry(directory: Path) -> Registry:
    """The registry; raises RegistryError on any error. Placeholder addresses are allowed."""
    registry, problems = scan_registry(directory)
    if registry is None:
        raise RegistryError(errors_only(problems))
    return registry


def production_problems(directory: Path) -> list[Problem]:
    """The placeholder addresses that keep the registry out of production."""
    return [p for p in check_registry(directory, production=True) if p.placeholder]
