"""`dispatcher init DIR`: editable copies of the packaged templates and contacts and an example
config file pointing at them; existing files are left alone unless --force."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dispatcher.cli.app import app
from dispatcher.config import ENV_PREFIX, load_settings
from dispatcher.contacts.registry import load_registry
from dispatcher.defaults import packaged
from dispatcher.runtime import placeholder_refusals
from tests.conftest import CONTACTS, TEMPLATES


@pytest.fixture(autouse=True)
def no_dispatcher_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def init(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, ["init", *args], env={"COLUMNS": "250", **(env or {})})


def files_under(folder: Path) -> dict[Path, bytes]:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_writes_copies_and_a_config_that_points_at_them(tmp_path: Path) -> None:
    target = tmp_path / "medcom"

    result = init(str(target))

    assert result.exit_code == 0, result.output
    assert files_under(target / "contacts") == files_under(CONTACTS)
    assert files_under(target / "templates") == files_under(TEMPLATES)
    guidance = (target / "templates" / "guidance" / "standard.txt").read_text(encoding="utf-8")
    assert any(letter in guidance for letter in "æøå")
    settings = load_settings(target / "dispatcher.toml")
    assert settings.contacts_dir == target / "contacts"
    assert settings.templates_dir == target / "templates"
    output = " ".join(result.output.split())
    assert f"Wrote {len(files_under(target))} files to {target}:" in output
    assert "contacts/ (5 files)" in output
    assert "dispatcher.toml" in output
    assert f"`dispatcher --config {target / 'dispatcher.toml'} doctor`" in output


def test_the_config_works_from_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example config names the copies by absolute path, whatever the current folder."""
    assert init("medcom").exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    result = CliRunner().invoke(
        app, ["--config", str(tmp_path / "medcom" / "dispatcher.toml"), "templates", "check"]
    )

    assert result.exit_code == 0, result.output
    assert f"the templates in {tmp_path / 'medcom' / 'templates'} compile" in " ".join(
        result.output.split()
    )


def test_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    vendors = tmp_path / "medcom" / "contacts" / "vendors.csv"
    vendors.parent.mkdir(parents=True)
    vendors.write_text("mine\n", encoding="utf-8")

    result = init(str(tmp_path / "medcom"))

    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "1 file(s) exist already in" in output
    assert "contacts/vendors.csv" in output
    assert "nothing was written. Use --force to overwrite them." in output
    assert vendors.read_text(encoding="utf-8") == "mine\n"
    assert sorted(p.name for p in (tmp_path / "medcom").rglob("*")) == ["contacts", "vendors.csv"]


def test_a_second_init_names_the_files_and_force_overwrites(tmp_path: Path) -> None:
    assert init("medcom").exit_code == 0
    guidance = tmp_path / "medcom" / "templates" / "guidance" / "standard.txt"
    guidance.write_text("Ring til MedCom.\n", encoding="utf-8")

    again = init("medcom")

    assert again.exit_code == 1
    assert "file(s) exist already" in again.output
    assert "… and" in again.output
    assert guidance.read_text(encoding="utf-8") == "Ring til MedCom.\n"

    forced = init("medcom", "--force")

    assert forced.exit_code == 0, forced.output
    assert (
        guidance.read_bytes() == (packaged("templates") / "guidance" / "standard.txt").read_bytes()
    )


def test_production_still_refuses_the_placeholder_contacts_of_the_copies(tmp_path: Path) -> None:
    assert init("medcom").exit_code == 0
    config = tmp_path / "medcom" / "dispatcher.toml"
    settings = load_settings(config, env="production")

    refusals = placeholder_refusals(settings, load_registry(settings.contacts_dir))
    served = CliRunner().invoke(
        app, ["--config", str(config), "serve"], env={"DISPATCHER_ENV": "production"}
    )

    assert len(refusals) == 1
    assert (
        f"placeholder addresses (.example) remain in {tmp_path / 'medcom' / 'contacts'}"
        in (refusals[0])
    )
    assert served.exit_code == 1
    assert "refusing to start" in served.output
    assert "placeholder addresses (.example) remain in" in " ".join(served.output.split())


def test_import_refuses_to_write_into_the_packaged_copy(tmp_path: Path) -> None:
    """An upgrade would silently undo an import into the installed package's own files."""
    municipalities = packaged("contacts") / "municipalities.csv"
    before = municipalities.read_bytes()
    header, first, *_ = before.decode("utf-8").splitlines()
    code, name, eoj, gln, _emails = first.split(",")
    update = tmp_path / "update.csv"
    update.write_text(f"{header}\n{code},{name},{eoj},{gln},ny@kommune.dk\n", encoding="utf-8")

    result = CliRunner().invoke(app, ["contacts", "import", str(update), "--yes"])

    assert result.exit_code == 1
    assert "not importing into the packaged contacts" in " ".join(result.output.split())
    assert "dispatcher init DIR" in result.output
    assert municipalities.read_bytes() == before
