"""SDS's webhook at the HTTP level: every way in which a request can be refused, each with a 4xx
(or 503), a JSON error naming the problem, a log event and nothing stored; and the accepted
signals, once each."""

from __future__ import annotations

import http.client
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from pydantic import SecretStr
from sqlalchemy import Engine, func, select, text
from sqlmodel import SQLModel

import dispatcher.store.tables  # noqa: F401  (registers every table with SQLModel.metadata)
from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.http.app import create_app
from dispatcher.mailcatcher import MailCatcher
from dispatcher.notices.render import NoticeRenderer
from dispatcher.runtime import Runtime
from dispatcher.signals.auth import sign
from dispatcher.signals.schema import MAX_PROBLEMS
from tests.support.clock import FakeClock
from tests.support.daemon import DaemonProcess

SECRET = "sds-webhook-secret-for-tests-0123456789"
PATH = "/api/sds/signals"
MAX_BODY = 65536
WRITTEN_BY_SIGNALS = ("incident", "timeline", "notice", "message", "delivery", "signal")

OUTAGE: dict[str, Any] = {
    "event_id": "sds-fmk-20211231-0255-outage",
    "service": "FMK",
    "kind": "outage",
    "severity": "down",
    "summary": "FMK svarer ikke",
    "details": "Alle kald til FMK fejler med timeout. SDS undersøger fejlen.",
    "started_at": "2021-12-31T02:55:00+01:00",
}
HEARTBEAT: dict[str, Any] = {"event_id": "sds-hb-0001", "service": "FMK", "kind": "heartbeat"}


def encode(payload: dict[str, Any] | list[Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.scalar(select(func.count()).select_from(table)) or 0
            for table in SQLModel.metadata.sorted_tables
        }


@dataclass
class Sent:
    response: httpx.Response
    logs: list[dict[str, Any]]
    signature: str

    @property
    def json(self) -> dict[str, Any]:
        found = self.response.json()
        assert isinstance(found, dict)
        return found


async def in_chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


class Webhook:
    """Signs and posts bodies as SDS would, with any part of that done wrong on request.

    httpx's ASGI transport rather than starlette's TestClient, which warns (an error here) that
    it wants `httpx2`; the transport streams a request body in chunks just as a server would."""

    def __init__(self, client: httpx.AsyncClient, clock: FakeClock) -> None:
        self.client = client
        self.clock = clock

    async def post(
        self,
        payload: dict[str, Any] | list[Any] | bytes,
        *,
        secret: str = SECRET,
        timestamp: int | None = None,
        signed_body: bytes | None = None,
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
        drop: tuple[str, ...] = (),
        chunks: int | None = None,
    ) -> Sent:
        body = payload if isinstance(payload, bytes) else encode(payload)
        ts = int(self.clock.now().timestamp()) if timestamp is None else timestamp
        signature = sign(secret.encode(), ts, body if signed_body is None else signed_body)
        sent_headers = {"X-SDS-Timestamp": str(ts), "X-SDS-Signature": signature}
        if content_type is not None:
            sent_headers["Content-Type"] = content_type
        sent_headers.update(headers or {})
        for name in drop:
            sent_headers.pop(name)
        content: bytes | AsyncIterator[bytes] = body
        if chunks is not None:  # no Content-Length: Transfer-Encoding: chunked
            content = in_chunks(body, -(-len(body) // chunks))
        with structlog.testing.capture_logs() as logs:
            response = await self.client.post(PATH, content=content, headers=sent_headers)
        return Sent(response, logs, signature)


def make_client(
    settings: Settings,
    engine: Engine,
    registry: Registry,
    renderer: NoticeRenderer,
    clock: FakeClock,
) -> httpx.AsyncClient:
    app = create_app(Runtime(settings, engine, registry, renderer), clock)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver")


@pytest.fixture
def webhook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_secret": SecretStr(SECRET)})


@pytest.fixture
async def webhook(
    webhook_settings: Settings,
    engine: Engine,
    registry: Registry,
    renderer: NoticeRenderer,
    clock: FakeClock,
) -> AsyncIterator[Webhook]:
    async with make_client(webhook_settings, engine, registry, renderer, clock) as client:
        yield Webhook(client, clock)


@pytest.fixture
def empty(engine: Engine) -> dict[str, int]:
    """The row counts of the fresh database, which must still hold after any rejection."""
    counts = row_counts(engine)
    assert all(counts[name] == 0 for name in WRITTEN_BY_SIGNALS), counts
    return counts


def assert_rejected(
    sent: Sent,
    engine: Engine,
    empty: dict[str, int],
    status: int,
    error: str,
    *,
    event_id: str | None = None,
    mentions: tuple[str, ...] = (),
) -> dict[str, Any]:
    """4xx/503, a JSON error naming the problem, one log event, nothing stored."""
    assert sent.response.status_code == status, sent.response.text
    assert sent.response.headers["content-type"] == "application/json"
    body = sent.json
    assert body["error"] == error
    assert isinstance(body["detail"], str)
    assert body["detail"]
    for words in mentions:
        assert words in body["detail"], body["detail"]
    rejected = [e for e in sent.logs if e["event"] == "sds_signal.rejected"]
    assert len(rejected) == 1, sent.logs
    assert rejected[0]["status"] == status
    assert rejected[0]["error"] == error
    assert rejected[0]["event_id"] == event_id
    assert rejected[0]["log_level"] == "warning"
    logged = repr(sent.logs)
    assert SECRET not in logged
    assert sent.signature.removeprefix("v1=") not in logged
    assert row_counts(engine) == empty
    return body


# --- authentication ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        (("X-SDS-Timestamp",), "X-SDS-Timestamp"),
        (("X-SDS-Signature",), "X-SDS-Signature"),
        (("X-SDS-Timestamp", "X-SDS-Signature"), "X-SDS-Timestamp and X-SDS-Signature"),
    ],
)
async def test_missing_signature_headers(
    webhook: Webhook, engine: Engine, empty: dict[str, int], drop: tuple[str, ...], named: str
) -> None:
    sent = await webhook.post(OUTAGE, drop=drop)
    assert_rejected(sent, engine, empty, 401, "missing_signature", mentions=(named,))
    assert "X-SDS-Timestamp" in sent.response.headers["www-authenticate"]


async def test_empty_signature_header(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    sent = await webhook.post(OUTAGE, headers={"X-SDS-Signature": ""})
    assert_rejected(sent, engine, empty, 401, "missing_signature")


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"X-SDS-Timestamp": "2021-12-31T02:00:00Z"}, "X-SDS-Timestamp"),
        ({"X-SDS-Timestamp": "1640916000.0"}, "X-SDS-Timestamp"),
        ({"X-SDS-Signature": "sha256=" + "0" * 64}, "X-SDS-Signature"),
        ({"X-SDS-Signature": "v1=xyz"}, "X-SDS-Signature"),
    ],
)
async def test_malformed_signature_headers(
    webhook: Webhook,
    engine: Engine,
    empty: dict[str, int],
    headers: dict[str, str],
    named: str,
) -> None:
    sent = await webhook.post(OUTAGE, headers=headers)
    assert_rejected(sent, engine, empty, 401, "malformed_signature", mentions=(named,))


async def test_wrong_signature(webhook: Webhook, engine: Engine, empty: dict[str, int]) -> None:
    sent = await webhook.post(OUTAGE, headers={"X-SDS-Signature": "v1=" + "0" * 64})
    assert_rejected(sent, engine, empty, 401, "bad_signature", mentions=("signature",))


async def test_signature_made_with_another_secret(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    sent = await webhook.post(OUTAGE, secret="not-the-shared-secret")
    assert_rejected(sent, engine, empty, 401, "bad_signature")


async def test_body_changed_after_signing(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    sent = await webhook.post({**OUTAGE, "summary": "Forfalsket"}, signed_body=encode(OUTAGE))
    assert_rejected(sent, engine, empty, 401, "bad_signature")


async def test_body_reformatted_after_signing(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    """The signature covers the bytes, not the JSON value: a proxy that re-indents breaks it."""
    sent = await webhook.post(json.dumps(OUTAGE, indent=2).encode(), signed_body=encode(OUTAGE))
    assert_rejected(sent, engine, empty, 401, "bad_signature")


@pytest.mark.parametrize(("offset", "words"), [(-301, "behind"), (301, "ahead of")])
async def test_stale_timestamp(
    webhook: Webhook,
    clock: FakeClock,
    engine: Engine,
    empty: dict[str, int],
    offset: int,
    words: str,
) -> None:
    sent = await webhook.post(OUTAGE, timestamp=int(clock.now().timestamp()) + offset)
    assert_rejected(sent, engine, empty, 401, "stale_timestamp", mentions=(words, "300 s"))


async def test_a_replay_after_the_tolerance_is_stale(
    webhook: Webhook, clock: FakeClock, engine: Engine, empty: dict[str, int]
) -> None:
    ts = int(clock.now().timestamp())
    clock.advance(timedelta(minutes=6))
    sent = await webhook.post(OUTAGE, timestamp=ts)
    assert_rejected(sent, engine, empty, 401, "stale_timestamp")


async def test_the_signature_is_checked_before_the_json_is_read(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    sent = await webhook.post(b'{"event_id": "e-1", ', secret="wrong")
    assert_rejected(sent, engine, empty, 401, "bad_signature")


@pytest.mark.parametrize("secret", [None, ""])
async def test_without_a_configured_secret_nothing_is_accepted(
    settings: Settings,
    engine: Engine,
    registry: Registry,
    renderer: NoticeRenderer,
    clock: FakeClock,
    empty: dict[str, int],
    secret: str | None,
) -> None:
    configured = settings.model_copy(
        update={"webhook_secret": SecretStr(secret) if secret is not None else None}
    )
    async with make_client(configured, engine, registry, renderer, clock) as client:
        sent = await Webhook(client, clock).post(OUTAGE, secret="anything")
    body = assert_rejected(sent, engine, empty, 503, "webhook_not_configured")
    assert "DISPATCHER_WEBHOOK_SECRET" in body["detail"]


# --- size and content type -------------------------------------------------------------------


def padded(size: int) -> bytes:
    """A valid heartbeat of exactly `size` bytes (JSON allows whitespace before the brace)."""
    body = encode(HEARTBEAT)
    return b" " * (size - len(body)) + body


async def test_oversized_body_with_content_length(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    sent = await webhook.post(padded(MAX_BODY + 1))
    assert sent.response.request.headers["content-length"] == str(MAX_BODY + 1)
    body = assert_rejected(sent, engine, empty, 413, "body_too_large", mentions=("65536",))
    assert body["limit"] == MAX_BODY
    assert sent.response.headers["connection"] == "close"


async def test_oversized_body_without_content_length(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    sent = await webhook.post(padded(MAX_BODY * 4), chunks=16)
    assert "content-length" not in sent.response.request.headers
    assert sent.response.request.headers["transfer-encoding"] == "chunked"
    assert_rejected(sent, engine, empty, 413, "body_too_large")


async def test_a_content_length_that_understates_the_body_does_not_help(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    sent = await webhook.post(padded(MAX_BODY + 100), chunks=4, headers={"Content-Length": "100"})
    assert_rejected(sent, engine, empty, 413, "body_too_large")


async def test_the_size_limit_comes_before_the_signature(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    sent = await webhook.post(padded(MAX_BODY + 1), drop=("X-SDS-Signature",))
    assert_rejected(sent, engine, empty, 413, "body_too_large")


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonx",
        "application/json; charset=iso-8859-1",
        "application/json; charset=utf-16",
    ],
)
async def test_wrong_content_type(
    webhook: Webhook, engine: Engine, empty: dict[str, int], content_type: str | None
) -> None:
    sent = await webhook.post(OUTAGE, content_type=content_type)
    assert_rejected(sent, engine, empty, 415, "unsupported_media_type")


# --- the body ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "line", "column"),
    [
        (b'{"event_id": "e-1",', 1, 20),
        (b'{\n  "event_id": "e-1"\n  "kind": "outage"\n}', 3, 3),
        (b"", 1, 1),
        (b"{'event_id': 'e-1'}", 1, 2),
    ],
)
async def test_malformed_json_names_the_position(
    webhook: Webhook,
    engine: Engine,
    empty: dict[str, int],
    body: bytes,
    line: int,
    column: int,
) -> None:
    sent = await webhook.post(body)
    found = assert_rejected(sent, engine, empty, 400, "malformed_json", mentions=("line",))
    assert (found["line"], found["column"]) == (line, column)
    assert isinstance(found["position"], int)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"event_id": "\xff"}', "not UTF-8"),
        ('{"event_id": "æ"}'.encode("latin-1"), "not UTF-8"),
        (b'{"event_id": "e-1", "service": "FMK", "kind": "heartbeat", "n": NaN}', "NaN"),
        (b'{"event_id": "e-1", "x": Infinity}', "Infinity"),
    ],
)
async def test_bodies_that_are_not_utf8_json(
    webhook: Webhook, engine: Engine, empty: dict[str, int], body: bytes, words: str
) -> None:
    sent = await webhook.post(body)
    assert_rejected(sent, engine, empty, 400, "malformed_json", mentions=(words,))


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"kind": 5}, "kind", "got 5"),
        ({"started_at": "2021-12-31T03:00:00"}, "started_at", "UTC offset"),
        ({"started_at": 1640919600}, "started_at", "datetime"),
        ({"service": "XYZ"}, "service", "FMK"),
        ({"severity": "kritisk"}, "severity", "'down' or 'degraded'"),
        ({"summary": "x" * 201}, "summary", "200"),
        ({"details": "x" * 4001}, "details", "4000"),
        ({"details": None}, "details", "string"),
        ({"unknown": "x"}, "unknown", "not a known field"),
        ({"severity": None}, "severity", "required when kind is 'outage'"),
        ({"summary": None}, "summary", "required when kind is 'outage'"),
        ({"summary": "   "}, "summary", "blank"),
        ({"scope": {"municipalities": [101, 999]}}, "scope", "unknown municipality code 999"),
        ({"scope": {"regions": ["Skåne"]}}, "scope", "no region matches 'Skåne'"),
        ({"scope": {}}, "scope", "a scope needs eoj, regions or municipalities"),
        ({"scope": {"eoj": ["unknown"]}}, "scope.eoj.0", "'nexus', 'cura', 'vitae' or 'other'"),
        ({"scope": {"kommuner": [101]}}, "scope.kommuner", "not a known field"),
        ({"scope": {"municipalities": ["101"]}}, "scope.municipalities.0", "integer"),
        ({"kind": "update", "scope": {"municipalities": [101]}}, "scope", "only an outage"),
        ({"drill": "yes"}, "drill", "boolean"),
    ],
)
async def test_schema_violations_name_the_field(
    webhook: Webhook,
    engine: Engine,
    empty: dict[str, int],
    changes: dict[str, Any],
    field: str,
    words: str,
) -> None:
    sent = await webhook.post({**OUTAGE, **changes})
    body = assert_rejected(
        sent, engine, empty, 422, "invalid_signal", event_id=OUTAGE["event_id"], mentions=(field,)
    )
    problems = {p["field"]: p["problem"] for p in body["problems"]}
    assert field in problems, problems
    assert words in problems[field]


@pytest.mark.parametrize("missing", ["severity", "summary"])
async def test_outage_without_severity_or_summary(
    webhook: Webhook, engine: Engine, empty: dict[str, int], missing: str
) -> None:
    sent = await webhook.post({k: v for k, v in OUTAGE.items() if k != missing})
    body = assert_rejected(sent, engine, empty, 422, "invalid_signal", event_id=OUTAGE["event_id"])
    assert body["problems"] == [{"field": missing, "problem": "is required when kind is 'outage'"}]


async def test_an_update_that_says_nothing(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    sent = await webhook.post({"event_id": "sds-u-0", "service": "FMK", "kind": "update"})
    body = assert_rejected(sent, engine, empty, 422, "invalid_signal", event_id="sds-u-0")
    assert body["problems"] == [
        {"field": "details", "problem": "an update needs details or a summary; both are empty"}
    ]


async def test_every_problem_is_listed(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    sent = await webhook.post(
        {"event_id": "bad id", "service": "XYZ", "kind": 5, "started_at": "2021-12-31T03:00:00"}
    )
    body = assert_rejected(sent, engine, empty, 422, "invalid_signal", event_id="bad id")
    assert {p["field"] for p in body["problems"]} == {"event_id", "service", "kind", "started_at"}


async def test_a_missing_event_id_is_logged_as_unknown(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    sent = await webhook.post({k: v for k, v in OUTAGE.items() if k != "event_id"})
    body = assert_rejected(sent, engine, empty, 422, "invalid_signal", event_id=None)
    assert body["problems"] == [{"field": "event_id", "problem": "is required"}]


async def test_a_key_given_twice_is_refused(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    body = b'{"event_id": "e-1", "service": "FMK", "kind": "heartbeat", "kind": "outage"}'
    sent = await webhook.post(body)
    found = assert_rejected(sent, engine, empty, 422, "invalid_signal")
    assert found["problems"] == [{"field": "kind", "problem": "appears more than once"}]


@pytest.mark.parametrize("body", [b"[]", b'"outage"', b"null", b"[{}]"])
async def test_a_body_that_is_not_an_object(
    webhook: Webhook, engine: Engine, empty: dict[str, int], body: bytes
) -> None:
    sent = await webhook.post(body)
    found = assert_rejected(sent, engine, empty, 422, "invalid_signal")
    assert found["problems"] == [{"field": "body", "problem": "must be a JSON object"}]


async def test_only_post(webhook: Webhook) -> None:
    assert (await webhook.client.get(PATH)).status_code == 405


# --- accepted signals (the service answers) ------------------------------------------------


async def test_an_outage_opens_an_incident(webhook: Webhook, engine: Engine) -> None:
    sent = await webhook.post(OUTAGE)
    assert sent.response.status_code == 201, sent.response.text
    assert sent.json == {"action": "opened", "incident": 1}
    counts = row_counts(engine)
    assert counts["incident"] == 1
    assert counts["signal"] == 1
    answered = [e for e in sent.logs if e["event"] == "sds_signal.answered"]
    assert answered == [
        {
            "event": "sds_signal.answered",
            "event_id": OUTAGE["event_id"],
            "kind": "outage",
            "status": 201,
            "client": "127.0.0.1",
            "log_level": "info",
        }
    ]


async def test_the_same_event_twice_has_one_effect(
    webhook: Webhook, clock: FakeClock, engine: Engine
) -> None:
    first = await webhook.post(OUTAGE)
    after_first = row_counts(engine)
    clock.advance(timedelta(seconds=30))  # a retry is signed anew; the body is the same
    second = await webhook.post(OUTAGE)
    assert second.response.status_code == first.response.status_code == 201
    assert second.json == {**first.json, "duplicate": True}
    assert row_counts(engine) == after_first


async def test_an_event_id_reused_for_another_body_is_a_conflict(
    webhook: Webhook, engine: Engine
) -> None:
    await webhook.post(OUTAGE)
    after_first = row_counts(engine)
    sent = await webhook.post({**OUTAGE, "summary": "Noget andet"})
    assert_rejected(sent, engine, after_first, 409, "event_id_reused", event_id=OUTAGE["event_id"])


async def test_a_fault_in_the_service_is_a_json_500(
    webhook: Webhook, engine: Engine, empty: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr("dispatcher.http.webhook.receive_signal", broken)
    sent = await webhook.post(OUTAGE)
    assert sent.response.status_code == 500
    assert sent.json["error"] == "internal_error"
    assert "database on fire" not in sent.response.text
    [failed] = [e for e in sent.logs if e["event"] == "sds_signal.failed"]
    assert failed["event_id"] == OUTAGE["event_id"]
    assert failed["log_level"] == "error"
    assert row_counts(engine) == empty


async def test_a_heartbeat_is_answered(webhook: Webhook) -> None:
    sent = await webhook.post(HEARTBEAT)
    assert sent.response.status_code == 200, sent.response.text
    assert sent.json["action"] == "heartbeat"


@pytest.mark.parametrize("offset", [-300, 300])
async def test_timestamps_at_the_tolerance_are_accepted(
    webhook: Webhook, clock: FakeClock, offset: int
) -> None:
    sent = await webhook.post(HEARTBEAT, timestamp=int(clock.now().timestamp()) + offset)
    assert sent.response.status_code == 200, sent.response.text


async def test_a_body_of_exactly_the_limit_is_accepted(webhook: Webhook) -> None:
    assert (await webhook.post(padded(MAX_BODY))).response.status_code == 200
    heartbeat = {**HEARTBEAT, "event_id": "sds-hb-0002"}
    body = encode(heartbeat)
    chunked = await webhook.post(b" " * (MAX_BODY - len(body)) + body, chunks=8)
    assert chunked.response.status_code == 200, chunked.response.text


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/json;"]
)
async def test_content_type_variants_that_mean_json(webhook: Webhook, content_type: str) -> None:
    sent = await webhook.post(HEARTBEAT, content_type=content_type)
    assert sent.response.status_code == 200


async def test_an_update_without_an_open_incident_changes_nothing_but_is_recorded(
    webhook: Webhook, engine: Engine
) -> None:
    update = {"event_id": "sds-u-1", "service": "FMK", "kind": "update", "details": "Ny info."}
    sent = await webhook.post(update)
    assert sent.response.status_code == 202, sent.response.text
    assert row_counts(engine)["incident"] == 0


# --- drills and scoped outages -------------------------------------------------------------


async def test_a_heartbeat_cannot_be_a_drill(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    sent = await webhook.post({**HEARTBEAT, "drill": True})
    body = assert_rejected(sent, engine, empty, 422, "invalid_signal", event_id="sds-hb-0001")
    assert body["problems"] == [{"field": "drill", "problem": "a heartbeat cannot be a drill"}]


async def test_a_drill_signal_and_a_real_one_open_separate_incidents(
    webhook: Webhook, engine: Engine
) -> None:
    drill = await webhook.post({**OUTAGE, "event_id": "sds-drill-1", "drill": True})
    assert drill.json == {"action": "opened", "incident": 1}
    real = await webhook.post(OUTAGE)
    assert real.json == {"action": "opened", "incident": 2}
    update = {"service": "FMK", "kind": "update", "details": "Øvelsen går videre.", "drill": True}
    attached = await webhook.post({**update, "event_id": "sds-drill-2"})
    assert attached.json == {"action": "attached", "incident": 1}
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, drill, sds_note FROM incident ORDER BY id")).all()
    assert [(r[0], bool(r[1]), r[2]) for r in rows] == [
        (1, True, "Øvelsen går videre."),
        (2, False, None),
    ]


async def test_a_scoped_outage_signal(webhook: Webhook, engine: Engine) -> None:
    scope = {"regions": ["1084"], "municipalities": [101, 147, 561]}
    sent = await webhook.post({**OUTAGE, "scope": scope})
    assert sent.json == {"action": "opened", "incident": 1}
    with engine.connect() as conn:
        row = conn.execute(text("SELECT scope, scope_label FROM incident")).one()
    assert tuple(row) == ("101,147", "Region Hovedstaden, udvalgte kommuner")


async def test_an_eoj_scope_from_sds_tells_the_unregistered_and_says_so(
    webhook: Webhook, engine: Engine
) -> None:
    """SDS cannot be asked: its EOJ scope counts in the municipalities whose system is not
    registered (fail-safe), and the incident remembers which, for the notices to say why."""
    scope = {"eoj": ["cura"], "municipalities": [101, 183, 740]}
    sent = await webhook.post({**OUTAGE, "scope": scope})
    assert sent.json == {"action": "opened", "incident": 1}
    with engine.connect() as conn:
        row = conn.execute(text("SELECT scope, scope_unknown FROM incident")).one()
    assert tuple(row) == ("101,183", "101")


# --- the contract ------------------------------------------------------------------------


async def test_openapi_documents_body_headers_and_responses(webhook: Webhook) -> None:
    spec = (await webhook.client.get("/openapi.json")).json()
    operation = spec["paths"][PATH]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "event_id",
        "service",
        "kind",
        "severity",
        "summary",
        "details",
        "started_at",
        "drill",
        "scope",
        "maintenance",
    }
    scope = next(s for s in schema["properties"]["scope"]["anyOf"] if s.get("type") == "object")
    assert set(scope["properties"]) == {"eoj", "regions", "municipalities"}
    assert operation["requestBody"]["required"] is True
    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
    assert headers["X-SDS-Timestamp"]["required"] is True
    assert headers["X-SDS-Signature"]["required"] is True
    assert set(operation["responses"]) == {
        "200",
        "201",
        "202",
        "400",
        "401",
        "409",
        "413",
        "415",
        "422",
        "500",
        "503",
    }
    invalid = operation["responses"]["422"]["content"]["application/json"]["schema"]
    assert invalid == {"$ref": "#/components/schemas/InvalidSignal"}
    assert "problems" in spec["components"]["schemas"]["InvalidSignal"]["properties"]


# --- a real daemon: the limit holds on the wire, without Content-Length -----------------


@pytest.mark.slow
def test_a_real_daemon_refuses_an_endless_chunked_body(
    database_url: str, smtp: MailCatcher, engine: Engine, empty: dict[str, int], tmp_path: Path
) -> None:
    daemon = DaemonProcess(
        database_url=database_url,
        smtp_port=smtp.port,
        log=tmp_path / "daemon.log",
        webhook_secret=SECRET,
    )
    try:
        daemon.start()
        conn = http.client.HTTPConnection("127.0.0.1", daemon.http_port, timeout=10)
        chunk = b" " * 8192
        conn.request(
            "POST",
            PATH,
            body=iter([chunk] * 10),  # 80 KiB, chunked
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = conn.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"] == "body_too_large"
        conn.close()
        counts = row_counts(engine)
        assert counts.pop("replica") == 1  # the daemon's own heartbeat row
        assert counts == {k: v for k, v in empty.items() if k != "replica"}
        assert daemon.terminate() == 0
        assert "sds_signal.rejected" in daemon.log.read_text()
    finally:
        daemon.stop_quietly()


async def test_a_flood_of_unknown_keys_gets_a_short_answer_and_log_line(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    unknown = {f"{i:x}": 0 for i in range(7404)}
    body = json.dumps({**OUTAGE, **unknown}, separators=(",", ":")).encode()
    assert len(body) <= MAX_BODY
    sent = await webhook.post(body)
    answer = assert_rejected(
        sent, engine, empty, 422, "invalid_signal", event_id=OUTAGE["event_id"]
    )
    assert len(answer["problems"]) == MAX_PROBLEMS
    assert answer["more_problems"] == 7404 - MAX_PROBLEMS
    assert answer["detail"].endswith(f"; and {7404 - MAX_PROBLEMS} more problems")
    assert len(sent.response.content) < 10_000
    assert len(repr(sent.logs)) < 10_000


async def test_a_summary_with_a_line_break_is_refused(
    webhook: Webhook, engine: Engine, empty: dict[str, int]
) -> None:
    sent = await webhook.post({**OUTAGE, "summary": "FMK svarer ikke\r\nopslag fejler"})
    answer = assert_rejected(
        sent, engine, empty, 422, "invalid_signal", event_id=OUTAGE["event_id"]
    )
    assert [p["field"] for p in answer["problems"]] == ["summary"]
    assert "one line" in answer["problems"][0]["problem"]
    assert "more_problems" not in answer


async def test_a_client_that_leaves_mid_body_is_one_info_line(
    webhook_settings: Settings,
    engine: Engine,
    registry: Registry,
    renderer: NoticeRenderer,
    clock: FakeClock,
    empty: dict[str, int],
) -> None:
    """The client sends part of the body and goes away: no exception, no traceback."""
    app = create_app(Runtime(webhook_settings, engine, registry, renderer), clock)
    body = encode(OUTAGE)
    ts = int(clock.now().timestamp())
    headers = {
        "host": "testserver",
        "content-type": "application/json",
        "content-length": str(len(body)),
        "x-sds-timestamp": str(ts),
        "x-sds-signature": sign(SECRET.encode(), ts, body),
    }
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    incoming = [
        {"type": "http.request", "body": body[:40], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with structlog.testing.capture_logs() as logs:
        await app(scope, receive, send)
    assert [(e["event"], e["log_level"]) for e in logs] == [
        ("sds_signal.client_disconnected", "info")
    ]
    assert "exc_info" not in logs[0]
    assert row_counts(engine) == empty
