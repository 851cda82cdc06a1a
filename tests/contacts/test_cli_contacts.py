"""`dispatcher contacts check|list|import` through the real command line."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dispatcher.cli.app import app
from tests.contacts.conftest import replace_placeholders, set_line, write_lines

HEADER = "code,name,eoj_system,sor_gln,emails"


Invoke = Callable[..., Result]


@pytest.fixture
def run(contacts_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.delenv("DISPATCHER_CONFIG", raising=False)
    env = {"DISPATCHER_CONTACTS_DIR": str(contacts_dir), "DISPATCHER_ENV": "development"}
    env["COLUMNS"] = "200"

    def invoke(*args: str, **extra_env: str) -> Result:
        return CliRunner().invoke(app, ["contacts", *args], env={**env, **extra_env})

    return invoke


def table_codes(output: str) -> list[int]:
    """The municipality codes in the first column of a `contacts list` table."""
    return [int(code) for code in re.findall(r"^│ (\d{3}) ", output, flags=re.MULTILINE)]


# check


def test_check_reports_shipped_placeholders_and_fails(run: Invoke) -> None:
    result = run("check")

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "placeholder municipalities.csv:2: placeholder address "
        "fmk-beredskab@koebenhavn.kommune.example must be replaced"
    )
    assert "placeholder escalation.csv:6: placeholder address fmk-beredskab@medcom.example" in (
        result.stdout
    )
    assert lines[-1] == "0 error(s), 103 placeholder address(es)"
    assert len(lines) == 104


def test_check_in_production_says_placeholders_are_refused(run: Invoke) -> None:
    result = run("check", DISPATCHER_ENV="production")

    assert result.exit_code == 1
    assert "fmk-beredskab@kmd.example is not allowed in production" in result.stdout


def test_check_clean_registry(run: Invoke, contacts_dir: Path) -> None:
    replace_placeholders(contacts_dir)

    result = run("check")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "ok: 98 municipalities, 3 vendors, 2 on-call, 1 fallback; "
        "no rota (every on-call person at all times)\n"
    )


def test_check_reports_errors_with_file_and_line(run: Invoke, contacts_dir: Path) -> None:
    replace_placeholders(contacts_dir)
    set_line(contacts_dir / "municipalities.csv", 17, "999,Atlantis,,,fmk@atlantis.dk")

    result = run("check")

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "error municipalities.csv:17: unknown municipality code 999",
        "error municipalities.csv: municipality 185 Tårnby is missing",
        "2 error(s), 0 placeholder address(es)",
    ]


# list


def test_list_all_keeps_danish_letters(run: Invoke) -> None:
    result = run("list")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("98 municipalities")
    assert len(table_codes(result.stdout)) == 98
    assert re.search(r"│ 492 +│ Ærø +│ Syddanmark +│ unknown │", result.stdout)
    assert re.search(r"│ 169 +│ Høje-Taastrup +│ Hovedstaden +│", result.stdout)
    assert "fmk-beredskab@hoeje-taastrup.kommune.example" in result.stdout


@pytest.mark.parametrize(
    ("region", "count", "member"),
    [("hovedstaden", 29, 101), ("1084", 29, 101), ("Sjælland", 17, 330), ("nord", 11, 825)],
)
def test_list_by_region(run: Invoke, region: str, count: int, member: int) -> None:
    result = run("list", "--region", region)

    assert result.exit_code == 0, result.output
    codes = table_codes(result.stdout)
    assert len(codes) == count
    assert member in codes
    assert 751 not in codes  # Aarhus is in Midtjylland


def test_list_by_eoj_and_region(run: Invoke) -> None:
    cura = run("list", "--eoj", "cura")
    sjaelland_cura = run("list", "--region", "sjælland", "--eoj", "CURA")

    assert table_codes(cura.stdout) == [183, 306, 561, 710]
    assert table_codes(sjaelland_cura.stdout) == [306]
    assert sjaelland_cura.stdout.splitlines()[0].strip() == "1 municipality"


def test_list_rejects_unknown_eoj(run: Invoke) -> None:
    result = run("list", "--eoj", "columna")

    assert result.exit_code == 2
    assert "Invalid value for '--eoj'" in result.output


def test_list_rejects_unknown_region(run: Invoke) -> None:
    result = run("list", "--region", "Skåne")

    assert result.exit_code == 1
    assert "no region matches 'Skåne'" in result.stderr
    assert "1084 Region Hovedstaden" in result.stderr


def test_list_fails_when_registry_is_broken(run: Invoke, contacts_dir: Path) -> None:
    set_line(contacts_dir / "vendors.csv", 2, "kmd,KMD,nexus")

    result = run("list")

    assert result.exit_code == 1
    assert "error vendors.csv:2: 3 fields; expected 4 (key,name,system,emails)" in result.stdout
    assert "does not load" in result.stderr
    assert not table_codes(result.stdout)


# import


def write_update(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "opdatering.csv"
    write_lines(path, [HEADER, *rows])
    return path


def test_import_dry_run_shows_diff_and_changes_nothing(
    run: Invoke, contacts_dir: Path, tmp_path: Path
) -> None:
    target = contacts_dir / "municipalities.csv"
    before = target.read_bytes()
    update = write_update(tmp_path, "492,Ærø,nexus,5790000123452,fmk@aeroe.dk")

    result = run("import", str(update))

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "492 Ærø",
        "  + fmk@aeroe.dk",
        "  - fmk-beredskab@aeroe.kommune.example",
        "  EOJ: unknown → nexus",
        "  GLN: none → 5790000123452",
        "Nothing changed; run again with --yes to apply",
    ]
    assert target.read_bytes() == before


def test_import_yes_applies(run: Invoke, contacts_dir: Path, tmp_path: Path) -> None:
    update = write_update(tmp_path, "169,Høje-Taastrup,,,fmk@htk.dk")

    result = run("import", str(update), "--yes")

    assert result.exit_code == 0, result.output
    assert "Applied: 1 municipality updated in" in result.stdout
    listed = run("list", "--region", "1084")
    assert re.search(r"│ 169 +│ Høje-Taastrup +│ .*│ fmk@htk\.dk +│", listed.stdout)
    again = run("import", str(update), "--yes")
    assert again.stdout == "no changes\n"


def test_import_with_one_broken_row_changes_nothing(
    run: Invoke, contacts_dir: Path, tmp_path: Path
) -> None:
    target = contacts_dir / "municipalities.csv"
    before = target.read_bytes()
    update = write_update(
        tmp_path,
        "101,København,nexus,,fmk@kk.dk",
        "147,Frederiksberg,cura,,fmk@frb.dk,extra",
        "151,Ballerup,,,fmk@ballerup.dk",
    )

    result = run("import", str(update), "--yes")

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"error {update}:3: 6 fields; expected 5 (code,name,eoj_system,sor_gln,emails)"
    ]
    assert "nothing imported: 1 error(s)" in result.stderr
    assert target.read_bytes() == before
