"""`incident trigger --drill` and the scope options: what they say, and that bad input changes
nothing."""

from __future__ import annotations

import pytest

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

    def test_eoj_warns_about_unregistered_systems(self, cli: Cli) -> None:
        out = cli.ok(
            "incident", "trigger", *SUMMARY, "--eoj", "cura", "--municipalities", "183,740,101"
        )
        assert "Scope: 2 municipalities (kommuner med Cura, udvalgte kommuner)." in out
        assert "1 of them are included because their EOJ system is not registered" in out
        assert cli.incident(1).scope == "101,183"

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
