"""The read-only commands answer at once, and `serve` starts without Alembic on a database at
the head: each loads only what it uses. A fresh interpreter runs the command against a
migrated database and says which modules it loaded, so the test suite's own imports do not
hide a regression."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# What a migrated database never needs: Alembic is for migrating and explaining a mismatch.
MIGRATIONS = ("alembic", "dispatcher.store.migrate")
# `incident list` is one query: no ORM, no registry, no templates, nothing of the daemon.
NOT_FOR_THE_LIST = (
    *MIGRATIONS,
    "sqlmodel",
    "dispatcher.store.tables",
    "dispatcher.store.db",
    "dispatcher.runtime",
    "dispatcher.contacts.registry",
    "email_validator",
    "jinja2",
    "dispatcher.notices.render",
    "dispatcher.incidents.service",
    "fastapi",
    "uvicorn",
    "apscheduler",
    "aiosmtplib",
)
# A daemon without bounce reading or SMS configured, sending no maintenance notice yet.
NOT_FOR_SERVE = (
    *MIGRATIONS,
    "imapclient",
    "flufl.bounce",
    "httpx",
    "jwt",
    "icalendar",
)

RUN_COMMAND = (
    "import json, sys\nfrom dispatcher.cli.app import app\n"
    "try:\n    app(sys.argv[1:])\nexcept SystemExit as exc:\n    code = exc.code\n"
    "print(json.dumps([code, sorted(sys.modules)]), file=sys.stderr)"
)

START_DAEMON = """
import asyncio, json, os, sys
from dispatcher.clock import SystemClock
from dispatcher.config import load_settings
from dispatcher.daemon.serve import Daemon
from dispatcher.runtime import build
from dispatcher.store import schema

runtime = build(load_settings(None))
migrated = schema.upgrade_if_behind(runtime.engine)

async def construct() -> None:
    Daemon(runtime, SystemClock())

asyncio.run(construct())
print(json.dumps([migrated, sorted(sys.modules)]))
"""


def _environment(database_url: str) -> dict[str, str]:
    return {**os.environ, "DISPATCHER_DATABASE_URL": database_url}


def loaded_by(database_url: str, *args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", RUN_COMMAND, *args],
        capture_output=True,
        text=True,
        check=False,
        env=_environment(database_url),
    )
    code, modules = json.loads(done.stderr.strip().splitlines()[-1])
    assert code in (0, None, 1), done.stderr  # `status` exits 1 when no replica leads
    return set(modules)


def test_incident_list_loads_one_query_and_nothing_else(database_url: str) -> None:
    loaded = loaded_by(database_url, "incident", "list")
    assert sorted(m for m in NOT_FOR_THE_LIST if m in loaded) == []


@pytest.mark.parametrize("command", [["incident", "show", "1"], ["status"]])
def test_other_read_only_commands_do_not_load_alembic(
    database_url: str, command: list[str]
) -> None:
    loaded = loaded_by(database_url, *command)
    assert sorted(m for m in MIGRATIONS if m in loaded) == []


def test_serve_on_a_database_at_the_head_loads_no_alembic(database_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", START_DAEMON],
        capture_output=True,
        text=True,
        check=True,
        env=_environment(database_url),
    )
    migrated, modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert migrated is False
    assert sorted(m for m in NOT_FOR_SERVE if m in set(modules)) == []
