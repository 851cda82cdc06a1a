"""The HTTP app on the test database and the hand-moved clock, and acknowledgement links."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import Engine

from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.http.app import create_app
from dispatcher.links import make_ack_token
from dispatcher.notices.render import NoticeRenderer
from dispatcher.runtime import Runtime
from tests.support.clock import FakeClock

MakeLink = Callable[..., str]


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
