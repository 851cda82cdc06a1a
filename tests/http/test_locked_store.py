"""The read-only routes while another process holds the database's write lock: they read
without waiting for it, and `/readyz` answers within a second whatever holds its queries up."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.http.app import create_app
from dispatcher.incidents.service import trigger
from dispatcher.notices.render import NoticeRenderer
from dispatcher.runtime import Runtime
from tests.http.conftest import MakeLink
from tests.support.clock import FakeClock
from tests.support.incidents import fmk_down

READS = ("/status", "/status.json", "/status.atom", "/status/incidents/1", "/readyz", "/metrics")


@pytest.fixture
def write_lock(engine: Engine) -> Iterator[None]:
    """Another process's write transaction, open for the whole test (SQLite only)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL readers never wait for writers")
    assert engine.url.database is not None
    other = sqlite3.connect(Path(engine.url.database), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE incident SET details = details || ' (rettet)'")
    yield
    other.execute("ROLLBACK")
    other.close()


@pytest.mark.parametrize("path", [*READS, "ack"])
async def test_reads_do_not_wait_for_a_writer(
    runtime: Runtime,
    clock: FakeClock,
    client: httpx.AsyncClient,
    make_link: MakeLink,
    request: pytest.FixtureRequest,
    path: str,
) -> None:
    number, _ = trigger(runtime.dispatch, fmk_down(), clock.now())
    url = make_link(number) if path == "ack" else path
    request.getfixturevalue("write_lock")
    started = time.monotonic()
    answer = await client.get(url)
    assert time.monotonic() - started < 1.0
    assert answer.status_code == 200, answer.text
    if path == "/readyz":
        assert answer.json()["status"] == "ready"


async def test_readyz_gives_up_on_a_lock_within_a_second_and_names_the_check(
    engine: Engine, client: httpx.AsyncClient
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("an exclusive table lock is PostgreSQL's")
    assert engine.url.database is not None
    holder = create_engine(engine.url)
    try:
        with holder.connect() as conn, conn.begin():
            conn.execute(text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            answer = await client.get("/readyz")
            elapsed = time.monotonic() - started
    finally:
        holder.dispose()
    assert elapsed < 1.0
    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["database"] == {"ok": True}
    assert checks["schema"]["ok"] is False
    assert checks["schema"]["reason"].startswith("cannot read the schema revision: ")
    assert "timeout" in checks["schema"]["reason"]


async def test_readyz_answers_within_a_second_when_no_connection_is_free(
    database_url: str,
    settings: Settings,
    registry: Registry,
    renderer: NoticeRenderer,
    clock: FakeClock,
) -> None:
    """A pool that is used up would keep the check waiting 30 s for a connection."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    app = create_app(Runtime(settings, engine, registry, renderer), clock)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            with engine.connect() as held:
                held.execute(text("SELECT 1"))
                started = time.monotonic()
                answer = await client.get("/readyz")
                elapsed = time.monotonic() - started
            # The abandoned check now takes the connection (within 1 s): let it finish and
            # give it back, or it would go back to a disposed pool and never be closed.
            pool: Any = engine.pool
            for limit in (1, 10):
                deadline = time.monotonic() + limit
                while time.monotonic() < deadline and bool(pool.checkedout()) != (limit == 1):
                    await asyncio.sleep(0.01)
    finally:
        engine.dispose()
    assert elapsed < 1.0
    assert answer.status_code == 503
    assert answer.json()["checks"]["database"] == {
        "ok": False,
        "reason": "no answer within 0.8 s",
    }
