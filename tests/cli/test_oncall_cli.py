"""`dispatcher oncall …`: who is on call, the week ahead, overrides made, listed and removed, in
Copenhagen time; bad input is refused with the reason and stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from dispatcher.contacts.model import Person
from dispatcher.store.db import transaction
from dispatcher.store.tables import OncallOverrideRow
from tests.cli.conftest import Cli, table_rows
from tests.support.rota import IBEN, KARINA, SOEREN, rota_contacts

# Handover Monday 08:00. Week 1 from 2031-03-24: Karina and Iben; week 2 from 2031-03-31
# (summer time since Sunday 30 March): Søren and Iben; then week 1 again from 2031-04-07.
WEEKS = (("2031-03-24 08:00", (KARINA, IBEN)), ("2031-03-31 08:00", (SOEREN, IBEN)))


@pytest.fixture
def rota_cli(cli: Cli, tmp_path: Path) -> Cli:
    folder = rota_contacts(tmp_path / "contacts", *WEEKS)
    return Cli({**cli.env, "DISPATCHER_CONTACTS_DIR": str(folder)}, cli.engine)


def override_count(cli: Cli) -> int:
    with transaction(cli.engine) as session:
        return session.scalar(select(func.count()).select_from(OncallOverrideRow)) or 0


class TestWithoutRota:
    """No rota.csv: both people of the on-call pair, at all times."""

    def test_now(self, cli: Cli) -> None:
        out = cli.ok("oncall", "now")
        assert "(no rota: all on-call staff)" in out
        assert "Karina Hasager Hedevang <khs@medcom.dk>" in out
        assert "Iben Søgaard <ibs@medcom.dk>" in out

    def test_show(self, cli: Cli) -> None:
        out = cli.ok("oncall", "show")
        assert "No rota (no rota.csv in the contacts folder)" in out
        assert "Karina Hasager Hedevang, Iben Søgaard" in out

    def test_status_names_them(self, cli: Cli) -> None:
        result = cli("status")  # exits 1: no daemon leads
        assert "On call: Karina Hasager Hedevang, Iben Søgaard" in result.stdout


class TestRota:
    """The rota's weeks, and the handover at 08:00 Copenhagen time in winter and summer."""

    @pytest.mark.parametrize(
        ("at", "week", "people"),
        [
            ("2031-03-31 07:59", "rota week 1 of 2", (KARINA, IBEN)),
            ("2031-03-31 08:00", "rota week 2 of 2", (SOEREN, IBEN)),
            ("2031-03-31 06:00+00:00", "rota week 2 of 2", (SOEREN, IBEN)),  # 08:00 CEST
            ("2031-03-31 05:59+00:00", "rota week 1 of 2", (KARINA, IBEN)),
            ("2031-04-07 08:00", "rota week 1 of 2", (KARINA, IBEN)),
        ],
    )
    def test_now_at(self, rota_cli: Cli, at: str, week: str, people: tuple[Person, ...]) -> None:
        out = rota_cli.ok("oncall", "now", "--at", at)
        assert f"({week}):" in out
        listed = [line.strip() for line in out.splitlines() if line.startswith("  ")]
        assert listed == [f"{p.name} <{p.email}>" for p in people]

    def test_now_says_who_comes_next(self, rota_cli: Cli) -> None:
        out = rota_cli.ok("oncall", "now", "--at", "2031-03-28 12:00")
        assert "On call at 2031-03-28 12:00 CET (rota week 1 of 2):" in out
        assert "From 2031-03-31 08:00 CEST: Søren Ærø, Iben Søgaard (rota week 2 of 2)." in out

    def test_show_the_weeks(self, rota_cli: Cli) -> None:
        out = rota_cli.ok("oncall", "show")
        assert "Handover every Monday at 08:00 (Copenhagen time); 2 week(s) in the cycle" in out
        rows = table_rows(out)
        assert [row[2] for row in rows] == [
            "Karina Hasager Hedevang, Iben Søgaard",
            "Søren Ærø, Iben Søgaard",
        ]

    def test_show_week_across_the_change_to_summer_time(self, rota_cli: Cli) -> None:
        out = rota_cli.ok("oncall", "show", "--week", "--from", "2031-03-27 00:00")
        assert table_rows(out) == [
            [
                "2031-03-27 00:00 CET",
                "2031-03-31 08:00 CEST",
                "Karina Hasager Hedevang, Iben Søgaard",
                "rota week 1 of 2",
            ],
            [
                "2031-03-31 08:00 CEST",
                "2031-04-03 00:00 CEST",
                "Søren Ærø, Iben Søgaard",
                "rota week 2 of 2",
            ],
        ]

    def test_options_of_week_need_week(self, rota_cli: Cli) -> None:
        result = rota_cli("oncall", "show", "--weeks", "2")
        assert result.exit_code == 1
        assert "--from and --weeks go with --week" in result.output


class TestOverrides:
    """An override is made, shows in `now`, `show --week` and `overrides`, and is removed."""

    def test_replace_across_the_handover_then_remove(self, rota_cli: Cli) -> None:
        out = rota_cli.ok(
            "oncall", "override", "mel@medcom.dk", "--replaces", "ibs@medcom.dk",
            "--from", "2031-03-30 12:00", "--to", "2031-04-01 12:00", "--reason", "ferie",
        )  # fmt: skip
        assert out.splitlines()[0] == (
            "Override #1: Mette Løkke is on call in place of Iben Søgaard from "
            "2031-03-30 12:00 CEST until 2031-04-01 12:00 CEST."
        )
        # What it does: Mette for Iben on both sides of the handover (Iben is in both weeks).
        assert [row[2:] for row in table_rows(out)] == [
            ["Karina Hasager Hedevang, Mette Løkke", "rota week 1 of 2, override #1"],
            ["Søren Ærø, Mette Løkke", "rota week 2 of 2, override #1"],
        ]
        week = rota_cli.ok("oncall", "show", "--week", "--from", "2031-03-30 00:00")
        karina = "Karina Hasager Hedevang"
        assert [row[:3] for row in table_rows(week)] == [
            ["2031-03-30 00:00 CET", "2031-03-30 12:00 CEST", f"{karina}, Iben Søgaard"],
            ["2031-03-30 12:00 CEST", "2031-03-31 08:00 CEST", f"{karina}, Mette Løkke"],
            ["2031-03-31 08:00 CEST", "2031-04-01 12:00 CEST", "Søren Ærø, Mette Løkke"],
            ["2031-04-01 12:00 CEST", "2031-04-06 00:00 CEST", "Søren Ærø, Iben Søgaard"],
        ]
        assert table_rows(week)[1][3] == "rota week 1 of 2, override #1"
        now = rota_cli.ok("oncall", "now", "--at", "2031-03-31 09:00")
        assert "(rota week 2 of 2, override #1):" in now
        assert "Mette Løkke <mel@medcom.dk>" in now

        listed = table_rows(rota_cli.ok("oncall", "overrides"))
        assert listed == [
            [
                "1", "Mette Løkke", "Iben Søgaard", "2031-03-30 12:00 CEST",
                "2031-04-01 12:00 CEST", "to come", "vagt@medcom.dk", "ferie",
            ]
        ]  # fmt: skip

        removed = rota_cli.ok("oncall", "remove", "1", "--as", "ibs@medcom.dk")
        assert removed.startswith("Removed override #1 (Mette Løkke is on call in place of")
        assert rota_cli.ok("oncall", "overrides").strip() == "No overrides in force or to come."
        everything = table_rows(rota_cli.ok("oncall", "overrides", "--all"))
        assert everything[0][5].startswith("removed ")
        assert everything[0][5].endswith(" by ibs@medcom.dk")
        now = rota_cli.ok("oncall", "now", "--at", "2031-03-31 09:00")
        assert "Iben Søgaard <ibs@medcom.dk>" in now
        assert "Mette" not in now

    def test_an_addition_from_now(self, rota_cli: Cli) -> None:
        out = rota_cli.ok("oncall", "override", "mel@medcom.dk", "--to", "2031-04-01 12:00")
        assert out.startswith("Override #1: Mette Løkke is on call from ")
        listed = table_rows(rota_cli.ok("oncall", "overrides"))
        assert listed[0][2] == "–"
        assert "in force" in listed[0][5]
        assert "Mette Løkke <mel@medcom.dk>" in rota_cli.ok("oncall", "now")

    def test_without_rota_replacing_one_of_the_pair(self, cli: Cli) -> None:
        cli.ok(
            "oncall", "override", "ibs@medcom.dk", "--replaces", "KHS@medcom.dk",
            "--from", "2031-06-01 00:00", "--to", "2031-06-02 00:00",
        )  # fmt: skip
        out = cli.ok("oncall", "now", "--at", "2031-06-01 12:00")
        assert "(no rota: all on-call staff, override #1):" in out
        assert [line.strip() for line in out.splitlines() if line.startswith("  ")] == [
            "Iben Søgaard <ibs@medcom.dk>"
        ]
        assert "From 2031-06-02 00:00 CEST: Karina Hasager Hedevang, Iben Søgaard" in out


class TestBadInput:
    """Each is refused with exit code 1 and a message naming the problem; nothing is stored."""

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            (
                ["who@medcom.dk", "--from", "2031-04-01 00:00", "--to", "2031-04-02 00:00"],
                "the person 'who@medcom.dk' is not an on-call person (role oncall) in "
                "escalation.csv; known: khs@medcom.dk, ibs@medcom.dk, sae@medcom.dk, "
                "mel@medcom.dk",
            ),
            (
                ["mel@medcom.dk", "--replaces", "prk@kl.dk", "--to", "2031-04-02 00:00"],
                "--replaces 'prk@kl.dk' is not an on-call person",
            ),
            (
                ["mel@medcom.dk", "--from", "2031-04-02 00:00", "--to", "2031-04-01 00:00"],
                "--to 2031-04-01 00:00 CEST is not after --from 2031-04-02 00:00 CEST",
            ),
            (
                ["mel@medcom.dk", "--from", "2031-03-30 02:30", "--to", "2031-04-01 00:00"],
                "--from '2031-03-30 02:30' does not exist in Copenhagen time: the clocks go "
                "forward an hour that night",
            ),
            (
                ["mel@medcom.dk", "--from", "2031-10-20 00:00", "--to", "2031-10-26 02:30"],
                "--to '2031-10-26 02:30' occurs twice in Copenhagen time: the clocks go back an "
                "hour that night; add the offset: 2031-10-26 02:30+02:00 for the first, "
                "2031-10-26 02:30+01:00 for the second",
            ),
            (
                ["mel@medcom.dk", "--from", "2020-01-01 00:00", "--to", "2020-01-02 00:00"],
                "--to 2020-01-02 00:00 CET is in the past: the override would change nothing",
            ),
            (
                ["mel@medcom.dk", "--to", "tomorrow"],
                "--to 'tomorrow' is not a time; write it as 'YYYY-MM-DD HH:MM' (Danish time)",
            ),
            (
                [
                    "mel@medcom.dk", "--replaces", "sae@medcom.dk",
                    "--from", "2031-03-25 00:00", "--to", "2031-03-26 00:00",
                ],
                "sae@medcom.dk is not on call at any time from 2031-03-25 00:00 CET to "
                "2031-03-26 00:00 CET: there is nobody to replace",
            ),
            (
                ["ibs@medcom.dk", "--from", "2031-03-25 00:00", "--to", "2031-04-02 00:00"],
                "ibs@medcom.dk is on call all the time from 2031-03-25 00:00 CET to "
                "2031-04-02 00:00 CEST already",
            ),
            (
                ["ibs@medcom.dk", "--replaces", "IBS@medcom.dk", "--to", "2031-04-02 00:00"],
                "ibs@medcom.dk cannot replace themselves",
            ),
        ],
    )  # fmt: skip
    def test_override_refused(self, rota_cli: Cli, arguments: list[str], message: str) -> None:
        result = rota_cli("oncall", "override", *arguments)
        assert result.exit_code == 1, result.output
        assert message in " ".join(result.output.split())
        assert override_count(rota_cli) == 0

    def test_remove_refused(self, rota_cli: Cli) -> None:
        result = rota_cli("oncall", "remove", "7")
        assert result.exit_code == 1
        assert "there is no override #7" in result.output
        rota_cli.ok("oncall", "override", "mel@medcom.dk", "--to", "2031-04-01 12:00")
        rota_cli.ok("oncall", "remove", "1")
        again = rota_cli("oncall", "remove", "1")
        assert again.exit_code == 1
        assert "override #1 was removed already, at " in again.output
        assert override_count(rota_cli) == 1

    def test_bad_rota_file_names_file_and_line(self, rota_cli: Cli, tmp_path: Path) -> None:
        rota = tmp_path / "contacts" / "rota.csv"
        rota.write_text("starts,emails\n2031-03-24 08:00,nobody@medcom.dk\n", encoding="utf-8")
        result = rota_cli("oncall", "now")
        assert result.exit_code == 1
        assert "rota.csv:2: nobody@medcom.dk is not an on-call person" in result.output
