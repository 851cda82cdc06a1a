"""`dispatcher doctor` through the real command line, against a real database, a real SMTP
server on loopback and copies of the contacts and templates that a test may break."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from dispatcher.cli.app import app
from dispatcher.mailcatcher import MailCatcher
from tests.conftest import CONTACTS, TEMPLATES
from tests.contacts.conftest import replace_placeholders
from tests.support.databases import BACKENDS, PgDatabases
from tests.support.tls import Pki, make_pki

# The settings `dispatcher serve` accepts in production, besides the contacts.
PRODUCTION = {
    "DISPATCHER_ENV": "production",
    "DISPATCHER_WEBHOOK_SECRET": "sds-delt-hemmelighed-til-test-8d3f",
    "DISPATCHER_LINK_SECRET": "en-lang-tilfaeldig-noegle-til-links-5c1e9a",
    "DISPATCHER_PUBLIC_URL": "https://fmk-beredskab.medcom.dk",
}


@dataclass
class Doctor:
    """`dispatcher doctor` with a healthy setup in its environment; keyword arguments change
    (or, with None, unset) single settings."""

    env: dict[str, str | None]

    def __call__(self, *args: str, **env: str | None) -> Result:
        return CliRunner().invoke(app, ["doctor", *args], env={**self.env, **env})

    def checks(self, **env: str | None) -> dict[str, dict[str, Any]]:
        """The checks of `doctor --json`, by name."""
        result = self("--json", **env)
        assert result.exit_code in (0, 1), (result.output, result.exception)
        document = json.loads(result.stdout)
        assert document["ok"] is (result.exit_code == 0)
        return {check["name"]: check for check in document["checks"]}


@pytest.fixture
def contacts_dir(tmp_path: Path) -> Path:
    """The shipped registry with every placeholder replaced by a real-looking address."""
    target = tmp_path / "contacts"
    shutil.copytree(CONTACTS, target, ignore=shutil.ignore_patterns("*.md"))
    replace_placeholders(target)
    return target


@pytest.fixture
def templates_dir(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    shutil.copytree(TEMPLATES, target)
    return target


@pytest.fixture
def healthy_env(
    smtp: MailCatcher, contacts_dir: Path, templates_dir: Path
) -> dict[str, str | None]:
    """Everything but the database: the loopback SMTP server, finished contacts, templates."""
    return {
        "DISPATCHER_CONFIG": None,
        "DISPATCHER_ENV": "development",
        "DISPATCHER_CONTACTS_DIR": str(contacts_dir),
        "DISPATCHER_TEMPLATES_DIR": str(templates_dir),
        "DISPATCHER_SMTP_HOST": "127.0.0.1",
        "DISPATCHER_SMTP_PORT": str(smtp.port),
        "DISPATCHER_SMTP_TIMEOUT": "5",
        "COLUMNS": "250",
    }


@pytest.fixture
def doctor(healthy_env: dict[str, str | None], database_url: str) -> Doctor:
    """A healthy setup on each backend in turn, with a migrated database."""
    return Doctor({**healthy_env, "DISPATCHER_DATABASE_URL": database_url})


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of each backend that exists but was never migrated."""
    if request.param == "sqlite":
        path = tmp_path / "empty.db"
        path.write_bytes(b"")
        yield f"sqlite:///{path}"
        return
    databases: PgDatabases = request.getfixturevalue("pg_databases")
    url = databases.new(migrated=False)
    yield url
    databases.drop(url)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("doctor-pki"))
