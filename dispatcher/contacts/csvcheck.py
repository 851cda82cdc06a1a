"""Reading the registry's CSV files and checking their fields: every problem is collected
with its file and line (`Problem`), so one run reports them all."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from stdnum import ean

from dispatcher.contacts.model import EojSystem, is_placeholder
from dispatcher.contacts.phones import PhoneError, parse_phone


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

    def phone(self, line: int, value: str) -> str | None:
        if not value:
            return None
        try:
            return parse_phone(value)
        except PhoneError as exc:
            self.error(line, str(exc))
            return None

    def addresses(self, line: int, value: str, *, required: bool = True) -> tuple[str, ...]:
        parts = [part.strip() for part in value.split(";") if part.strip()]
        if not parts and required:
            self.error(line, "no e-mail address")
        found: dict[str, str] = {}
        for part in parts:
            address = self.address(line, part)
            if address is not None and address.lower() in found:
                self.error(line, f"duplicate e-mail address {address} in this row")
            elif address is not None:
                found[address.lower()] = address
        return tuple(found.values())


def read_rows(
    path: Path, columns: Sequence[str], check: FileCheck, optional: Sequence[str] = ()
) -> list[Row]:
    """The data rows of a CSV file whose header must be exactly `columns`, or `columns` then
    `optional` (a file without the optional columns reads them as empty)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        check.error(None, f"cannot read the file: {exc.strerror}")
    except UnicodeDecodeError as exc:
        check.error(None, f"not UTF-8 (byte {exc.start}: {exc.reason})")
    else:
        return parse_rows(text, columns, check, optional)
    return []


def parse_rows(
    text: str, columns: Sequence[str], check: FileCheck, optional: Sequence[str] = ()
) -> list[Row]:
    """Rows of CSV `text`, fields stripped; blank lines are skipped, broken rows reported."""
    reader = csv.reader(io.StringIO(text, newline=""))
    full = [*columns, *optional]
    expected = ",".join(columns)
    rows: list[Row] = []
    try:
        header = [name.strip() for name in next(reader, [])]
        if header not in (list(columns), full):
            also = f" or {','.join(full)!r}" if optional else ""
            check.error(1, f"header is {','.join(header)!r}; expected {expected!r}{also}")
            return []
        missing = {name: "" for name in full[len(header) :]}
        columns, expected = header, ",".join(header)
        start = reader.line_num + 1
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not any(value.strip() for value in fields):
                continue
            if len(fields) != len(header):
                columns_here = ",".join(header)
                check.error(line, f"{len(fields)} fields; expected {len(header)} ({columns_here})")
                continue
            values = {c: v.strip() for c, v in zip(columns, fields, strict=True)}
            rows.append(Row(line, values | missing))
    except csv.Error as exc:
        check.error(reader.line_num, f"broken CSV: {exc}")
    return rows


def by_line(problems: Sequence[Problem]) -> list[Problem]:
    """`problems` file by file (in first-seen order), by line; problems without a line last."""
    files = {name: index for index, name in enumerate(dict.fromkeys(p.file for p in problems))}
    return sorted(problems, key=lambda p: (files[p.file], p.line is None, p.line or 0))


def errors_only(problems: Sequence[Problem]) -> list[Problem]:
    """The problems that are real errors, not placeholders."""
    return [problem for problem in problems if not problem.placeholder]
