"""Import municipality contacts from a CSV file: check it, show the changes, apply atomically."""

from __future__ import annotations

import csv
import io
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dispatcher.contacts.csvcheck import (
    FileCheck,
    Problem,
    RegistryError,
    errors_only,
    parse_rows,
    read_rows,
)
from dispatcher.contacts.model import EojSystem, Municipality
from dispatcher.contacts.registry import (
    MUNICIPALITIES_FILE,
    MUNICIPALITY_COLUMNS,
    MUNICIPALITY_OPTIONAL,
    check_municipalities,
    load_official,
)


@dataclass(frozen=True)
class Change:
    """What an import changes for one municipality."""

    code: int
    name: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    eoj: tuple[EojSystem, EojSystem] | None
    gln: tuple[str | None, str | None] | None
    phone: tuple[str | None, str | None] | None = None
    alternate: tuple[str, str] | None = None


@dataclass(frozen=True)
class ImportPlan:
    """The checked result of an import: the changes and the new municipalities.csv."""

    target: Path
    changes: tuple[Change, ...]
    text: str


def plan_import(directory: Path, file: Path) -> ImportPlan:
    """Check `file` and the merged registry; raises RegistryError listing every error."""
    problems: list[Problem] = []
    official = load_official(directory, problems)
    target = directory / MUNICIPALITIES_FILE
    current = _read(target, MUNICIPALITIES_FILE, official, problems, complete=True)
    incoming = _read(file, str(file), official, problems, complete=False)
    _raise_on_errors(problems)
    text = render_municipalities({**current, **incoming}.values())
    check = FileCheck(f"{MUNICIPALITIES_FILE} (after import)", problems)
    check_municipalities(
        parse_rows(text, MUNICIPALITY_COLUMNS, check, MUNICIPALITY_OPTIONAL),
        official,
        check,
        complete=True,
    )
    _raise_on_errors(problems)
    changes = (diff(current[code], incoming[code]) for code in sorted(incoming))
    return ImportPlan(target, tuple(change for change in changes if change), text)


def apply_import(plan: ImportPlan) -> None:
    """Write the new municipalities.csv, unless the import changes nothing."""
    if plan.changes:
        write_atomic(plan.target, plan.text)


def _read(
    path: Path,
    label: str,
    official: dict[int, Municipality],
    problems: list[Problem],
    *,
    complete: bool,
) -> dict[int, Municipality]:
    check = FileCheck(label, problems)
    rows = read_rows(path, MUNICIPALITY_COLUMNS, check, MUNICIPALITY_OPTIONAL)
    return check_municipalities(rows, official, check, complete=complete)


def _raise_on_errors(problems: list[Problem]) -> None:
    if errors := errors_only(problems):
        raise RegistryError(errors)


def diff(old: Municipality, new: Municipality) -> Change | None:
    """The change from `old` to `new`, or None if they hold the same contacts."""
    before, after = {a.lower(): a for a in old.emails}, {a.lower(): a for a in new.emails}
    added = tuple(after[key] for key in after if key not in before)
    removed = tuple(before[key] for key in before if key not in after)
    eoj = (old.eoj, new.eoj) if old.eoj != new.eoj else None
    gln = (old.sor_gln, new.sor_gln) if old.sor_gln != new.sor_gln else None
    phone = (old.phone, new.phone) if old.phone != new.phone else None
    was, now = ";".join(old.alternate_emails), ";".join(new.alternate_emails)
    alternate = (was, now) if was.lower() != now.lower() else None
    if not (added or removed or eoj or gln or phone or alternate):
        return None
    return Change(new.code, new.name, added, removed, eoj, gln, phone, alternate)


def render_municipalities(municipalities: Iterable[Municipality]) -> str:
    """municipalities.csv for `municipalities`: the header, then one row per code in order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    ordered = sorted(municipalities, key=lambda m: m.code)
    # The optional columns only once a municipality has a value in them.
    optional = any(m.phone or m.alternate_emails for m in ordered)
    writer.writerow(MUNICIPALITY_COLUMNS + (MUNICIPALITY_OPTIONAL if optional else ()))
    for m in ordered:
        row = [m.code, m.name, m.eoj.value, m.sor_gln or "", ";".join(m.emails)]
        extra = [m.phone or "", ";".join(m.alternate_emails)] if optional else []
        writer.writerow(row + extra)
    return out.getvalue()


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8): readers see the old or the new file, never half."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            os.chmod(temp, stat.S_IMODE(path.stat().st_mode))
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
