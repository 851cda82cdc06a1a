"""`/v2/enqueue` answers as PagerDuty's Events API v2 does: trigger, acknowledge and resolve
with one `dedup_key` act on one incident; malformed, oversized, wrong-key and too frequent
requests get PagerDuty's status codes and change nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr
from sqlalchemy import Engine, func, select
from sqlmodel import col

from dispatcher.http.app import create_app
from dispatcher.runtime import Runtime
from dispatcher.store.db import transaction
from dispatcher.store.tables import IncidentRow, SignalRow
from tests.support.clock import FakeClock

KEY = "0123456789abcdef0123456789abcdef"
TRIGGER: dict[str, Any] = {
    "routing_key": KEY,
    "event_action": "trigger",
    "dedup_key": "fmk-probe-1",
    "payload": {
        "summary": "FMK svarer ikke",
        "source": "zabbix.sds.example",
        "severity": "critical",
    },
}


@pytest.fixture
async def pd(runtime: Runtime, clock: FakeClock) -> AsyncIterator[AsyncClient]:
    settings = runtime.settings.model_copy(
        update={
            "pagerduty_routing_key": SecretStr(KEY),
            "recovery_window": 0,
            "pagerduty_rate_limit": 5,
        }
    )
    app = create_app(Runtime(settings, runtime.engine, runtime.registry, runtime.renderer), clock)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


def incidents(engine: Engine) -> list[tuple[str, str | None]]:
    with transaction(engine) as session:
        rows = session.execute(
            select(col(IncidentRow.status), col(IncidentRow.owner)).order_by(col(IncidentRow.id))
        )
        return [(s, o) for s, o in rows]


def signals(engine: Engine) -> int:
    with transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(SignalRow)) or 0


async def send(client: AsyncClient, body: dict[str, Any] | bytes) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post(
        "/v2/enqueue", content=content, headers={"Content-Type": "application/json"}
    )


class TestOneIncidentPerDedupKey:
    async def test_trigger_acknowledge_resolve(self, pd: AsyncClient, engine: Engine) -> None:
        answer = await send(pd, TRIGGER)
        assert (answer.status_code, answer.json()) == (
            202,
            {"status": "success", "message": "Event processed", "dedup_key": "fmk-probe-1"},
        )
        again = await send(pd, {**TRIGGER, "payload": {**TRIGGER["payload"], "summary": "Stadig"}})
        assert again.status_code == 202
        assert incidents(engine) == [("triggered", None)]
        ack = {"routing_key": KEY, "event_action": "acknowledge", "dedup_key": "fmk-probe-1"}
        assert (await send(pd, ack)).status_code == 202
        assert (await send(pd, ack)).status_code == 202  # twice: PagerDuty accepts it again
        assert incidents(engine) == [("acknowledged", "pagerduty")]
        resolve = {**ack, "event_action": "resolve"}
        assert (await send(pd, resolve)).status_code == 202
        assert incidents(engine) == [("resolved", "pagerduty")]

    async def test_another_dedup_key_does_not_resolve_it(
        self, pd: AsyncClient, engine: Engine
    ) -> None:
        await send(pd, TRIGGER)
        other = {"routing_key": KEY, "event_action": "resolve", "dedup_key": "something-else"}
        assert (await send(pd, other)).status_code == 202
        assert incidents(engine) == [("triggered", None)]

    async def test_a_trigger_without_dedup_key_gets_one(self, pd: AsyncClient) -> None:
        body = {k: v for k, v in TRIGGER.items() if k != "dedup_key"}
        answer = await send(pd, body)
        assert answer.status_code == 202
        assert len(answer.json()["dedup_key"]) == 32


class TestRefusals:
    @pytest.mark.parametrize(
        ("body", "error"),
        [
            (b"{not json", "not valid JSON"),
            (b"[]", "must be a JSON object"),
            ({**TRIGGER, "event_action": "explode"}, "'event_action' is invalid"),
            ({**TRIGGER, "payload": {"source": "x", "severity": "critical"}}, "'payload.summary'"),
            (
                {**TRIGGER, "payload": {**TRIGGER["payload"], "severity": "bad"}},
                "'payload.severity'",
            ),
            ({"routing_key": KEY, "event_action": "resolve"}, "'dedup_key' is required"),
            ({**TRIGGER, "dedup_key": "x" * 256}, "'dedup_key' must be"),
            ({**TRIGGER, "routing_key": "f" * 32}, "Invalid routing key"),
        ],
    )
    async def test_invalid_events_get_400_with_errors(
        self, pd: AsyncClient, engine: Engine, body: dict[str, Any] | bytes, error: str
    ) -> None:
        answer = await send(pd, body)
        assert answer.status_code == 400
        assert answer.json()["status"] == "invalid event"
        assert any(error in e for e in answer.json()["errors"]), answer.json()
        assert (incidents(engine), signals(engine)) == ([], 0)

    async def test_over_512_kb_is_413(self, pd: AsyncClient, engine: Engine) -> None:
        big = {**TRIGGER, "payload": {**TRIGGER["payload"], "custom_details": "x" * 530_000}}
        assert (await send(pd, big)).status_code == 413
        assert (incidents(engine), signals(engine)) == ([], 0)

    async def test_over_the_rate_limit_is_429(self, pd: AsyncClient, clock: FakeClock) -> None:
        resolve = {"routing_key": KEY, "event_action": "resolve", "dedup_key": "nothing-open"}
        answers = [(await send(pd, resolve)).status_code for _ in range(6)]
        assert answers == [202] * 5 + [429]
        clock.advance(timedelta(seconds=61))
        assert (await send(pd, resolve)).status_code == 202
