"""`POST /v2/enqueue`: PagerDuty's Events API v2, so tools with a PagerDuty integration
(Grafana, Zabbix, Nagios, …) raise an FMK incident by pointing their events URL here.

The routing key is DISPATCHER_PAGERDUTY_ROUTING_KEY. `trigger` is an outage signal (its
`dedup_key` names the alert; a new one is made when none is given), `acknowledge` takes
ownership of the incident that dedup key raised, `resolve` is a resolved signal for it. The
answers are PagerDuty's: 202 `{status, message, dedup_key}`; 400 `{status, message, errors}`
for an invalid event or routing key; 413 over 512 KB; 429 over the rate limit per routing key;
503 when the event could not be stored (tools retry 429 and 5xx).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import replace
from datetime import datetime

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from dispatcher.core.model import Acknowledge, Rejected
from dispatcher.http.deps import HttpServices, services
from dispatcher.http.errors import transient, unavailable_headers
from dispatcher.http.intake import Rejection, check_declared_length, read_body
from dispatcher.incidents import service
from dispatcher.integrations import pagerduty
from dispatcher.integrations.intake import group_incident, receive_alert
from dispatcher.signals.model import Severity

log = structlog.get_logger(__name__)

PATH = "/v2/enqueue"
ACTOR = "pagerduty"
router = APIRouter(tags=["integrations"])


def _invalid(errors: list[str]) -> JSONResponse:
    body = {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
    return JSONResponse(body, 400)


def _limiter(request: Request, limit: int) -> pagerduty.RateLimit:
    found = getattr(request.app.state, "pagerduty_limit", None)
    if not isinstance(found, pagerduty.RateLimit):
        found = pagerduty.RateLimit(limit)
        request.app.state.pagerduty_limit = found
    return found


@router.post(
    PATH,
    summary="Receive an event as PagerDuty's Events API v2 does",
    operation_id="enqueuePagerDutyEvent",
    response_class=JSONResponse,
    status_code=202,
)
async def enqueue(request: Request) -> JSONResponse:
    """trigger, acknowledge or resolve an FMK incident by `dedup_key`. See
    docs/integrations.md."""
    http = services(request)
    settings = http.runtime.settings
    now = http.clock.now()
    try:
        check_declared_length(request, pagerduty.MAX_BODY)
        body = await read_body(request, pagerduty.MAX_BODY)
    except Rejection:
        too_large = {"status": "invalid event", "message": "Request too large", "errors": []}
        return JSONResponse(too_large, 413, headers={"Connection": "close"})
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _invalid(["Event object is not valid JSON"])
    event, errors = pagerduty.check(data)
    if event is None:
        return _invalid(errors)
    expected = settings.pagerduty_routing_key
    if expected is None or not hmac.compare_digest(
        event.routing_key.encode(), expected.get_secret_value().encode()
    ):
        log.warning("pagerduty.unknown_routing_key")
        return _invalid(["Invalid routing key"])
    if not _limiter(request, settings.pagerduty_rate_limit).allow(event.routing_key, now):
        throttled = {
            "status": "throttle event",
            "message": "Requests for this service are arriving too quickly.  Please retry later.",
        }
        return JSONResponse(throttled, 429, headers={"Retry-After": "30"})
    if event.dedup_key is None:
        event = replace(event, dedup_key=uuid.uuid4().hex)
    try:
        await run_in_threadpool(_carry_out, http, event, hashlib.sha256(body).hexdigest(), now)
    except SQLAlchemyError as exc:
        if not transient(exc):
            raise
        unstored = {"status": "error", "message": "The event could not be stored; retry"}
        return JSONResponse(unstored, 503, headers=unavailable_headers())
    accepted = {"status": "success", "message": "Event processed", "dedup_key": event.dedup_key}
    return JSONResponse(accepted, 202)


def _carry_out(http: HttpServices, event: pagerduty.PdEvent, digest: str, now: datetime) -> None:
    """What the event does; an event that fits no open incident is dropped, as PagerDuty
    drops an acknowledge or resolve for an alert it does not have."""
    dispatch = http.runtime.dispatch
    settings = http.runtime.settings
    if event.action == "acknowledge":
        incident = group_incident(dispatch, event.group)
        if incident is not None:
            try:
                service.apply(dispatch, incident, Acknowledge(ACTOR), now)
            except Rejected as exc:
                log.info("pagerduty.acknowledge_ignored", incident_id=incident, reason=str(exc))
        return
    outcome = receive_alert(
        dispatch,
        settings,
        group=event.group,
        event_id=f"pd-{digest[:40]}",
        firing=event.action == "trigger",
        summary=event.summary,
        details=event.details,
        started_at=None,
        now=now,
        severity=Severity.DOWN if event.severity in ("critical", "error") else Severity.DEGRADED,
    )
    log.info(
        "pagerduty.handled", event_action=event.action, status=outcome.status_code, **outcome.body
    )
