"""The demo refuses plainly, and touches nothing, when it cannot run here."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dispatcher.cli.app import app
from tests.conftest import CONTACTS, TEMPLATES


def invoke(cwd: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[int, str]:
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(app, ["demo"], env=env)
    return result.exit_code, " ".join(result.output.split())


class TestMissingFolders:
    """Without the contacts or templates folder the demo says which one and exits 1."""

    def test_no_contacts_folder(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        code, output = invoke(
            tmp_path,
            monkeypatch,
            DISPATCHER_CONTACTS_DIR="nowhere",
            DISPATCHER_TEMPLATES_DIR=str(TEMPLATES),
        )
        assert code == 1
        assert "the contacts folder nowhere does not exist" in output
        assert "DISPATCHER_CONTACTS_DIR" in output
        assert not (tmp_path / "var").exists()

    def test_no_templates_folder_from_the_flag(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        result = CliRunner().invoke(
            app,
            ["--templates-dir", "templates", "demo"],
            env={"DISPATCHER_CONTACTS_DIR": str(CONTACTS)},
        )
        output = " ".join(result.output.split())
        assert result.exit_code == 1
        assert "the templates folder templates does not exist: correct --templates-dir" in output
        assert not (tmp_path / "var").exists()


class TestDatabaseInUse:
    """A daemon holding the demo database keeps it: the demo refuses to recreate it."""

    def test_refuses_while_locked(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        mail = tmp_path / "var" / "mail"
        mail.mkdir(parents=True)
        (mail / "00001.eml").write_bytes(b"Subject: kept\r\n\r\n")
        (tmp_path / "var" / "demo.db").write_bytes(b"")
        with (tmp_path / "var" / "demo.db.daemon.lock").open("a+") as held:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held.write("4242")
            held.flush()
            code, output = invoke(
                tmp_path,
                monkeypatch,
                DISPATCHER_CONTACTS_DIR=str(CONTACTS),
                DISPATCHER_TEMPLATES_DIR=str(TEMPLATES),
            )
        assert code == 1
        assert "var/demo.db is in use" in output
        assert "pid 4242" in output
        assert (tmp_path / "var" / "demo.db").exists()
        assert (mail / "00001.eml").exists()
