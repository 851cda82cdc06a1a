"""The CLI answers at once: importing it loads none of the heavy libraries the commands use
(the database, the web server, the scheduler, SMTP, templates, settings); each command imports
what it needs when it runs. A fresh interpreter is asked, so the test suite's own imports do
not hide a regression."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "psycopg",
    "pydantic",
    "pydantic_settings",
    "fastapi",
    "starlette",
    "uvicorn",
    "apscheduler",
    "aiosmtplib",
    "aiosmtpd",
    "jinja2",
    "structlog",
    "email_validator",
    "dispatcher.config",
    "dispatcher.daemon.serve",
    "dispatcher.demo.run",
    "dispatcher.doctor.checks",
    "dispatcher.store.db",
)

LOADED = "import json, sys, dispatcher.cli.app; print(json.dumps(sorted(sys.modules)))"


def test_importing_the_cli_loads_no_heavy_module() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOADED], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout))
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_help_loads_no_heavy_module() -> None:
    """`dispatcher --help` goes through the root callback's parser, not only the import."""
    script = (
        "import json, sys\nfrom dispatcher.cli.app import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True
    )
    loaded = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert sorted(m for m in HEAVY if m in loaded) == []
