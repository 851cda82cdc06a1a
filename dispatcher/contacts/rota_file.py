"""Load and check `rota.csv`, the weekly on-call rotation. The file is optional: without it
every on-call person of escalation.csv is on call at all times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from dispatcher.contacts.csvcheck import FileCheck, Problem, Row, read_rows
from dispatcher.contacts.model import Person
from dispatcher.contacts.rota import WEEK, Rota, handover_problem

ROTA_FILE = "rota.csv"
ROTA_COLUMNS = ("starts", "emails")
TIME_FORMAT = "%Y-%m-%d %H:%M"


def load_rota(
    directory: Path, staff: Sequence[Person] | None, problems: list[Problem]
) -> Rota | None:
    """The rotation in `directory`, or None if there is no rota.csv or it has an error
    (added to `problems`). `staff` are the on-call people of escalation.csv, whom the rota
    names by address; None when escalation.csv did not load (addresses are not checked)."""
    path = directory / ROTA_FILE
    if not path.exists():
        return None
    check = FileCheck(ROTA_FILE, problems)
    rows = read_rows(path, ROTA_COLUMNS, check)
    if not rows and not check.errors:
        check.error(None, "no weeks; delete the file to page every on-call person at all times")
    first: datetime | None = None
    weeks: list[tuple[Person, ...]] = []
    for position, row in enumerate(rows):
        starts = _starts(row, check)
        if position == 0 and starts is not None:
            first = starts
            problem = handover_problem(starts)
            if problem is not None:
                check.error(row.line, f"the weekly handover at {starts:%A %H:%M} fails: {problem}")
        elif first is not None and starts is not None and starts != first + position * WEEK:
            expected = first + position * WEEK
            check.error(
                row.line,
                f"week {position + 1} starts {starts:{TIME_FORMAT}}; expected "
                f"{expected:{TIME_FORMAT}}: each week starts 7 days after the one before, at "
                f"the same time ({first:%A %H:%M})",
            )
        weeks.append(_people(row, staff, check))
    if check.errors or first is None or staff is None:
        return None
    return Rota(first, tuple(weeks))


def _starts(row: Row, check: FileCheck) -> datetime | None:
    value = row.values["starts"]
    try:
        return datetime.strptime(value, TIME_FORMAT)  # noqa: DTZ007 (Copenhagen wall time)
    except ValueError:
        check.error(
            row.line, f"starts {value!r} is not a time; write 'YYYY-MM-DD HH:MM' (Danish time)"
        )
        return None


def _people(row: Row, staff: Sequence[Person] | None, check: FileCheck) -> tuple[Person, ...]:
    """The week's people, each an on-call person of escalation.csv named by address."""
    addresses = [part.strip() for part in row.values["emails"].split(";") if part.strip()]
    if not addresses:
        check.error(row.line, "no e-mail address: name who is on call that week")
    if staff is None:
        return ()
    known = {person.email.casefold(): person for person in staff}
    people: dict[str, Person] = {}
    for address in addresses:
        person = known.get(address.casefold())
        if person is None:
            check.error(
                row.line,
                f"{address} is not an on-call person (role oncall) in escalation.csv; "
                f"known: {', '.join(p.email for p in staff)}",
            )
        elif address.casefold() in people:
            check.error(row.line, f"{address} is named twice in this week")
        else:
            people[address.casefold()] = person
    return tuple(people.values())


def summary(rota: Rota | None) -> str:
    """The rotation in a few words, for `doctor` and `contacts check`."""
    if rota is None:
        return "no rota (every on-call person at all times)"
    return f"rota of {len(rota.weeks)} week(s), handover {rota.first:%A %H:%M} Copenhagen time"
