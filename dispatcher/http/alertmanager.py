"""`POST /api/alertmanager`: Alertmanager's `webhook_config` raises and resolves FMK incidents.

Authenticated as `http_config` does it: `Authorization: Bearer DISPATCHER_ALERTMANAGER_TOKEN`
or basic auth with `DISPATCHER_ALERTMANAGER_USERNAME` / `_PASSWORD`. Alertmanager retries a
5xx and drops a 4xx, so the answers are: 200 when the notification was handled (or concerns
no alert that means FMK down), 4xx for a request that will never work, and 503 only when the
signal could not be stored (the database does not answer) or nothing is configured.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from dispatcher.config import Settings
from dispatcher.http.deps import services
from dispatcher.http.errors import database_error, transient, unavailable_headers
from dispatcher.http.intake import Rejection, check_declared_length, read_body, reject
from dispatcher.integrations import alertmanager
from dispatcher.integrations.intake import receive_alert
from dispatcher.integrations.matchers import parse

log = structlog.get_logger(__name__)

PATH = "/api/alertmanager"
MAX_BODY = 4 * 1024 * 1024  # Alertmanager sends every alert of a group; max_alerts caps it

router = APIRouter(tags=["integrations"])


def _authorised(request: Request, settings: Settings) -> None:
    token = settings.alertmanager_token.get_secret_value() if settings.alertmanager_token else ""
    user = settings.alertmanager_username or ""
    password = (
        settings.alertmanager_password.get_secret_value() if settings.alertmanager_password else ""
    )
    if not token and not user:
        reject(
            503,
            "not_configured",
            "this dispatcher has no DISPATCHER_ALERTMANAGER_TOKEN (or _USERNAME and _PASSWORD), "
            "so it accepts no alerts; ask MedCom to configure it",
            headers={"Retry-After": "60"},
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and _same(given.strip(), token):
        return
    if user and scheme.lower() == "basic":
        try:
            name, _, secret = base64.b64decode(given.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            name, secret = "", ""
        if _same(name, user) and _same(secret, password):
            return
    reject(
        401,
        "unauthorized",
        "missing or wrong credentials: set http_config.authorization (Bearer) or basic_auth",
        headers={"WWW-Authenticate": 'Bearer realm="fmk", Basic realm="fmk"'},
    )


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@router.post(
    PATH,
    summary="Receive a notification from Alertmanager's webhook_config (version 4)",
    operation_id="receiveAlertmanagerNotification",
    response_class=JSONResponse,
)
async def receive(request: Request) -> JSONResponse:
    """Firing alerts that match DISPATCHER_ALERTMANAGER_MATCHERS are an outage signal, their
    resolution a resolved signal; one incident per alert group, each notification handled
    once. See docs/integrations.md."""
    http = services(request)
    settings = http.runtime.settings
    now = http.clock.now()
    try:
        _authorised(request, settings)
        check_declared_length(request, MAX_BODY)
        body = await read_body(request, MAX_BODY)
        try:
            note = alertmanager.NotificationIn.model_validate_json(body)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            reject(400, "invalid_notification", f"{where}: {first['msg']}")
    except Rejection as rejection:
        log.warning("alertmanager.rejected", status=rejection.status_code, error=rejection.error)
        return rejection.response()
    found = alertmanager.decide(note, parse(settings.alertmanager_matchers))
    if found is None:
        log.info("alertmanager.ignored", alerts=len(note.alerts), reason="no alert matches")
        return JSONResponse({"action": "ignored", "reason": "no alert matches"}, 200)
    try:
        outcome = await run_in_threadpool(
            receive_alert,
            http.runtime.dispatch,
            settings,
            group=f"am-{found.group}"[:80],
            event_id=found.event_id,
            firing=found.firing,
            summary=found.summary,
            details=found.details,
            started_at=found.started_at,
            now=now,
            truncated=found.truncated,
        )
    except SQLAlchemyError as exc:
        if not transient(exc):
            raise
        reason = database_error(exc, http.runtime.engine)
        log.warning("alertmanager.unstored", reason=reason)
        body_out: dict[str, Any] = {"error": "database_unavailable", "detail": reason}
        return JSONResponse(body_out, 503, headers=unavailable_headers())
    log.info("alertmanager.answered", status=outcome.status_code, **outcome.body)
    # Anything handled is a success to Alertmanager, a rejection included: retrying the same
    # notification cannot change the answer.
    return JSONResponse(outcome.body, 200 if outcome.status_code < 500 else 503)
