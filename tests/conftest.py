"""Fixtures shared by the whole suite: a fresh database per test on every backend, a real SMTP
server on loopback, a hand-moved clock, and the dispatch services wired to them."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from sqlalchemy import Engine

from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.contacts.registry import load_registry
from dispatcher.core.model import Policy
from dispatcher.incidents.service import Dispatch
from dispatcher.mailcatcher import CatcherHandler, MailCatcher
from dispatcher.notices.render import NoticeRenderer, standard_guidance
from dispatcher.outbox.sender import Sender
from dispatcher.store.db import make_engine
from tests.support.clock import FakeClock
from tests.support.databases import BACKENDS, PgDatabases, SqliteDatabases
from tests.support.workers import SharedFixtureScheduling

# pytest imports GNU readline before it captures output (_pytest/capture.py), and readline
# exports COLUMNS=80 and LINES=24 when no terminal is attached, which pytest-xdist's workers
# inherit. The CLI's rich consoles (dispatcher/cli/context.py) are made at import and take
# COLUMNS then, so the width a test gives a command (COLUMNS in CliRunner's env) was ignored.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)

ROOT = Path(__file__).resolve().parents[1]
CONTACTS = ROOT / "contacts"
TEMPLATES = ROOT / "templates"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first (in their order), so that under pytest-xdist no worker is still
    on a long test when the others have run out of work."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `-n N`: each test on the next free worker, in collection order, except the
    groups of `tests.support.workers.SHARE_A_WORKER`, which share one expensive fixture."""
    if config.getoption("dist") != "load":
        return None
    return SharedFixtureScheduling(config, log)


@pytest.fixture(autouse=True)
def fresh_logging() -> Iterator[None]:
    """Each test starts with structlog's defaults and the root logger as it found it: a CLI
    command configures logging for the process, which would leak into the next test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    databases = PgDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> SqliteDatabases:
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite"))


@contextmanager
def fresh_database(request: pytest.FixtureRequest, backend: str) -> Iterator[str]:
    """A fresh, migrated, empty database of `backend`, dropped (PostgreSQL) when it is done."""
    if backend != "postgresql":
        yield request.getfixturevalue("sqlite_databases").new()
        return
    databases: PgDatabases = request.getfixturevalue("pg_databases")
    url = databases.new()
    yield url
    databases.drop(url)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, migrated, empty database of each backend in turn."""
    with fresh_database(request, request.param) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry(CONTACTS)


@pytest.fixture(scope="session")
def renderer() -> NoticeRenderer:
    return NoticeRenderer(TEMPLATES)


@pytest.fixture
def smtp_handler() -> CatcherHandler:
    """Replace in a test module to script the server's answers."""
    return CatcherHandler()


@pytest.fixture
def smtp(smtp_handler: CatcherHandler) -> Iterator[MailCatcher]:
    with MailCatcher(smtp_handler) as catcher:
        yield catcher


@pytest.fixture
def settings(database_url: str, smtp: MailCatcher) -> Settings:
    return Settings(
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        contacts_dir=CONTACTS,
        templates_dir=TEMPLATES,
        smtp_timeout=5,
    )


@pytest.fixture
def dispatch(engine: Engine, registry: Registry, renderer: NoticeRenderer) -> Dispatch:
    return Dispatch(
        engine=engine,
        registry=registry,
        renderer=renderer,
        # The follow-up of the silent (reminder, call list) has its own tests; here it would
        # add notices to every test that moves the clock past 30 minutes.
        policy=Policy(reminder_after=timedelta(0), call_list_after=timedelta(0)),
        standard_guidance=standard_guidance(TEMPLATES),
    )


@pytest.fixture
async def sender(engine: Engine, settings: Settings, clock: FakeClock) -> AsyncIterator[Sender]:
    """The real sender on the test clock, talking to the loopback SMTP server."""
    sender = Sender(engine, settings, clock)
    yield sender
    await sender.close()
