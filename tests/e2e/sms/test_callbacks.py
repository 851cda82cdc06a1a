"""The gateway's callbacks refuse anything not proven to be the gateway's, and what is too big
or malformed, with a 4xx — and nothing changes: no acknowledgement, no delivery report, no
record of the callback."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from dispatcher.paging.fake_gateway import FakeGateway, SentSms
from dispatcher.paging.gatewayapi import SIGNATURE_HEADER, sign
from dispatcher.paging.provider import INBOUND_PATH, REPORTS_PATH
from dispatcher.store.db import transaction
from dispatcher.store.tables import (
    DeliveryRow,
    IncidentRow,
    PageCodeRow,
    SmsCallbackRow,
    TimelineRow,
)
from tests.e2e.conftest import Running
from tests.e2e.sms.test_paging import OUTAGE, code_of
from tests.support.http import client
from tests.support.sms import PHONES, SMS_SECRET

IBS = "ibs@medcom.dk"


def state(engine: Engine) -> tuple[Any, ...]:
    """Everything a callback could change."""
    with transaction(engine) as session:
        incident = session.get(IncidentRow, 1)
        assert incident is not None
        reports = session.execute(
            select(
                col(DeliveryRow.id), col(DeliveryRow.report), col(DeliveryRow.report_outcome)
            ).order_by(col(DeliveryRow.id))
        ).all()
        used = session.execute(select(col(PageCodeRow.used_at)).order_by(col(PageCodeRow.id))).all()
        seen = session.scalar(select(func.count()).select_from(SmsCallbackRow))
        entries = session.scalar(select(func.count()).select_from(TimelineRow))
        return incident.status, incident.owner, tuple(reports), tuple(used), seen, entries


async def post(running: Running, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with client(running.base) as http:
        return await http.post(
            path, content=body, headers={"Content-Type": "application/json", **headers}
        )


def reply_body(sms: SentSms, text: str, mo_id: int = 9001) -> dict[str, Any]:
    return {
        "id": mo_id,
        "msisdn": int(PHONES[IBS].lstrip("+")),
        "receiver": 4512345678,
        "message": text,
        "senttime": int(time.time()),
    }


def report_body(sms: SentSms) -> dict[str, Any]:
    return {
        "id": sms.id,
        "msisdn": int(sms.msisdn.lstrip("+")),
        "time": int(time.time()),
        "status": "UNDELIVERABLE",
        "userref": sms.userref,
    }


def signed(payload: dict[str, Any], secret: str = SMS_SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, {SIGNATURE_HEADER: sign(secret, body)}


@pytest.fixture
async def paged(running: Running, gateway: FakeGateway) -> SentSms:
    assert (await running.signal("outage", "sds-1", **OUTAGE)).status_code == 201
    pages = await gateway.wait_sent(2)
    return next(s for s in pages if s.msisdn == PHONES[IBS])


def forgeries(sms: SentSms, make: Any) -> dict[str, tuple[bytes, dict[str, str], int, str]]:
    payload = make(sms)
    body, headers = signed(payload)
    other, other_headers = signed({**payload, "id": payload["id"] + 1})
    return {
        "unsigned": (body, {}, 401, "missing_signature"),
        "wrong secret": (
            *signed(payload, "another-secret-of-at-least-32-bytes"),
            401,
            "bad_signature",
        ),
        "not a jwt": (body, {SIGNATURE_HEADER: "v1=abc"}, 401, "bad_signature"),
        "unsigned algorithm": (
            body,
            {SIGNATURE_HEADER: jwt.encode(payload, key=None, algorithm="none")},  # type: ignore[arg-type]
            401,
            "bad_signature",
        ),
        "signature of another body": (other, headers, 401, "signature_mismatch"),
        "body changed after signing": (
            body.replace(b"9", b"8", 1),
            headers,
            401,
            "signature_mismatch",
        ),
        "oversized": (b" " * 20000 + body, other_headers, 413, "body_too_large"),
        "not json": (*signed_raw(b"{nope"), 400, "malformed_json"),
        "unknown field": (*signed({**payload, "extra": 1}), 422, "invalid_callback"),
        "wrong type": (*signed({**payload, "id": str(payload["id"])}), 422, "invalid_callback"),
    }


def signed_raw(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, {SIGNATURE_HEADER: jwt.encode({"x": 1}, SMS_SECRET, algorithm="HS256")}


class TestInboundRefusals:
    async def test_each_forgery_changes_nothing(
        self, running: Running, paged: SentSms, engine: Engine
    ) -> None:
        before = state(engine)
        make = lambda sms: reply_body(sms, f"OK {code_of(sms)}")  # noqa: E731
        for what, (body, headers, code, error) in forgeries(paged, make).items():
            response = await post(running, INBOUND_PATH, body, headers)
            assert (response.status_code, response.json()["error"]) == (code, error), what
            assert state(engine) == before, what

    async def test_replayed_reply_is_refused(
        self, running: Running, paged: SentSms, engine: Engine
    ) -> None:
        body, headers = signed(reply_body(paged, f"OK {code_of(paged)}"))
        assert (await post(running, INBOUND_PATH, body, headers)).json() == {
            "action": "acknowledged"
        }
        after = state(engine)
        again = await post(running, INBOUND_PATH, body, headers)
        assert (again.status_code, again.json()["error"]) == (409, "repeated")
        assert state(engine) == after

    async def test_wrong_media_type(self, running: Running, paged: SentSms, engine: Engine) -> None:
        before = state(engine)
        body, headers = signed(reply_body(paged, "OK"))
        async with client(running.base) as http:
            response = await http.post(
                INBOUND_PATH, content=body, headers={**headers, "Content-Type": "text/plain"}
            )
        assert response.status_code == 415
        assert state(engine) == before


class TestReportRefusals:
    async def test_each_forgery_changes_nothing(
        self, running: Running, paged: SentSms, engine: Engine
    ) -> None:
        before = state(engine)
        for what, (body, headers, code, error) in forgeries(paged, report_body).items():
            response = await post(running, REPORTS_PATH, body, headers)
            assert (response.status_code, response.json()["error"]) == (code, error), what
            assert state(engine) == before, what

    async def test_replayed_report_is_refused(
        self, running: Running, paged: SentSms, engine: Engine
    ) -> None:
        body, headers = signed(report_body(paged))
        assert (await post(running, REPORTS_PATH, body, headers)).json() == {"action": "recorded"}
        after = state(engine)
        again = await post(running, REPORTS_PATH, body, headers)
        assert (again.status_code, again.json()["error"]) == (409, "repeated")
        assert state(engine) == after


class TestNotConfigured:
    @pytest.fixture
    def daemon_settings(self, gateway: FakeGateway) -> dict[str, Any]:
        return {"sms_gateway_url": gateway.url}

    async def test_no_secret_no_callbacks(self, running: Running) -> None:
        body, headers = signed({"id": 1})
        for path in (INBOUND_PATH, REPORTS_PATH):
            response = await post(running, path, body, headers)
            assert (response.status_code, response.json()["error"]) == (503, "sms_not_configured")


class TestContract:
    """Both callbacks are in the OpenAPI contract, with the signature header they need."""

    async def test_openapi(self, running: Running) -> None:
        async with client(running.base) as http:
            paths = (await http.get("/openapi.json")).json()["paths"]
        for path, operation in (
            (REPORTS_PATH, "receiveSmsReport"),
            (INBOUND_PATH, "receiveSmsReply"),
        ):
            post = paths[path]["post"]
            assert post["operationId"] == operation
            assert [p["name"] for p in post["parameters"]] == [SIGNATURE_HEADER]
            assert {"401", "409", "413", "422"} <= set(post["responses"])
        assert "/p/{key}" not in paths


class TestShortLink:
    """The link in an SMS page leads to the page's signed link; an unknown one to nothing."""

    async def test_redirects_to_the_confirmation_page(
        self, running: Running, paged: SentSms, engine: Engine
    ) -> None:
        link = paged.message.rsplit(" ", 1)[-1]
        async with client() as browser:
            moved = await browser.get(link)
            assert moved.status_code == 303
            assert "/ack/" in moved.headers["location"]
            assert moved.headers["referrer-policy"] == "no-referrer"
            shown = await browser.get(link, follow_redirects=True)
            assert shown.status_code == 200
            assert "<form" in shown.text
            unknown = await browser.get(link[:-3] + "xyz")
            assert unknown.status_code == 404
        assert state(engine)[0] == "triggered"
