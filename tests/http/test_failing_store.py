"""Every route of the HTTP app with a database that fails for real: no route answers with an
unhandled exception or a 500; whatever needs the database says 503 with Retry-After; and the
status page keeps showing the last status it read, saying from when."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from html import unescape
from typing import Any

import httpx
import structlog
from pydantic import SecretStr
from starlette.routing import Route

from dispatcher.config import Settings
from dispatcher.http.app import create_app
from dispatcher.incidents.service import trigger
from dispatcher.links import make_receipt_token
from dispatcher.paging.gatewayapi import SIGNATURE_HEADER
from dispatcher.paging.gatewayapi import sign as gatewayapi_sign
from dispatcher.runtime import Runtime
from dispatcher.signals.auth import sign
from tests.http.conftest import BreakStore, MakeLink
from tests.support.clock import FakeClock
from tests.support.incidents import fmk_down

SECRET = "sds-webhook-secret-for-tests-0123456789"
SIGNAL = {
    "event_id": "sds-fmk-20211231-0255-outage",
    "service": "FMK",
    "kind": "outage",
    "severity": "down",
    "summary": "FMK svarer ikke",
}
# A delivery report and a reply as the SMS gateway signs them.
SMS = {
    "/api/sms/reports": json.dumps(
        {"id": 1, "msisdn": 4534412345, "time": 1640916000, "status": "DELIVERED", "userref": "1"}
    ).encode(),
    "/api/sms/inbound": json.dumps(
        {"id": 2, "msisdn": 4534412345, "receiver": 1204, "message": "OK 1", "senttime": 1}
    ).encode(),
}
STALE = "Siden kunne ikke opdateres; viser status fra kl. 03:00."
# What each route answers while the database fails; every route of the app must be here.
EXPECTED = {
    ("GET", "/healthz"): 200,
    ("GET", "/readyz"): 503,
    ("GET", "/metrics"): 503,
    ("GET", "/ack/{token}"): 503,
    ("POST", "/ack/{token}"): 503,
    ("GET", "/receipt/{incident}/{token}"): 503,
    ("POST", "/receipt/{incident}/{token}"): 503,
    ("POST", "/api/sds/signals"): 503,
    ("POST", "/api/sms/reports"): 503,
    ("POST", "/api/sms/inbound"): 503,
    ("GET", "/p/{key}"): 503,
    ("GET", "/vedligehold.ics"): 503,
    ("POST", "/api/alertmanager"): 503,  # not configured here: Alertmanager retries
    ("POST", "/v2/enqueue"): 400,  # no body: invalid event, before the database
    ("GET", "/"): 302,
    **{
        (method, path): 503
        for method in ("GET", "HEAD")
        for path in ("/status", "/status.json", "/status.atom", "/status/incidents/{number}")
    },
    **{
        (method, path): 200
        for method in ("GET", "HEAD")
        for path in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
    },
}


def routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route, also those of the routers the app includes (FastAPI
    lists an included router as one entry; none of ours has a prefix)."""

    def walk(entries: list[Any]) -> list[tuple[str, str]]:
        found = []
        for route in entries:
            if isinstance(route, Route):
                found += [(method, route.path) for method in sorted(route.methods or ())]
            elif (router := getattr(route, "original_router", None)) is not None:
                found += walk(router.routes)
        return found

    return walk(app.routes)


def client_for(runtime: Runtime, clock: FakeClock) -> httpx.AsyncClient:
    """The app in process; an exception that escapes it fails the test (httpx raises it)."""
    app = create_app(runtime, clock)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_no_route_fails_unhandled_when_the_database_fails(
    runtime: Runtime,
    settings: Settings,
    clock: FakeClock,
    make_link: MakeLink,
    break_store: BreakStore,
) -> None:
    number, _ = trigger(runtime.dispatch, fmk_down(), clock.now())
    signed = Runtime(
        settings.model_copy(
            update={"webhook_secret": SecretStr(SECRET), "sms_webhook_secret": SecretStr(SECRET)}
        ),
        runtime.engine,
        runtime.registry,
        runtime.renderer,
    )
    link = make_link(number)
    receipt_token = make_receipt_token(
        settings.link_secret.get_secret_value(), incident_id=number, code=101, issued_at=clock.now()
    )
    body = json.dumps(SIGNAL).encode()
    ts = int(clock.now().timestamp())
    break_store()
    answers: dict[tuple[str, str], httpx.Response] = {}
    async with client_for(signed, clock) as client:
        assert sorted(routes(client._transport.app)) == sorted(EXPECTED)  # type: ignore[attr-defined]
        with structlog.testing.capture_logs() as logs:
            for method, path in EXPECTED:
                url = (
                    path.replace("/ack/{token}", link)
                    .replace("{number}", str(number))
                    .replace("{incident}/{token}", f"{number}/{receipt_token}")
                )
                headers = {
                    "X-SDS-Timestamp": str(ts),
                    "X-SDS-Signature": sign(SECRET.encode(), ts, body),
                }
                content = body if path == "/api/sds/signals" else SMS.get(path)
                if content is not None:
                    headers["Content-Type"] = "application/json"
                    headers[SIGNATURE_HEADER] = gatewayapi_sign(SECRET, content)
                started = time.monotonic()
                answers[method, path] = await client.request(
                    method, url, content=content, headers=headers
                )
                assert time.monotonic() - started < 5, (method, path)

    got = {key: response.status_code for key, response in answers.items()}
    assert got == EXPECTED
    for key, response in answers.items():
        if response.status_code == 503 and key[1] not in ("/readyz", "/metrics"):
            assert int(response.headers.get("retry-after", 0)) > 0, (key, response.text)
    assert answers["POST", "/api/sds/signals"].json()["error"] == "database_unavailable"
    assert answers["POST", "/ack/{token}"].json()["error"] == "database_unavailable"
    assert answers["POST", "/api/sms/inbound"].json()["error"] == "database_unavailable"
    assert not [event for event in logs if event["log_level"] in ("error", "critical")], logs


async def test_a_browser_gets_a_danish_page(
    runtime: Runtime, clock: FakeClock, make_link: MakeLink, break_store: BreakStore
) -> None:
    number, _ = trigger(runtime.dispatch, fmk_down(), clock.now())
    break_store()
    async with client_for(runtime, clock) as client:
        with structlog.testing.capture_logs() as logs:
            answer = await client.post(make_link(number), headers={"Accept": "text/html"})
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert "Tjenesten kan ikke nå sin database lige nu" in answer.text
    [logged] = logs
    assert (logged["event"], logged["log_level"]) == ("http.database_unavailable", "warning")
    assert logged["path"].startswith("/ack/")
    assert logged["reason"].startswith("OperationalError: ")


async def test_the_status_page_shows_the_last_status_read_and_says_from_when(
    runtime: Runtime, clock: FakeClock, break_store: BreakStore
) -> None:
    trigger(
        runtime.dispatch,
        fmk_down(summary="FMK svarer langsomt – opslag tager minutter"),
        clock.now(),
    )
    async with client_for(runtime, clock) as client:
        good_html = await client.get("/status")
        good_json = (await client.get("/status.json")).json()
        good_atom = await client.get("/status.atom")
        clock.advance(timedelta(minutes=25))
        break_store()
        with structlog.testing.capture_logs() as logs:
            html = await client.get("/status")
            document = await client.get("/status.json")
            atom = await client.get("/status.atom")
            head = await client.head("/status")

    assert good_html.status_code == 200
    assert STALE not in good_html.text
    assert "stale" not in good_json
    assert html.status_code == 200
    assert html.headers["cache-control"] == "no-cache"
    assert STALE in unescape(html.text)
    assert "FMK svarer langsomt – opslag tager minutter" in unescape(html.text)
    assert html.text.replace(f'<p class="stale" role="status">{STALE}</p>\n', "") == good_html.text
    assert document.status_code == 200
    shown = document.json()
    stale = shown.pop("stale")
    assert stale["text"] == STALE
    assert stale["shown_from"]["local"] == "2021-12-31T03:00:00+01:00"
    assert shown == good_json
    assert (atom.status_code, atom.content) == (200, good_atom.content)
    assert (head.status_code, head.headers["etag"]) == (200, html.headers["etag"])
    assert [(e["event"], e["serving"]) for e in logs] == [
        ("status.database_failed", "last good status")
    ] * 4


async def test_without_a_status_read_yet_the_page_is_a_danish_503(
    runtime: Runtime, clock: FakeClock, break_store: BreakStore
) -> None:
    break_store()
    async with client_for(runtime, clock) as client:
        page = await client.get("/status")
        document = await client.get("/status.json")
        incident = await client.get("/status/incidents/1")
    assert (page.status_code, page.headers["content-type"]) == (503, "text/html; charset=utf-8")
    assert "Status kan ikke vises lige nu" in unescape(page.text)
    assert '<html lang="da">' in page.text
    assert incident.status_code == 503
    assert document.status_code == 503
    assert document.json()["error"] == "database_unavailable"
    for response in (page, document, incident):
        assert response.headers["retry-after"] == "30"
