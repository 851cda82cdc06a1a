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
import logging
from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from dispatcher.contacts.scope import ScopeError
from dispatcher.http.deps import services
from dispatcher.http.errors import database_error, transient, unavailable_headers
from dispatcher.http.intake import (
    Rejection,
    check_content_type,
    check_declared_length,
    parse_json,
    read_body,
    reject,
)
from dispatcher.http.webhook_contract import OPENAPI_EXTRA, RESPONSES
from dispatcher.signals.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from dispatcher.signals.model import Signal, SignalConflict, SignalOutcome
from dispatcher.signals.schema import SdsSignalIn, problems
from dispatcher.signals.service import receive_signal

log = structlog.get_logger(__name__)

PATH = "/api/sds/signals"


router = APIRouter(tags=["sds"])


@router.post(
    PATH,
    summary="Receive a signal from SDS's FMK monitoring",
    operation_id="receiveSdsSignal",
    response_class=JSONResponse,
    responses=RESPONSES,
    openapi_extra=OPENAPI_EXTRA,
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
    if _may_have_queued(outcome):
        http.wake_senders()
    return JSONResponse(outcome.body, outcome.status_code)


def _may_have_queued(outcome: SignalOutcome) -> bool:
    """Whether the signal may have queued mail or pages, so the senders should look: not for a
    repeat (nothing happened again) nor a heartbeat that ended no loss (it queues nothing).
    A heartbeat stream otherwise sets the sender claiming from the queue for every request."""
    body = outcome.body
    if body.get("duplicate"):
        return False
    return not (body.get("action") == "heartbeat" and not body.get("resumed"))


async def _authentic_signal(request: Request, now: datetime) -> tuple[bytes, Signal]:
    """The raw body and the signal in it, or a `Rejection` for the first check that fails."""
    http = services(request)
    settings = http.runtime.settings
    limit = settings.webhook_max_body
    check_declared_length(request, limit)
    check_content_type(request)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not secret:
        reject(
            503,
            "webhook_not_configured",
            "this dispatcher has no webhook secret (DISPATCHER_WEBHOOK_SECRET), so it cannot "
            "check signatures and accepts no signals; ask MedCom to configure it",
        )
    body = await read_body(request, limit)
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
        reject(
            401,
            exc.code,
            exc.detail,
            headers={
                "WWW-Authenticate": f'SDS-HMAC-SHA256 headers="{TIMESTAMP_HEADER} '
                f'{SIGNATURE_HEADER}"'
            },
        )
    parsed = parse_json(body)
    event_id = _event_id(parsed)
    try:
        signal_in = SdsSignalIn.model_validate_json(body)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            reject(400, "malformed_json", str(exc.errors()[0]["msg"]), event_id=event_id)
        found = problems(exc)
        more = exc.error_count() - len(found)
        detail = "; ".join(f"{p['field']}: {p['problem']}" for p in found)
        extra: dict[str, Any] = {"problems": found}
        if more:
            detail += f"; and {more} more problems"
            extra["more_problems"] = more
        reject(422, "invalid_signal", detail, event_id=event_id, **extra)
    try:
        return body, signal_in.to_signal(http.runtime.registry)
    except ScopeError as exc:
        problem = {"field": "scope", "problem": str(exc)}
        reject(422, "invalid_signal", f"scope: {exc}", event_id=event_id, problems=[problem])


def _event_id(parsed: Any) -> str | None:
    """The event id, for the log, if the body has one that is a string."""
    if isinstance(parsed, dict) and isinstance(value := parsed.get("event_id"), str):
        return value[:128]
    return None
