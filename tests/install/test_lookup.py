"""Where the contacts and templates come from: the flag, then `DISPATCHER_*_DIR`, then the
config file, then the copy inside the package; the doctor says which one is in use."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dispatcher.cli.app import app
from dispatcher.config import ENV_PREFIX, load_settings
from dispatcher.defaults import FOLDERS, PACKAGED_DEFAULT, Folder, origin, packaged, setting
from tests.conftest import CONTACTS, TEMPLATES

SHIPPED = {"contacts": CONTACTS, "templates": TEMPLATES}


@pytest.fixture(autouse=True)
def no_dispatcher_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


def write_config(path: Path, **values: Path) -> Path:
    lines = [f"{name} = {json.dumps(str(value))}" for name, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("folder", FOLDERS)
def test_each_level_wins_over_the_next(
    folder: Folder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = setting(folder)
    config = write_config(tmp_path / "dispatcher.toml", **{name: tmp_path / "from-config"})
    monkeypatch.setenv(f"{ENV_PREFIX}{name.upper()}", str(tmp_path / "from-env"))
    flags = {name: tmp_path / "from-flag"}

    def used(config_file: Path | None, flags: dict[str, Path]) -> tuple[Path, str]:
        settings = load_settings(config_file, **flags)
        return getattr(settings, name), origin(settings, folder, flags)

    assert used(config, flags) == (tmp_path / "from-flag", f"from --{folder}-dir")
    assert used(config, {}) == (tmp_path / "from-env", f"from DISPATCHER_{folder.upper()}_DIR")
    monkeypatch.delenv(f"{ENV_PREFIX}{name.upper()}")
    assert used(config, {}) == (tmp_path / "from-config", f"from the config file {config}")
    assert used(None, {}) == (packaged(folder), PACKAGED_DEFAULT)


@pytest.mark.parametrize("folder", FOLDERS)
def test_the_packaged_copy_is_the_top_level_folder_in_a_checkout(folder: Folder) -> None:
    """In a checkout (the editable install) the package's folders are the top-level ones, so
    an edit there is what the dispatcher uses; a wheel carries copies of them."""
    assert packaged(folder) == SHIPPED[folder].resolve()


def test_the_flags_reach_the_commands(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    runner = CliRunner()

    templates = runner.invoke(app, ["--templates-dir", str(empty), "templates", "check"])
    contacts = runner.invoke(app, ["--contacts-dir", str(empty), "contacts", "list"])

    assert templates.exit_code == 1
    assert f"problem(s) in the templates in {empty}" in " ".join(templates.output.split())
    assert contacts.exit_code == 1
    assert f"the contact registry in {empty} does not load" in " ".join(contacts.output.split())


def doctor_checks(*args: str) -> dict[str, str]:
    """`dispatcher ARGS doctor --json`: each check's message, by name."""
    result = CliRunner().invoke(
        app, [*args, "doctor", "--json"], env={"DISPATCHER_SMTP_TIMEOUT": "2", "COLUMNS": "250"}
    )
    assert result.exit_code in (0, 1), (result.output, result.exception)
    return {check["name"]: check["message"] for check in json.loads(result.stdout)["checks"]}


class TestDoctorNamesTheSource:
    def test_packaged_default(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        checks = doctor_checks()
        assert checks["contacts"].startswith(f"{packaged('contacts')} (packaged default): 98 ")
        assert f"render from {packaged('templates')} (packaged default): " in checks["templates"]

    def test_flag_and_config_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        config = write_config(tmp_path / "dispatcher.toml", templates_dir=TEMPLATES)
        checks = doctor_checks("--config", str(config), "--contacts-dir", str(CONTACTS))
        assert checks["contacts"].startswith(f"{CONTACTS} (from --contacts-dir): 98 ")
        assert f"render from {TEMPLATES} (from the config file {config}): " in (checks["templates"])
