"""Issue #16: a POST sent on a keep-alive connection just as the server closes it for being idle.

httpx keeps an idle connection for 5 s and uvicorn used to close one after 5 s, so a test
client that sent its next request after about 5 s idle could send it into a connection the
server was closing: `httpx.ReadError`, though the daemon was fine. Here the daemon closes idle
connections after 1 s (`DISPATCHER_HTTP_KEEPALIVE`), and the test keeps the event loop busy
while that second passes, as a loaded machine does: the client still finds its connection
open, and the server's close runs while the request goes out. That reproduces the race every
time, shows that the tests' client (tests/support/http.py) cannot hit it, and that resending
the same event after the connection error is safe.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from dispatcher.store.db import transaction
from dispatcher.store.tables import SignalRow
from tests.e2e.conftest import Running

KEEPALIVE = 1.0


@pytest.fixture
def daemon_settings() -> dict[str, Any]:
    return {"http_keepalive": timedelta(seconds=KEEPALIVE)}


def busy_while_the_keepalive_runs_out() -> None:
    """Block the event loop (the daemon's and the client's) past the server's idle deadline."""
    time.sleep(KEEPALIVE + 0.3)


def signals(engine: Engine) -> int:
    with transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(SignalRow)) or 0


async def test_a_reused_connection_the_server_is_closing_fails_and_a_resend_is_safe(
    running: Running, engine: Engine
) -> None:
    async with httpx.AsyncClient(base_url=running.base, timeout=10) as pooled:
        assert (await running.signal("heartbeat", "hb-1", via=pooled)).status_code == 200
        busy_while_the_keepalive_runs_out()
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            await running.signal("heartbeat", "hb-2", via=pooled)
        resent = await running.signal("heartbeat", "hb-2", via=pooled)
        assert (resent.status_code, resent.json()) == (
            200,
            {"action": "heartbeat", "resumed": False},
        )
        again = await running.signal("heartbeat", "hb-2", via=pooled)
        assert again.json() == {"action": "heartbeat", "resumed": False, "duplicate": True}
    assert signals(engine) == 2


async def test_the_tests_client_cannot_hit_it(running: Running, engine: Engine) -> None:
    assert (await running.signal("heartbeat", "hb-1")).status_code == 200
    busy_while_the_keepalive_runs_out()
    answer = await running.signal("heartbeat", "hb-2")
    assert (answer.status_code, answer.json()) == (200, {"action": "heartbeat", "resumed": False})
    assert signals(engine) == 2


async def test_the_daemon_closes_an_idle_connection_after_the_setting(running: Running) -> None:
    port = int(running.base.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: dispatcher\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    answered = time.monotonic()
    rest = await asyncio.wait_for(reader.read(), timeout=KEEPALIVE + 5)
    idle = time.monotonic() - answered
    writer.close()
    assert rest.startswith(b"{")  # the body; then the server closed the connection
    assert KEEPALIVE - 0.1 < idle < KEEPALIVE + 2
