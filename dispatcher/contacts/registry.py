"""Load and check the contact registry: the CSV files in the contacts folder."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from stdnum import ean

from dispatcher.contacts.model import (
    EojSystem,
    Escalation,
    Municipality,
    Person,
    Registry,
    Vendor,
    is_placeholder,
)

OFFICIAL_FILE = "kommuner.csv"
MUNICIPALITIES_FILE = "municipalities.csv"
VENDORS_FILE = "vendors.csv"
ESCALATION_FILE = "escalation.csv"

OFFICIAL_COLUMNS = ("code", "name", "region_code", "region_name")
MUNICIPALITY_COLUMNS = ("code", "name", "eoj_system", "sor_gln", "emails")
VENDOR_COLUMNS = ("key", "name", "system", "emails")
ESCALATION_COLUMNS = ("role", "name", "email")
ROLES = ("oncall", "fallback", "sender", "reply_to", "drill")
VENDOR_KEY = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one file; `line` is 1-based (the header is line 1)."""

    file: str
    line: int | None
    message: str
    placeholder: bool = False

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


class RegistryError(Exception):
    """The registry cannot be used; `problems` says why."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = by_line(problems)
        listed = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"the contact registry has {len(self.problems)} problem(s):\n{listed}")


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]


@dataclass
class FileCheck:
    """Collects the problems of one file and checks its field values."""

    label: str
    problems: list[Problem]
    production: bool = False
    errors: int = field(default=0, init=False)

    def error(self, line: int | None, message: str) -> None:
        self.errors += 1
        self.problems.append(Problem(self.label, line, message))

    def integer(self, line: int, value: str, what: str) -> int | None:
        if value.isascii() and value.isdigit():
            return int(value)
        self.error(line, f"{what} {value!r} is not an integer")
        return None

    def system(self, line: int, value: str) -> EojSystem | None:
        try:
            return EojSystem(value.lower() or EojSystem.UNKNOWN)
        except ValueError:
            self.error(
                line, f"unknown EOJ system {value!r}; expected one of {', '.join(EojSystem)}"
            )
            return None

    def gln(self, line: int, value: str) -> str | None:
        if not value:
            return None
        if len(value) != 13 or not (value.isascii() and value.isdigit()):
            self.error(line, f"SOR GLN {value!r} must be 13 digits")
        elif not ean.is_valid(value):
            expected = ean.calc_check_digit(value[:12])
            self.error(line, f"SOR GLN {value!r} has a wrong check digit (expected {expected})")
        return value

    def address(self, line: int, value: str) -> str | None:
        try:
            info = validate_email(value, check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError as exc:
            self.error(line, f"invalid e-mail address {value!r}: {exc}")
            return None
        address = info.ascii_email
        assert address is not None  # allow_smtputf8=False always yields an ASCII form
        if is_placeholder(address):
            rule = "is not allowed in production" if self.production else "must be replaced"
            message = f"placeholder address {address} {rule}"
            self.problems.append(Problem(self.label, line, message, placeholder=True))
        return address

    def addresses(self, line: int, value: str) -> tuple[str, ...]:
        parts = [part.strip() for part in value.split(";") if part.strip()]
        if not parts:
            self.error(line, "no e-mail address")
        found: dict[str, str] = {}
        for part in parts:
            address = self.address(line, part)
            if address is not None and address.lower() in found:
                self.error(line, f"duplicate e-mail address {address} in this row")
            elif address is not None:
                found[address.lower()] = address
        return tuple(found.values())


def read_rows(path: Path, columns: Sequence[str], check: FileCheck) -> list[Row]:
    """The data rows of a CSV file whose header must be exactly `columns`."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        check.error(None, f"cannot read the file: {exc.strerror}")
    except UnicodeDecodeError as exc:
        check.error(None, f"not UTF-8 (byte {exc.start}: {exc.reason})")
    else:
        return parse_rows(text, columns, check)
    return []


def parse_rows(text: str, columns: Sequence[str], check: FileCheck) -> list[Row]:
    """Rows of CSV `text`, fields stripped; blank lines are skipped, broken rows reported."""
    reader = csv.reader(io.StringIO(text, newline=""))
    expected = ",".join(columns)
    rows: list[Row] = []
    try:
        header = [name.strip() for name in next(reader, [])]
        if header != list(columns):
            check.error(1, f"header is {','.join(header)!r}; expected {expected!r}")
            return []
        start = reader.line_num + 1
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not any(value.strip() for value in fields):
                continue
            if len(fields) != len(columns):
                check.error(line, f"{len(fields)} fields; expected {len(columns)} ({expected})")
                continue
            rows.append(Row(line, {c: v.strip() for c, v in zip(columns, fields, strict=True)}))
    except csv.Error as exc:
        check.error(reader.line_num, f"broken CSV: {exc}")
    return rows


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
    if eoj is None or check.errors != before:
        return None
    return replace(official, emails=emails, eoj=eoj, sor_gln=gln)


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
        if name and email is not None:
            people[role].append(Person(name, email))
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

    def read(name: str, columns: Sequence[str]) -> tuple[list[Row], FileCheck]:
        check = FileCheck(name, problems, production)
        return read_rows(directory / name, columns, check), check

    official = load_official(directory, problems)
    municipalities: dict[int, Municipality] = {}
    if official:
        rows, check = read(MUNICIPALITIES_FILE, MUNICIPALITY_COLUMNS)
        municipalities = check_municipalities(rows, official, check, complete=True)
    vendors = check_vendors(*read(VENDORS_FILE, VENDOR_COLUMNS))
    escalation = check_escalation(*read(ESCALATION_FILE, ESCALATION_COLUMNS))
    if escalation is None or errors_only(problems):
        return None, by_line(problems)
    ordered = tuple(municipalities[code] for code in sorted(municipalities))
    return Registry(ordered, tuple(vendors), escalation), by_line(problems)


def by_line(problems: Sequence[Problem]) -> list[Problem]:
    """`problems` file by file (in first-seen order), by line; problems without a line last."""
    files = {name: index for index, name in enumerate(dict.fromkeys(p.file for p in problems))}
    return sorted(problems, key=lambda p: (files[p.file], p.line is None, p.line or 0))


def errors_only(problems: Sequence[Problem]) -> list[Problem]:
    """The problems that are real errors, not placeholders."""
    return [problem for problem in problems if not problem.placeholder]


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
