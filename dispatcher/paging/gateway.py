"""What the dispatcher needs of an SMS gateway, whatever the provider: send one SMS, and read the
two callbacks it makes (delivery reports and inbound SMS), authenticated. A provider's wire
format lives in one module that implements `SmsGateway` (`gatewayapi.py`); another provider is
one new module and one line in `provider.py`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from dispatcher.paging.sms_text import Encoding


@dataclass(frozen=True)
class OutgoingSms:
    reference: str  # ours (the delivery id), returned in the delivery reports
    to: str  # E.164
    text: str
    encoding: Encoding


@dataclass(frozen=True)
class Accepted:
    """The gateway took the SMS; `provider_id` is its id for it."""

    provider_id: str
    reply: str


class GatewayFailure(Exception):
    """The gateway did not take the SMS. `permanent`: do not try again (a 4xx other than 429);
    else try again, not before `retry_after` if the gateway said so (429 Retry-After)."""

    def __init__(
        self, reply: str, *, permanent: bool, retry_after: timedelta | None = None
    ) -> None:
        super().__init__(reply)
        self.reply = reply
        self.permanent = permanent
        self.retry_after = retry_after


class Outcome(StrEnum):
    """What a delivery report says, in our terms."""

    PENDING = "pending"  # on its way (buffered, enroute, scheduled); not final
    DELIVERED = "delivered"  # final
    FAILED = "failed"  # final: undeliverable, expired, rejected, deleted, skipped


@dataclass(frozen=True)
class DeliveryReport:
    provider_id: str
    reference: str | None
    msisdn: str  # E.164
    status: str  # the provider's own word, e.g. "UNDELIVERABLE"
    outcome: Outcome
    at: datetime
    detail: str


@dataclass(frozen=True)
class InboundSms:
    provider_id: str
    msisdn: str  # E.164
    text: str
    at: datetime


class CallbackRejected(Exception):
    """A callback that is refused: `status_code` 4xx, a stable `error` code and a `detail`."""

    def __init__(self, status_code: int, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.status_code = status_code
        self.error = error
        self.detail = detail


class SmsGateway(Protocol):
    async def send(self, sms: OutgoingSms) -> Accepted:
        """Send one SMS; raise `GatewayFailure`."""
        ...

    async def close(self) -> None: ...

    async def reachable(self) -> str | None:
        """None if the gateway answers and takes the token; else why not (for the doctor)."""
        ...


class SmsCallbacks(Protocol):
    """Reads the gateway's callbacks; needs no connection."""

    def read_report(self, headers: Mapping[str, str], body: bytes) -> DeliveryReport:
        """An authentic delivery report, or `CallbackRejected`."""
        ...

    def read_inbound(self, headers: Mapping[str, str], body: bytes) -> InboundSms:
        """An authentic inbound SMS, or `CallbackRejected`."""
        ...
