"""The SMS gateway's callbacks and the short links in SMS pages.

`POST /api/sms/reports` takes delivery reports, `POST /api/sms/inbound` replies (inbound SMS).
Both check cheapest and least trusting first, and the first that fails answers:

    413 body_too_large        Content-Length or the bytes read over DISPATCHER_SMS_MAX_BODY
    415 unsupported_media_type Content-Type is not application/json
    503 sms_not_configured    no DISPATCHER_SMS_WEBHOOK_SECRET on this daemon
    401 missing_signature | bad_signature | signature_mismatch   not proven to be the gateway's
    400 malformed_json        not UTF-8 JSON
    422 invalid_callback      not the provider's documented shape (unknown fields refused)
    409 repeated              this report (id and status) or this inbound SMS came before

A refused callback changes nothing. `GET /p/{key}` is the short acknowledgement link of an SMS
page: it redirects to the page's signed link (`/ack/…`), which shows the button.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlmodel import col
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from dispatcher.http.deps import services
from dispatcher.http.html import PAGE_HEADERS
from dispatcher.http.intake import (
    Rejection,
    check_content_type,
    check_declared_length,
    read_body,
    reject,
)
from dispatcher.incidents.service import Dispatch
from dispatcher.paging import provider
from dispatcher.paging.gateway import CallbackRejected, SmsCallbacks
from dispatcher.paging.outbox import SHORT_PATH
from dispatcher.paging.replies import handle_reply
from dispatcher.paging.reports import apply_report
from dispatcher.store.db import read_only
from dispatcher.store.tables import PageCodeRow

log = structlog.get_logger(__name__)

router = APIRouter(tags=["sms"])

T = TypeVar("T")

_CONTRACT: dict[int | str, dict[str, Any]] = {
    200: {"description": "Taken: `action` says what it did (nothing changes twice)."},
    400: {"description": "`malformed_json`."},
    401: {"description": "`missing_signature`, `bad_signature` or `signature_mismatch`."},
    409: {"description": "`repeated`: this callback came before; nothing changes."},
    413: {"description": "`body_too_large`: over DISPATCHER_SMS_MAX_BODY bytes."},
    415: {"description": "`unsupported_media_type`."},
    422: {"description": "`invalid_callback`: not the documented fields and types."},
    503: {"description": "`sms_not_configured`: no DISPATCHER_SMS_WEBHOOK_SECRET."},
}
_SIGNED = {
    "parameters": [
        {
            "name": "X-Gwapi-Signature",
            "in": "header",
            "required": True,
            "description": "A JWT (HS256) signed with the webhook's authentication token "
            "(DISPATCHER_SMS_WEBHOOK_SECRET) whose claims carry every field of the body.",
            "schema": {"type": "string"},
        }
    ],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}},
}


@router.post(
    provider.REPORTS_PATH,
    summary="A delivery report from the SMS gateway",
    operation_id="receiveSmsReport",
    responses=_CONTRACT,
    openapi_extra=_SIGNED,
)
async def reports(request: Request) -> JSONResponse:
    """GatewayAPI's delivery status notification (`id, msisdn, time, status, error, code,
    userref`). Idempotent; a final status is never replaced. See docs/paging.md."""
    return await _intake(request, "report", lambda c: c.read_report, apply_report)


@router.post(
    provider.INBOUND_PATH,
    summary="An SMS sent to MedCom's number (a reply to a page)",
    operation_id="receiveSmsReply",
    responses=_CONTRACT,
    openapi_extra=_SIGNED,
)
async def inbound(request: Request) -> JSONResponse:
    """GatewayAPI's MO SMS (`id, msisdn, receiver, message, senttime, …`). A reply with a
    page's code from the paged number acknowledges; anything else changes nothing."""
    return await _intake(request, "inbound", lambda c: c.read_inbound, handle_reply)


@router.get(SHORT_PATH + "{key}", response_class=HTMLResponse, include_in_schema=False)
def short_link(key: str, request: Request) -> Response:
    svc = services(request)
    with read_only(svc.runtime.engine) as session:
        target = session.scalar(
            select(col(PageCodeRow.ack_url)).where(col(PageCodeRow.link_key) == key)
        )
    if not target:
        html = "<!DOCTYPE html><html lang=da><title>FMK-beredskab</title><p>Linket er ugyldigt."
        return HTMLResponse(html, 404, headers=PAGE_HEADERS)
    return RedirectResponse(target, 303, headers=PAGE_HEADERS)


async def _intake(
    request: Request,
    kind: str,
    reader: Callable[[SmsCallbacks], Callable[[Mapping[str, str], bytes], T]],
    handle: Callable[[Dispatch, T, datetime], str],
) -> JSONResponse:
    http = services(request)
    settings = http.runtime.settings
    client = request.client.host if request.client else None
    try:
        check_declared_length(request, settings.sms_max_body)
        check_content_type(request)
        callbacks = provider.callbacks(settings)
        if callbacks is None:
            reject(
                503,
                "sms_not_configured",
                "this dispatcher has no DISPATCHER_SMS_WEBHOOK_SECRET, so it cannot tell the "
                "gateway's callbacks from forgeries and accepts none",
            )
        body = await read_body(request, settings.sms_max_body)
        try:
            callback = reader(callbacks)(request.headers, body)
        except CallbackRejected as exc:
            reject(exc.status_code, exc.error, exc.detail)
        done = await run_in_threadpool(handle, http.runtime.dispatch, callback, http.clock.now())
        if done == "repeated":
            reject(409, "repeated", f"this {kind} came before; nothing changed")
    except ClientDisconnect:
        log.info("sms_callback.client_disconnected", kind=kind, client=client)
        return JSONResponse({"error": "client_disconnected"}, 400)
    except Rejection as rejection:
        log.warning(
            "sms_callback.rejected",
            kind=kind,
            status=rejection.status_code,
            error=rejection.error,
            detail=rejection.detail,
            client=client,
        )
        return rejection.response()
    log.info("sms_callback.taken", kind=kind, action=done, client=client)
    http.wake_senders()
    return JSONResponse({"action": done})
