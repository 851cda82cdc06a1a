"""`POST /api/sds/signals`: SDS's monitoring tells us FMK is down, has news, runs again, or that
the monitoring itself is alive.

The body is read raw, because the signature covers its exact bytes. The checks run cheapest and
least trusting first, and the first that fails answers:

    413 body_too_large        Content-Length over the limit
    415 unsupported_media_type Content-Type is not application/json (charset, if any, UTF-8)
    503 webhook_not_configured no DISPATCHER_WEBHOOK_SECRET on this daemon
    413 body_too_large        the bytes actually read pass the limit (chunked, or a lie)
    401 missing_signature | malformed_signature | stale_timestamp | bad_signature
    400 malformed_json        not UTF-8 or not JSON (with line, column and position)
    422 invalid_signal        the JSON does not fit the schema (the first 20 {field, problem})
    409 event_id_reused       the event id came before with a different body

Only a request that passes all of them reaches `signals.service.receive_signal`; a rejection is
logged (never with the secret, the signature or the body) and stores nothing. A signal that
could not be stored because the database does not answer is a 503 with Retry-After (SDS
retries); a client that goes away before its body is read is one info line in the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any, NoReturn

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from dispatcher.contacts.scope import ScopeError
from dispatcher.http.deps import services
from dispatcher.http.errors import database_error, transient, unavailable_headers
from dispatcher.signals.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from dispatcher.signals.model import Signal, SignalConflict
from dispatcher.signals.schema import MAX_PROBLEMS, SdsSignalIn, problems, published_schema
from dispatcher.signals.service import receive_signal

log = structlog.get_logger(__name__)

PATH = "/api/sds/signals"
JSON_MEDIA_TYPE = "application/json"


class WebhookError(BaseModel):
    error: str = Field(description="A stable code for machines.")
    detail: str = Field(description="What is wrong, for the engineer reading the log.")


class Problem(BaseModel):
    field: str = Field(description="The field (`body` for the body as a whole).")
    problem: str


class InvalidSignal(WebhookError):
    problems: list[Problem] = Field(
        default_factory=list, description=f"The first {MAX_PROBLEMS} violations."
    )
    more_problems: int | None = Field(
        None, description="How many violations there are beyond those listed, if any."
    )


class MalformedJson(WebhookError):
    line: int | None = Field(None, description="1-based line of the syntax error.")
    column: int | None = Field(None, description="1-based column of the syntax error.")
    position: int | None = Field(None, description="0-based character offset of the error.")


class BodyTooLarge(WebhookError):
    limit: int = Field(description="The largest body accepted, in bytes.")


class Rejection(Exception):
    """A request the webhook refuses: a 4xx (or 503) with a JSON body naming the problem."""

    def __init__(
        self,
        status_code: int,
        error: str,
        detail: str,
        *,
        event_id: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(f"{error}: {detail}")
        self.status_code = status_code
        self.error = error
        self.detail = detail
        self.event_id = event_id
        self.headers = headers
        self.extra = extra

    def response(self) -> JSONResponse:
        body = {"error": self.error, "detail": self.detail, **self.extra}
        return JSONResponse(body, self.status_code, headers=self.headers)


def _reject(status_code: int, error: str, detail: str, **kw: Any) -> NoReturn:
    raise Rejection(status_code, error, detail, **kw)


_SIGNAL_SCHEMA = published_schema()

_OPENAPI_EXTRA: dict[str, Any] = {
    "parameters": [
        {
            "name": TIMESTAMP_HEADER,
            "in": "header",
            "required": True,
            "description": "Unix time in whole seconds when the request was signed; at most "
            "5 minutes (DISPATCHER_WEBHOOK_TOLERANCE) from the receiver's clock.",
            "schema": {"type": "string", "pattern": "^[0-9]{1,12}$", "example": "1640919300"},
        },
        {
            "name": SIGNATURE_HEADER,
            "in": "header",
            "required": True,
            "description": "`v1=` + lowercase hex HMAC-SHA256, keyed with the shared secret, of "
            "the timestamp header value, a full stop, and the raw body bytes: "
            '`HMAC-SHA256(secret, f"{timestamp}.".encode() + body)`.',
            "schema": {"type": "string", "pattern": "^v1=[0-9a-f]{64}$"},
        },
    ],
    "requestBody": {
        "required": True,
        "description": "One signal, at most DISPATCHER_WEBHOOK_MAX_BODY bytes (64 KiB) of "
        "UTF-8 JSON. Unknown fields are refused. Sign the exact bytes sent.",
        "content": {JSON_MEDIA_TYPE: {"schema": _SIGNAL_SCHEMA}},
    },
}


class SignalAnswer(BaseModel):
    """What the dispatcher did with an accepted signal."""

    model_config = ConfigDict(extra="allow")

    action: str = Field(
        description="opened, attached, recovering, awaiting_owner, resolved, heartbeat or ignored."
    )
    incident: int | None = Field(None, description="The incident number, if one is concerned.")
    duplicate: bool | None = Field(None, description="True on a repeat of an event id.")


def _answer(description: str) -> dict[str, Any]:
    return {"model": SignalAnswer, "description": description}


def _error(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"model": model, "description": description}


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _answer(
        "Done: `heartbeat` recorded, or the signal `attached` to the open incident, or "
        "`recovering` / `awaiting_owner` / `resolved` after `resolved`. A repeat of an event "
        "id with the same body gets the first status and body plus `duplicate: true`, and "
        "nothing happens twice."
    ),
    201: _answer("`opened`: an outage opened incident `incident`."),
    202: _answer("`ignored`: an update or resolved while no FMK incident is open."),
    400: _error(MalformedJson, "`malformed_json`: the body is not UTF-8 JSON."),
    401: _error(
        WebhookError,
        "`missing_signature`, `malformed_signature`, `stale_timestamp` or `bad_signature`.",
    ),
    409: _error(WebhookError, "`event_id_reused`: the event id came before with another body."),
    413: _error(BodyTooLarge, "`body_too_large`: over DISPATCHER_WEBHOOK_MAX_BODY bytes."),
    415: _error(WebhookError, "`unsupported_media_type`: Content-Type is not application/json."),
    422: _error(
        InvalidSignal,
        "`invalid_signal`: the JSON does not fit the schema (nothing stored; fix and resend). "
        "Or `rejected` (without `problems`): valid, but the incident cannot take it; this answer "
        "is stored, so a repeat gets it again.",
    ),
    500: _error(WebhookError, "`internal_error`: a fault in the dispatcher; retry the same body."),
    503: _error(
        WebhookError,
        "`database_unavailable`: the signal could not be stored because the database does not "
        "answer; retry the same body after `Retry-After` seconds. Or `webhook_not_configured`: "
        "the daemon has no webhook secret; call MedCom.",
    ),
}

router = APIRouter(tags=["sds"])


@router.post(
    PATH,
    summary="Receive a signal from SDS's FMK monitoring",
    operation_id="receiveSdsSignal",
    response_class=JSONResponse,
    responses=_RESPONSES,
    openapi_extra=_OPENAPI_EXTRA,
)
async def receive(request: Request) -> JSONResponse:
    """Outage, update, resolved or heartbeat, signed with the shared secret. Idempotent by
    `event_id`: a retry with the same body is safe. See docs/sds-integration.md."""
    http = services(request)
    settings = http.runtime.settings
    client = request.client.host if request.client else None
    now = http.clock.now()
    try:
        body, signal = await _authentic_signal(request, now)
    except ClientDisconnect:
        log.info("sds_signal.client_disconnected", client=client)
        return JSONResponse({"error": "client_disconnected"}, 400)
    except Rejection as rejection:
        log.warning(
            "sds_signal.rejected",
            status=rejection.status_code,
            error=rejection.error,
            detail=rejection.detail,
            event_id=rejection.event_id,
            client=client,
        )
        return rejection.response()

    try:
        outcome = await run_in_threadpool(
            receive_signal,
            http.runtime.dispatch,
            signal,
            body_sha256=hashlib.sha256(body).hexdigest(),
            now=now,
            settings=settings,
        )
    except SignalConflict as exc:
        conflict = Rejection(
            409,
            "event_id_reused",
            f"event_id {signal.event_id!r} was received before with a different body; a "
            "retry must repeat the body byte for byte, a new event needs a new event_id",
            event_id=signal.event_id,
        )
        log.warning(
            "sds_signal.rejected",
            status=409,
            error=conflict.error,
            detail=str(exc) or conflict.detail,
            event_id=signal.event_id,
            client=client,
        )
        return conflict.response()
    except SQLAlchemyError as exc:
        if not transient(exc):
            raise
        reason = database_error(exc, http.runtime.engine)
        log.warning("sds_signal.unstored", event_id=signal.event_id, client=client, reason=reason)
        unstored = {
            "error": "database_unavailable",
            "detail": f"the signal was not stored: the database does not answer ({reason}); "
            "retry with the same body",
        }
        return JSONResponse(unstored, 503, headers=unavailable_headers())
    except Exception:
        log.exception("sds_signal.failed", event_id=signal.event_id, client=client)
        failed = {
            "error": "internal_error",
            "detail": "the dispatcher could not handle the signal; retry with the same body",
        }
        return JSONResponse(failed, 500)
    log.log(
        logging.WARNING if outcome.status_code >= 400 else logging.INFO,
        "sds_signal.answered",
        event_id=signal.event_id,
        kind=signal.kind.value,
        status=outcome.status_code,
        client=client,
    )
    return JSONResponse(outcome.body, outcome.status_code)


async def _authentic_signal(request: Request, now: datetime) -> tuple[bytes, Signal]:
    """The raw body and the signal in it, or a `Rejection` for the first check that fails."""
    http = services(request)
    settings = http.runtime.settings
    limit = settings.webhook_max_body
    _check_declared_length(request, limit)
    _check_content_type(request)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not secret:
        _reject(
            503,
            "webhook_not_configured",
            "this dispatcher has no webhook secret (DISPATCHER_WEBHOOK_SECRET), so it cannot "
            "check signatures and accepts no signals; ask MedCom to configure it",
        )
    body = await _read_body(request, limit)
    try:
        verify(
            secret.encode("utf-8"),
            timestamp_header=request.headers.get(TIMESTAMP_HEADER),
            signature_header=request.headers.get(SIGNATURE_HEADER),
            body=body,
            now=now,
            tolerance=settings.webhook_tolerance,
        )
    except SignatureError as exc:
        _reject(
            401,
            exc.code,
            exc.detail,
            headers={
                "WWW-Authenticate": f'SDS-HMAC-SHA256 headers="{TIMESTAMP_HEADER} '
                f'{SIGNATURE_HEADER}"'
            },
        )
    parsed = _parse_json(body)
    event_id = _event_id(parsed)
    try:
        signal_in = SdsSignalIn.model_validate_json(body)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            _reject(400, "malformed_json", str(exc.errors()[0]["msg"]), event_id=event_id)
        found = problems(exc)
        more = exc.error_count() - len(found)
        detail = "; ".join(f"{p['field']}: {p['problem']}" for p in found)
        extra: dict[str, Any] = {"problems": found}
        if more:
            detail += f"; and {more} more problems"
            extra["more_problems"] = more
        _reject(422, "invalid_signal", detail, event_id=event_id, **extra)
    try:
        return body, signal_in.to_signal(http.runtime.registry)
    except ScopeError as exc:
        problem = {"field": "scope", "problem": str(exc)}
        _reject(422, "invalid_signal", f"scope: {exc}", event_id=event_id, problems=[problem])


def _too_large(limit: int) -> NoReturn:
    _reject(
        413,
        "body_too_large",
        f"the body is larger than {limit} bytes",
        headers={"Connection": "close"},
        limit=limit,
    )


def _check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        _too_large(limit)


async def _read_body(request: Request, limit: int) -> bytes:
    """Read at most `limit` bytes, whatever Content-Length said (or whether it was sent)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            _too_large(limit)
    return bytes(body)


def _check_content_type(request: Request) -> None:
    value = request.headers.get("content-type", "")
    media_type, *params = (part.strip() for part in value.split(";"))
    problem = None
    if media_type.lower() != JSON_MEDIA_TYPE:
        problem = f"Content-Type must be {JSON_MEDIA_TYPE}, not {media_type or 'missing'!r}"
    for param in params:
        name, _, charset = param.partition("=")
        if name.strip().lower() == "charset" and charset.strip('" ').lower() not in {
            "utf-8",
            "utf8",
        }:
            problem = f"the body must be UTF-8, not {charset.strip()!r}"
    if problem:
        _reject(415, "unsupported_media_type", problem)


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKey(key)
        found[key] = value
    return found


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _parse_json(body: bytes) -> Any:
    """The body as JSON, or a rejection with the parser's position.

    Stricter than RFC 8259 requires, as a signed body should be unambiguous: a key given twice
    is refused (422), as are NaN and Infinity (400)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        _reject(
            400,
            "malformed_json",
            f"the body is not UTF-8: {exc.reason} at byte {exc.start}",
            position=exc.start,
        )
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        _reject(
            400,
            "malformed_json",
            f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno} "
            f"(character {exc.pos})",
            line=exc.lineno,
            column=exc.colno,
            position=exc.pos,
        )
    except ValueError as exc:
        _reject(400, "malformed_json", f"the body is not JSON: {exc}")
    except _DuplicateKey as exc:
        _reject(
            422,
            "invalid_signal",
            f"{exc.key}: appears more than once",
            problems=[{"field": exc.key, "problem": "appears more than once"}],
        )
    except RecursionError:
        _reject(400, "malformed_json", "the body is nested too deeply")


def _event_id(parsed: Any) -> str | None:
    """The event id, for the log, if the body has one that is a string."""
    if isinstance(parsed, dict) and isinstance(value := parsed.get("event_id"), str):
        return value[:128]
    return None
