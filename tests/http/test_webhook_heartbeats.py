"""Heartbeats at the webhook: they wake the senders only when they may have queued a page (a
heartbeat stream no longer sets the sender claiming from the queue at every request,
docs/performance.md, "Intake"), and their lazy commit (signals.durability) answers a failing
database with the same 503 as every other signal, while a connection the database cut off
between two heartbeats is retried, not a 503."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.http.app import create_app
from dispatcher.notices.render import NoticeRenderer
from dispatcher.runtime import Runtime
from dispatcher.signals import durability
from dispatcher.signals.auth import sign
from dispatcher.store.db import is_sqlite
from tests.http.conftest import BreakStore
from tests.http.test_webhook import HEARTBEAT, OUTAGE, PATH, SECRET, encode
from tests.signals.test_one_statement import make_other_engine, terminate_others
from tests.support.clock import FakeClock


class Post:
    def __init__(self, client: httpx.AsyncClient, clock: FakeClock, wakes: list[int]) -> None:
        self.client = client
        self.clock = clock
        self.wakes = wakes

    async def response(self, payload: dict[str, Any]) -> httpx.Response:
        body = encode(payload)
        stamp = int(self.clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "X-SDS-Timestamp": str(stamp),
            "X-SDS-Signature": sign(SECRET.encode(), stamp, body),
        }
        return await self.client.post(PATH, content=body, headers=headers)

    async def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        response = await self.response(payload)
        assert response.status_code < 300, response.text
        answer: dict[str, Any] = response.json()
        return answer


@pytest.fixture
async def post(
    settings: Settings,
    engine: Engine,
    registry: Registry,
    renderer: NoticeRenderer,
    clock: FakeClock,
) -> AsyncIterator[Post]:
    wakes: list[int] = []
    runtime = Runtime(
        settings.model_copy(update={"webhook_secret": SecretStr(SECRET)}),
        engine,
        registry,
        renderer,
    )
    app = create_app(runtime, clock, wake_senders=lambda: wakes.append(1))
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Post(client, clock, wakes)


async def test_a_heartbeat_and_its_repeat_wake_nobody(post: Post) -> None:
    assert (await post(HEARTBEAT))["action"] == "heartbeat"
    assert (await post({**HEARTBEAT, "event_id": "sds-hb-0002"}))["resumed"] is False
    assert (await post(HEARTBEAT))["duplicate"] is True
    assert post.wakes == []


async def test_an_outage_wakes_the_senders_and_its_repeat_does_not(post: Post) -> None:
    assert (await post(OUTAGE))["action"] == "opened"
    assert post.wakes == [1]
    assert (await post(OUTAGE))["duplicate"] is True
    assert post.wakes == [1]


async def test_a_heartbeat_to_a_failing_database_is_a_503_to_retry(
    post: Post, break_store: BreakStore
) -> None:
    assert (await post(HEARTBEAT))["action"] == "heartbeat"
    break_store()
    failed = await post.response({**HEARTBEAT, "event_id": "sds-hb-0002"})
    assert failed.status_code == 503, failed.text
    assert failed.json()["error"] == "database_unavailable"
    assert "Retry-After" in failed.headers


async def test_a_disk_that_refuses_the_sync_is_a_503_to_retry(
    post: Post, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first heartbeat starts the watch and is synced before its answer (signals.durability);
    an fsync that fails (EIO, a full disk) is answered as a database that is not there."""
    if not is_sqlite(engine):
        pytest.skip("the WAL file synced by the dispatcher is SQLite's")

    def refuse(_descriptor: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(durability.os, "fsync", refuse)
    failed = await post.response(HEARTBEAT)
    assert failed.status_code == 503, failed.text
    assert failed.json()["error"] == "database_unavailable"
    monkeypatch.undo()
    assert (await post(HEARTBEAT))["duplicate"] is True  # committed, then answered as a repeat


async def test_a_heartbeat_after_the_server_cut_the_connection_off_is_answered(
    post: Post, engine: Engine
) -> None:
    """PostgreSQL restarted, or the backend was terminated, between two heartbeats: the pool
    does not ping a connection in steady use (store.db), so the second heartbeat meets the dead
    connection and is tried again on a new one, not answered 503 (signals.service)."""
    if is_sqlite(engine):
        pytest.skip("the SQLite engine has no server to lose")
    assert (await post(HEARTBEAT))["action"] == "heartbeat"
    assert (await post({**HEARTBEAT, "event_id": "sds-hb-0002"}))["resumed"] is False
    other = make_other_engine(engine)
    try:
        assert terminate_others(other) >= 1
    finally:
        other.dispose()
    answer = await post({**HEARTBEAT, "event_id": "sds-hb-0003"})
    assert answer == {"action": "heartbeat", "resumed": False}
