"""A command that cannot work says why in one or two lines — what is wrong, where, what to
check — and exits 1; the traceback only under `--verbose` or `DISPATCHER_LOG_LEVEL=DEBUG`."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner, Result

from dispatcher.cli.app import app
from dispatcher.cli.errors import explain
from dispatcher.mailcatcher import free_port
from dispatcher.store.db import make_engine
from dispatcher.store.migrate import head_revision
from tests.cli.conftest import Cli, env_for
from tests.conftest import ROOT
from tests.support.databases import BACKENDS, PG_SERVER

NOWHERE = "postgresql://127.0.0.1:1/dispatcher"  # nothing listens on port 1
REFUSED = f"Error: cannot use the database {NOWHERE}: PostgreSQL at 127.0.0.1:1 refuses connections"
CHECK_PG = (
    "  check that PostgreSQL runs there and that DISPATCHER_DATABASE_URL names the right host "
    "and port"
)
needs_pg = pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL not tested")


def run(*args: str, url: str, **env: str | None) -> Result:
    return CliRunner().invoke(app, list(args), env={**env_for(url), **env})


def lines(result: Result) -> list[str]:
    return result.stderr.splitlines()


def test_a_locked_sqlite_database_fails_fast_and_plainly(cli: Cli, engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("a held write lock is SQLite's")
    cli.ok("incident", "trigger", "--summary", "FMK svarer ikke")
    before = cli.row_counts()
    path = engine.url.database
    assert path is not None
    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")  # what a stuck process or a backup would hold
        started = time.monotonic()
        result = cli("incident", "update", "1", "--message", "SDS forventer at FMK kører kl. 06.")
        waited = time.monotonic() - started
        holder.execute("ROLLBACK")

    assert result.exit_code == 1
    assert lines(result) == [
        f"Error: the database {path} is locked: another process holds its write lock",
        "  try again in a minute; if it stays locked, look for a stuck `dispatcher` command, a "
        "backup or an open `sqlite3` shell on that file",
    ]
    assert waited < 15, "the daemon's 30 s busy timeout is too long to keep a user waiting"
    assert cli.row_counts() == before


@pytest.mark.parametrize("command", [["incident", "list"], ["status"], ["db", "status"]])
def test_an_unsupported_database_url_is_named(command: list[str]) -> None:
    result = run(*command, url="mysql://fmk:hemmelig@db.medcom.dk/fmk")

    assert result.exit_code == 2
    assert lines(result) == [
        "Error: invalid configuration (environment):",
        "  DISPATCHER_DATABASE_URL: mysql:// is not supported: only sqlite:///PATH and "
        "postgresql://USER@HOST/DB are supported",
    ]
    assert "hemmelig" not in result.output


@pytest.mark.parametrize("command", [["incident", "list"], ["incident", "show", "1"], ["status"]])
def test_an_unreachable_postgresql_is_named_in_two_lines(command: list[str]) -> None:
    result = run(*command, url=NOWHERE)

    assert result.exit_code == 1
    assert lines(result) == [REFUSED, CHECK_PG]


@pytest.mark.slow
def test_serve_with_an_unreachable_postgresql_says_so_in_two_lines() -> None:
    """A real process, as systemd runs it: two lines on standard error, no traceback."""
    completed = subprocess.run(
        [sys.executable, "-m", "dispatcher", "serve"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            **{k: v for k, v in env_for(NOWHERE).items() if v is not None},
            "DISPATCHER_HTTP_PORT": str(free_port()),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [REFUSED, CHECK_PG]


@pytest.mark.parametrize(
    ("flag", "env"), [(["--verbose"], {}), ([], {"DISPATCHER_LOG_LEVEL": "DEBUG"})]
)
def test_the_traceback_comes_with_verbose_or_debug(flag: list[str], env: dict[str, str]) -> None:
    result = run(*flag, "incident", "list", url=NOWHERE, **env)

    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "psycopg.OperationalError" in result.stderr
    assert lines(result)[-2:] == [REFUSED, CHECK_PG]


@needs_pg
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"{PG_SERVER}/dispatcher_findes_ikke",
            [
                "PostgreSQL at 127.0.0.1:5432 has no database dispatcher_findes_ikke",
                "  create it (createdb) or correct the database name in DISPATCHER_DATABASE_URL",
            ],
        ),
        (
            "postgresql://ingen_rolle@127.0.0.1:5432/postgres",
            [
                "PostgreSQL at 127.0.0.1:5432 does not let user ingen_rolle in",
                "  check the user and password in DISPATCHER_DATABASE_URL and the server's "
                "pg_hba.conf",
            ],
        ),
        (
            "postgresql://postgres@db.invalid/dispatcher",
            [
                "the host db.invalid is not known",
                "  check the host name in DISPATCHER_DATABASE_URL and this host's DNS",
            ],
        ),
    ],
)
def test_postgresql_problems_say_what_to_check(url: str, expected: list[str]) -> None:
    result = run("incident", "list", url=url)

    assert result.exit_code == 1
    first, second = lines(result)
    assert first.startswith("Error: cannot use the database postgresql")
    assert [first.split(": ", 2)[2], second] == expected


def newer_schema(path: Path) -> tuple[str, str | None]:
    """A SQLite database migrated by a (pretended) newer version of the dispatcher; its URL
    and this version's newest revision."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0099')"))
    head = head_revision(engine)
    engine.dispose()
    return url, head


@pytest.mark.parametrize("command", [["incident", "list"], ["db", "upgrade"]])
def test_a_schema_from_a_newer_version_is_not_called_unmigrated(
    tmp_path: Path, command: list[str]
) -> None:
    url, head = newer_schema(tmp_path / "nyere.db")
    result = run(*command, url=url)

    assert result.exit_code == 1
    assert lines(result) == [
        f"Error: cannot use the database {url}: the schema is at revision 0099, which this "
        f"version of the dispatcher does not know (its newest is {head}): a newer version migrated "
        "it; run that version, or restore a backup"
    ]


def test_anything_else_is_called_a_bug() -> None:
    assert explain(RuntimeError("kaput\nmore"), None) == [
        "unexpected RuntimeError: kaput",
        "this is a bug: run the command again with --verbose and report what it prints",
    ]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["incident", "trigger"], 2),  # a required option is missing: click's usage error
        (["incident", "show", "one"], 2),
        (["no-such-command"], 2),
        (["incident", "show", "7"], 1),  # bad input the command itself finds
    ],
)
def test_exit_codes_are_as_the_readme_says(cli: Cli, args: list[str], code: int) -> None:
    assert cli(*args).exit_code == code
