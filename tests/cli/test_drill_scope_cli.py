"""`incident trigger --drill` and the scope options: what they say, and that bad input changes
nothing."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from sqlalchemy import select
from sqlmodel import Session

from dispatcher.store.tables import MessageRow
from tests.cli.conftest import Cli, table_rows

SUMMARY = ("--summary", "FMK svarer ikke i Region Hovedstaden")


class TestDrillFromTheCli:
    def test_a_drill_is_marked_everywhere(self, cli: Cli) -> None:
        out = cli.ok("incident", "trigger", *SUMMARY, "--drill")
        assert "Opened drill (ØVELSE) #1" in out
        assert "Queued the initial notice for Karina Hasager Hedevang, Iben Søgaard." in out
        assert cli.incident(1).drill
        assert "drill" in [entry.kind for entry in cli.timeline(1)]
        listed = table_rows(cli.ok("incident", "list"))
        assert listed[0][2].startswith("ØVELSE FMK svarer ikke")
        assert "Drill (ØVELSE) #1" in cli.ok("incident", "show", "1")

    def test_drill_municipalities_needs_drill(self, cli: Cli) -> None:
        before = cli.row_counts()
        result = cli("incident", "trigger", *SUMMARY, "--drill-municipalities")
        assert result.exit_code == 1
        assert "--drill-municipalities goes with --drill" in result.output
        assert cli.row_counts() == before


class TestScopeFromTheCli:
    def test_region_and_codes(self, cli: Cli) -> None:
        out = cli.ok("incident", "trigger", *SUMMARY, "--region", "hovedstaden")
        assert "Scope: 29 municipalities (Region Hovedstaden)." in out
        assert "Queued the initial notice for 29 municipalities, 3 vendor copies." in out
        row = cli.incident(1)
        assert row.scope_label == "Region Hovedstaden"
        assert row.scope is not None
        assert row.scope.split(",")[:2] == ["101", "147"]
        assert "Affects 29 municipalities: Region Hovedstaden" in cli.ok("incident", "show", "1")

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            (("--municipalities", "101,999"), "unknown municipality code 999"),
            (("--municipalities", "101,abc"), "--municipalities: 'abc' is not a municipality code"),
            (("--municipalities", " , "), "--municipalities names no code"),
            (("--region", "Skåne"), "no region matches 'Skåne'"),
            (("--eoj", "unknown"), "EOJ system 'unknown' cannot scope an outage"),
            (("--region", "hovedstaden", "--municipalities", "561"), "no municipality is in all"),
        ],
    )
    def test_bad_scope_changes_nothing(
        self, cli: Cli, options: tuple[str, ...], message: str
    ) -> None:
        before = cli.row_counts()
        result = cli("incident", "trigger", *SUMMARY, *options)
        assert result.exit_code == 1, result.output
        assert message in result.output
        assert cli.row_counts() == before


class TestUnregisteredEojSystems:
    """An --eoj scope with municipalities whose EOJ system the registry does not know (92 of
    the 98 shipped) is refused, saying how many, until the operator chooses --include-unknown
    or --only-known; the notices then say exactly who is told and why."""

    def test_refused_without_a_choice(self, cli: Cli) -> None:
        before = cli.row_counts()
        result = cli("incident", "trigger", *SUMMARY, "--eoj", "cura")
        assert result.exit_code == 1, result.output
        message = " ".join(result.output.split())
        assert "the registry has no EOJ system for 92 of the 96 municipalities" in message
        assert "--include-unknown tells all 96" in message
        assert "--only-known tells only the 4 registered with the system" in message
        assert cli.row_counts() == before

    def test_include_unknown(self, cli: Cli) -> None:
        out = cli.ok("incident", "trigger", *SUMMARY, "--eoj", "cura", "--include-unknown")
        assert "Scope: 96 municipalities (kommuner med Cura)." in out
        assert "92 of them are told only because the EOJ system is not registered" in out
        row = cli.incident(1)
        assert row.scope is not None
        assert row.scope_unknown is not None
        assert len(row.scope.split(",")) == 96
        assert len(row.scope_unknown.split(",")) == 92
        assert "(92 of them with an unregistered EOJ system)" in cli.timeline(1)[1].text

        said = affected_line(cli, 101)  # København: no system registered
        assert said.startswith("Nedbruddet rammer kun kommuner med Cura: ")
        assert "Vi ved ikke, hvilket EOJ-system 92 andre kommuner bruger, så de får også" in said
        known, unknown = said.split(" Vi ved ikke")
        assert known == (
            "Nedbruddet rammer kun kommuner med Cura: Ishøj Kommune, Odsherred Kommune, "
            "Esbjerg Kommune og Favrskov Kommune."
        )
        assert "København" in unknown

    def test_only_known(self, cli: Cli) -> None:
        out = cli.ok("incident", "trigger", *SUMMARY, "--eoj", "cura", "--only-known")
        assert "Scope: 4 municipalities (kommuner med Cura)." in out
        assert "92 municipalities whose EOJ system is not registered are not told" in out
        assert "Queued the initial notice for 4 municipalities, 1 vendor copy." in out
        row = cli.incident(1)
        assert row.scope is not None
        assert len(row.scope.split(",")) == 4
        assert row.scope_unknown is None
        code = int(row.scope.split(",")[0])
        said = affected_line(cli, code)
        assert said.startswith("Nedbruddet rammer kun 4 kommuner (kommuner med Cura): ")
        assert "EOJ-system" not in said

    def test_with_codes(self, cli: Cli) -> None:
        options = ("--eoj", "cura", "--municipalities", "183,740,101", "--include-unknown")
        out = cli.ok("incident", "trigger", *SUMMARY, *options)
        assert "Scope: 2 municipalities (kommuner med Cura, udvalgte kommuner)." in out
        assert "1 of them is told only because the EOJ system is not registered" in out
        assert (cli.incident(1).scope, cli.incident(1).scope_unknown) == ("101,183", "101")

    def test_a_scope_without_unknown_systems_needs_no_choice(self, cli: Cli) -> None:
        options = ("--eoj", "nexus", "--municipalities", "330,740")
        out = cli.ok("incident", "trigger", *SUMMARY, *options)
        assert "Scope: 2 municipalities (kommuner med Nexus, udvalgte kommuner)." in out
        assert "not registered" not in out
        assert (cli.incident(1).scope, cli.incident(1).scope_unknown) == ("330,740", None)

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            (("--include-unknown",), "--include-unknown or --only-known goes with --eoj"),
            (("--region", "sjælland", "--only-known"), "goes with --eoj"),
            (
                ("--eoj", "cura", "--include-unknown", "--only-known"),
                "--include-unknown and --only-known exclude each other",
            ),
        ],
    )
    def test_bad_choice_changes_nothing(
        self, cli: Cli, options: tuple[str, ...], message: str
    ) -> None:
        before = cli.row_counts()
        result = cli("incident", "trigger", *SUMMARY, *options)
        assert result.exit_code == 1, result.output
        assert message in " ".join(result.output.split())
        assert cli.row_counts() == before


def affected_line(cli: Cli, code: int) -> str:
    """The line of incident 1's initial notice to municipality `code` that says who it hits."""
    with Session(cli.engine) as session:
        raw = session.scalars(
            select(MessageRow.raw).where(MessageRow.audience == f"kommune-{code}")
        ).one()
    mail = message_from_bytes(raw, policy=default)
    assert isinstance(mail, EmailMessage)
    part = mail.get_body(("plain",))
    assert part is not None
    (line,) = [ln for ln in part.get_content().splitlines() if ln.startswith("Nedbruddet")]
    return line
