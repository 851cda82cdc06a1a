"""GatewayAPI (gatewayapi.com), the Danish SMS provider: its REST API's wire format, and nothing
else knows it.

Sending: `POST {base}/rest/mtsms` with the API token as the HTTP Basic user name (empty
password) and a JSON body `{sender, message, recipients: [{msisdn}], userref, callback_url,
encoding, class, priority, max_parts}`; `encoding` is `UTF8` (GatewayAPI's name for the GSM 03.38
alphabet) or `UCS2`. A 200 answers `{"ids": [id], "usage": …}`; an error `{"code", "message",
…}`. Status 429 carries Retry-After; 5xx and timeouts are worth another try, other 4xx are not.

Callbacks: a delivery status notification `{id, msisdn, time, status, error, code, userref}`
(status in capitals, e.g. `DELIVERED`) and an inbound SMS (MO) `{id, msisdn, receiver, message,
senttime, webhook_label, …}`, each with the header `X-Gwapi-Signature`: a JWT (HS256) signed
with the authentication token set on the webhook in GatewayAPI's dashboard, whose claims are
the same fields. A callback is accepted only if that JWT verifies under our secret and its
claims carry every field of the body with the same value, so a signature lifted from one
callback cannot vouch for another body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal, TypeVar

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, ValidationError

from dispatcher.paging.gateway import (
    Accepted,
    CallbackRejected,
    DeliveryReport,
    GatewayFailure,
    InboundSms,
    Outcome,
    OutgoingSms,
)
from dispatcher.paging.sms_text import MAX_PARTS, Encoding

M = TypeVar("M", bound=BaseModel)

SIGNATURE_HEADER = "X-Gwapi-Signature"
SEND_PATH = "/rest/mtsms"
ACCOUNT_PATH = "/rest/me"
DEFAULT_WAIT = timedelta(seconds=60)

_OUTCOMES = {
    "DELIVERED": Outcome.DELIVERED,
    "ACCEPTED": Outcome.DELIVERED,
    "UNDELIVERABLE": Outcome.FAILED,
    "EXPIRED": Outcome.FAILED,
    "REJECTED": Outcome.FAILED,
    "DELETED": Outcome.FAILED,
    "SKIPPED": Outcome.FAILED,
    "UNKNOWN": Outcome.PENDING,
    "SCHEDULED": Outcome.PENDING,
    "BUFFERED": Outcome.PENDING,
    "ENROUTE": Outcome.PENDING,
}
Status = Literal[
    "UNKNOWN",
    "SCHEDULED",
    "BUFFERED",
    "ENROUTE",
    "DELIVERED",
    "EXPIRED",
    "DELETED",
    "UNDELIVERABLE",
    "ACCEPTED",
    "REJECTED",
    "SKIPPED",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class StatusNotification(_Strict):
    """GatewayAPI's delivery status notification, as documented (and `callback_url`, `api`)."""

    id: int
    msisdn: int
    time: int
    status: Status
    error: str | None = None
    code: str | None = None
    userref: str | None = None
    callback_url: str | None = None
    api: int | None = None


class MoSms(_Strict):
    """GatewayAPI's inbound (MO) SMS, as documented."""

    id: int
    msisdn: int
    receiver: int
    message: str
    senttime: int
    webhook_label: str | None = None
    sender: str | None = None
    mcc: int | None = None
    mnc: int | None = None
    validity_period: int | None = None
    encoding: str | None = None
    udh: str | None = None
    payload: str | None = None


class GatewayApi:
    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        sender: str,
        callback_url: str,
        message_class: str = "standard",
        priority: str = "NORMAL",
        timeout: float = 10.0,
    ) -> None:
        self._base_url = base_url
        self._auth = httpx.BasicAuth(token, "")
        self._timeout = timeout
        self._open: httpx.AsyncClient | None = None
        self._sender = sender
        self._callback_url = callback_url
        self._class = message_class
        self._priority = priority

    @property
    def _client(self) -> httpx.AsyncClient:
        """One client with its connection pool, opened on first use (again after `close`)."""
        if self._open is None:
            self._open = httpx.AsyncClient(
                base_url=self._base_url, auth=self._auth, timeout=self._timeout
            )
        return self._open

    async def close(self) -> None:
        if self._open is not None:
            await self._open.aclose()
            self._open = None

    async def send(self, sms: OutgoingSms) -> Accepted:
        body = {
            "sender": self._sender,
            "message": sms.text,
            "recipients": [{"msisdn": int(sms.to.lstrip("+"))}],
            "userref": sms.reference,
            "callback_url": self._callback_url,
            "encoding": "UCS2" if sms.encoding is Encoding.UCS2 else "UTF8",
            "class": self._class,
            "priority": self._priority,
            "max_parts": MAX_PARTS,
        }
        try:
            response = await self._client.post(SEND_PATH, json=body)
        except httpx.TimeoutException as exc:
            raise GatewayFailure(f"timeout: {type(exc).__name__}", permanent=False) from exc
        except httpx.TransportError as exc:
            raise GatewayFailure(f"no answer: {exc!r}", permanent=False) from exc
        reply = f"{response.status_code} {_describe(response)}"
        if response.status_code == 200:
            ids = _json(response).get("ids") or []
            if not ids:
                raise GatewayFailure(f"200 without an id: {response.text[:200]}", permanent=False)
            return Accepted(provider_id=str(ids[0]), reply=f"200 accepted as {ids[0]}")
        if response.status_code == 429:
            raise GatewayFailure(reply, permanent=False, retry_after=_retry_after(response))
        permanent = 400 <= response.status_code < 500
        raise GatewayFailure(reply, permanent=permanent)

    async def reachable(self) -> str | None:
        try:
            response = await self._client.get(ACCOUNT_PATH)
        except httpx.HTTPError as exc:
            return f"no answer from {self._client.base_url}: {exc!r}"
        if response.status_code in (401, 403):
            return f"the gateway refuses the token: {response.status_code} {_describe(response)}"
        if response.status_code >= 500:
            return f"the gateway answers {response.status_code} {_describe(response)}"
        return None


class GatewayApiCallbacks:
    def __init__(self, webhook_secret: str) -> None:
        self._secret = webhook_secret

    def read_report(self, headers: Mapping[str, str], body: bytes) -> DeliveryReport:
        dsn = _authentic(self._secret, headers, body, StatusNotification)
        return DeliveryReport(
            provider_id=str(dsn.id),
            reference=dsn.userref,
            msisdn=f"+{dsn.msisdn}",
            status=dsn.status,
            outcome=_OUTCOMES[dsn.status],
            at=datetime.fromtimestamp(dsn.time, UTC),
            detail=" ".join(p for p in (dsn.code, dsn.error) if p),
        )

    def read_inbound(self, headers: Mapping[str, str], body: bytes) -> InboundSms:
        mo = _authentic(self._secret, headers, body, MoSms)
        return InboundSms(
            provider_id=str(mo.id),
            msisdn=f"+{mo.msisdn}",
            text=mo.message,
            at=datetime.fromtimestamp(mo.senttime, UTC),
        )


def sign(secret: str, body: bytes) -> str:
    """The `X-Gwapi-Signature` GatewayAPI would send with `body` (for the fake gateway)."""
    return jwt.encode(json.loads(body), secret, algorithm="HS256")


def _authentic(secret: str, headers: Mapping[str, str], body: bytes, model: type[M]) -> M:
    token = headers.get(SIGNATURE_HEADER, "").strip()
    if not token:
        raise CallbackRejected(401, "missing_signature", f"header {SIGNATURE_HEADER} is missing")
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"])
    except jwt.InvalidTokenError as exc:
        raise CallbackRejected(
            401, "bad_signature", f"{SIGNATURE_HEADER} is not a JWT signed with our secret ({exc})"
        ) from exc
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CallbackRejected(400, "malformed_json", f"the body is not UTF-8 JSON: {exc}") from exc
    if not isinstance(parsed, dict) or any(
        key not in claims or claims[key] != value for key, value in parsed.items()
    ):
        raise CallbackRejected(
            401, "signature_mismatch", f"the body is not the one {SIGNATURE_HEADER} was signed for"
        )
    try:
        return model.model_validate(parsed)
    except ValidationError as exc:
        first = exc.errors()[:5]
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in first)
        raise CallbackRejected(422, "invalid_callback", detail) from exc


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        found = response.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _describe(response: httpx.Response) -> str:
    found = _json(response)
    if "message" in found:
        return f"{found.get('code', '')} {found['message']}".strip()
    return response.reason_phrase or response.text[:200]


def _retry_after(response: httpx.Response) -> timedelta:
    """Retry-After in seconds or as an HTTP date (against the answer's own Date header)."""
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        until = parsedate_to_datetime(value)
        sent = parsedate_to_datetime(response.headers.get("date", ""))
    except (TypeError, ValueError):
        return DEFAULT_WAIT
    return max(until - sent, timedelta(0))
