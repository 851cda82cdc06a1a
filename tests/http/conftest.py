"""The HTTP app on the test database and the hand-moved clock, and acknowledgement links."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import Engine, create_engine, text

from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.http.app import create_app
from dispatcher.links import make_ack_token
from dispatcher.notices.render import NoticeRenderer
from dispatcher.runtime import Runtime
from tests.support.clock import FakeClock
from tests.support.databases import PG_SERVER

MakeLink = Callable[..., str]
BreakStore = Callable[[], None]


@pytest.fixture
def runtime(
    settings: Settings, engine: Engine, registry: Registry, renderer: NoticeRenderer
) -> Runtime:
    return Runtime(settings, engine, registry, renderer)


@pytest.fixture
async def client(runtime: Runtime, clock: FakeClock) -> AsyncIterator[AsyncClient]:
    """The app in process. (Starlette's TestClient warns about httpx; this is plain httpx.)"""
    transport = ASGITransport(app=create_app(runtime, clock))
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def make_link(settings: Settings, clock: FakeClock) -> MakeLink:
    """The path of an acknowledgement link, as the page mail would carry it."""

    def make(
        incident_id: int,
        person: str = "khs@medcom.dk",
        *,
        secret: str | None = None,
        issued_at: datetime | None = None,
    ) -> str:
        token = make_ack_token(
            secret if secret is not None else settings.link_secret.get_secret_value(),
            incident_id=incident_id,
            person=person,
            issued_at=issued_at or clock.now(),
        )
        return f"/ack/{token}"

    return make


@pytest.fixture
def break_store(engine: Engine) -> Iterator[BreakStore]:
    """Make the test database really fail from now on, as a lost database server would: on
    PostgreSQL it stops taking connections and its sessions are ended; a SQLite file is
    replaced by a folder. Every connection the engine makes afterwards fails."""
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    name = engine.url.database
    assert name is not None
    closed: list[str] = []

    def pg(sql: str) -> None:
        with admin.connect() as conn:
            conn.execute(text(sql))

    def break_it() -> None:
        engine.dispose()
        if engine.dialect.name == "sqlite":
            path = Path(name)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            path.mkdir()
            closed.append(str(path))
            return
        pg(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        closed.append(name)
        pg(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )

    yield break_it
    for broken in closed:
        if engine.dialect.name == "sqlite":
            shutil.rmtree(broken)
        else:
            pg(f'ALTER DATABASE "{broken}" ALLOW_CONNECTIONS true')
    admin.dispose()
