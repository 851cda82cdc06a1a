"""Fixtures for the failover tests, and a summary of the takeover times they measured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from dispatcher.store.db import make_engine
from tests.support.daemon import DaemonProcess
from tests.support.databases import PgDatabases

MEASURED = (
    "takeover_s",
    "finished_s",
    "update_late_s",
    "pg_down_s",
    "leader_back_s",
    "handover_s",
)


@pytest.fixture
def pg_url(pg_databases: PgDatabases) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database: HA needs PostgreSQL."""
    url = pg_databases.new()
    yield url
    pg_databases.drop(url)


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    """Daemon processes a test started; any still running at the end are killed."""
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        daemon.stop_quietly()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the times the failover tests measured (seconds), so a run reports them."""
    rows = []
    for key in ("passed", "failed", "xfailed", "xpassed"):
        for report in terminalreporter.stats.get(key, []):
            if getattr(report, "when", None) != "call" or "tests/ha/" not in report.nodeid:
                continue
            measured = {k: v for k, v in report.user_properties if k in MEASURED}
            if measured:
                shown = "  ".join(f"{k}={v}" for k, v in measured.items())
                rows.append(f"{report.nodeid.split('::', 1)[1]}: {shown}")
    if rows:
        terminalreporter.write_sep("-", "failover timings (seconds)")
        for row in rows:
            terminalreporter.write_line(row)
