"""rota.csv, the weekly on-call rotation: optional; when present every row is checked, and a
bad row is an error naming the file and line that keeps the whole registry from loading."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from dispatcher.contacts.csvcheck import RegistryError
from dispatcher.contacts.registry import check_registry, load_registry
from tests.contacts.conftest import append_line, write_lines
from tests.support.rota import IBEN, KARINA, SOEREN

HEADER = "starts,emails"


@pytest.fixture
def staffed(contacts_dir: Path) -> Path:
    """The shipped registry with a third on-call person, who is in no rota week yet."""
    append_line(contacts_dir / "escalation.csv", f"oncall,{SOEREN.name},{SOEREN.email}")
    return contacts_dir


def write_rota(directory: Path, *rows: str) -> None:
    write_lines(directory / "rota.csv", [HEADER, *rows])


def errors(directory: Path) -> list[str]:
    return [str(p) for p in check_registry(directory) if not p.placeholder]


class TestTheRotaLoads:
    """A good rota.csv becomes the registry's rota; without the file there is none."""

    def test_without_a_file_there_is_no_rota(self, contacts_dir: Path) -> None:
        assert load_registry(contacts_dir).rota is None

    def test_weeks_in_order_with_the_people_of_escalation_csv(self, staffed: Path) -> None:
        write_rota(
            staffed,
            "2026-01-05 08:00,khs@medcom.dk;IBS@medcom.dk",
            "2026-01-12 08:00, sae@medcom.dk ; ibs@medcom.dk",
            "",
            "2026-01-19 08:00,sae@medcom.dk",
        )

        registry = load_registry(staffed)

        assert registry.rota is not None
        assert registry.rota.first == datetime(2026, 1, 5, 8, 0)
        assert registry.rota.weeks == ((KARINA, IBEN), (SOEREN, IBEN), (SOEREN,))
        # Every on-call person is still staff; none is dropped for being in no week.
        assert registry.escalation.staff == (KARINA, IBEN, SOEREN)


class TestBadRows:
    """Each problem names rota.csv and the line; nothing loads."""

    @pytest.mark.parametrize(
        ("rows", "expected"),
        [
            (
                ["2026-01-05 8.00,khs@medcom.dk"],
                "rota.csv:2: starts '2026-01-05 8.00' is not a time; write 'YYYY-MM-DD HH:MM' "
                "(Danish time)",
            ),
            (
                ["2026-01-05 08:00,khs@medcom.dk", "2026-01-13 08:00,ibs@medcom.dk"],
                "rota.csv:3: week 2 starts 2026-01-13 08:00; expected 2026-01-12 08:00: each "
                "week starts 7 days after the one before, at the same time (Monday 08:00)",
            ),
            (
                ["2026-01-05 08:00,khs@medcom.dk", "2026-01-12 09:00,ibs@medcom.dk"],
                "rota.csv:3: week 2 starts 2026-01-12 09:00; expected 2026-01-12 08:00",
            ),
            (
                ["2026-01-05 08:00,nobody@medcom.dk"],
                "rota.csv:2: nobody@medcom.dk is not an on-call person (role oncall) in "
                "escalation.csv; known: khs@medcom.dk, ibs@medcom.dk, sae@medcom.dk",
            ),
            (
                ["2026-01-05 08:00,prk@kl.dk"],  # the KL fallback is not on-call staff
                "rota.csv:2: prk@kl.dk is not an on-call person (role oncall)",
            ),
            (
                ["2026-01-05 08:00,khs@medcom.dk;KHS@medcom.dk"],
                "rota.csv:2: KHS@medcom.dk is named twice in this week",
            ),
            (
                ["2026-01-05 08:00, ; "],
                "rota.csv:2: no e-mail address: name who is on call that week",
            ),
            (
                ["2026-01-04 02:30,khs@medcom.dk"],  # a Sunday
                "rota.csv:2: the weekly handover at Sunday 02:30 fails: 2026-03-29 02:30 does "
                "not exist in Copenhagen time",
            ),
            (
                ["2026-01-05 08:00,khs@medcom.dk,ibs@medcom.dk"],
                "rota.csv:2: 3 fields; expected 2 (starts,emails)",
            ),
            ([], "rota.csv: no weeks; delete the file to page every on-call person at all times"),
        ],
    )
    def test_problem(self, staffed: Path, rows: list[str], expected: str) -> None:
        write_rota(staffed, *rows)

        found = errors(staffed)

        assert any(problem.startswith(expected) for problem in found), found
        with pytest.raises(RegistryError) as raised:
            load_registry(staffed)
        assert expected in str(raised.value)

    def test_wrong_header(self, staffed: Path) -> None:
        write_lines(staffed / "rota.csv", ["from,email", "2026-01-05 08:00,khs@medcom.dk"])

        assert errors(staffed) == ["rota.csv:1: header is 'from,email'; expected 'starts,emails'"]

    def test_every_bad_row_is_reported_at_once(self, staffed: Path) -> None:
        write_rota(
            staffed,
            "2026-01-05 08:00,khs@medcom.dk",
            "2026-01-12 08:00,who@medcom.dk",
            "2026-01-20 08:00,ibs@medcom.dk",
        )

        assert [p.split(":")[1] for p in errors(staffed)] == ["3", "4"]
