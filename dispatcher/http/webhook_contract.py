"""The SDS webhook's published contract: the answer and error bodies, the headers and the
request body as the OpenAPI document shows them (`/openapi.json`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dispatcher.http.intake import JSON_MEDIA_TYPE
from dispatcher.signals.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER
from dispatcher.signals.schema import MAX_PROBLEMS, published_schema


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


_SIGNAL_SCHEMA = published_schema()

OPENAPI_EXTRA: dict[str, Any] = {
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
        description="opened, attached, recovering, awaiting_owner, resolved, heartbeat, "
        "ignored; suppressed (an outage or resolved during a maintenance window); scheduled, "
        "changed, unchanged or cancelled (a maintenance signal)."
    )
    incident: int | None = Field(None, description="The incident number, if one is concerned.")
    maintenance: int | None = Field(
        None, description="The maintenance window's number, if one is concerned."
    )
    duplicate: bool | None = Field(None, description="True on a repeat of an event id.")


def _answer(description: str) -> dict[str, Any]:
    return {"model": SignalAnswer, "description": description}


def _error(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"model": model, "description": description}


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _answer(
        "Done: `heartbeat` recorded, or the signal `attached` to the open incident, or "
        "`recovering` / `awaiting_owner` / `resolved` after `resolved`; `suppressed`: an "
        "outage (or resolved) that an active maintenance window explains, on the window's "
        "timeline, paging nobody; `changed`, `unchanged` or `cancelled` after `maintenance`. "
        "A repeat of an event "
        "id with the same body gets the first status and body plus `duplicate: true`, and "
        "nothing happens twice."
    ),
    201: _answer(
        "`opened`: an outage opened incident `incident`; `scheduled`: a maintenance signal "
        "planned window `maintenance`."
    ),
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
