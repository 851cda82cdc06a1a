"""The signature on SDS's webhook requests. Pure: the caller passes the time.

The scheme, as SDS implements it (docs/sds-integration.md walks through it):

    X-SDS-Timestamp: <unix time in whole seconds, decimal digits only>
    X-SDS-Signature: v1=<hex>

where `<hex>` is the lowercase hexadecimal HMAC-SHA256, keyed with the shared secret (its UTF-8
bytes), of the ASCII timestamp exactly as sent in `X-SDS-Timestamp`, one full stop, then the
raw request body byte for byte:

    HMAC-SHA256(secret, f"{timestamp}.".encode("ascii") + raw_body).hexdigest()

A request is accepted when both headers are present and well formed, the timestamp is at most
`tolerance` (5 minutes by default) before or after the receiver's clock, and the signature
equals the expected one under a constant-time comparison (`hmac.compare_digest`). The timestamp
is covered by the signature, so an old request cannot be replayed with a fresh timestamp; a
replay inside the tolerance is harmless because signals are idempotent by event id.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timedelta

TIMESTAMP_HEADER = "X-SDS-Timestamp"
SIGNATURE_HEADER = "X-SDS-Signature"
VERSION = "v1"

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v1=([0-9a-fA-F]{64})")


class SignatureError(Exception):
    """The request is not signed, or not signed correctly; `code` is for machines."""

    MISSING = "missing_signature"
    MALFORMED = "malformed_signature"
    STALE = "stale_timestamp"
    BAD = "bad_signature"

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def _mac(secret: bytes, timestamp: str, body: bytes) -> str:
    if not secret:
        raise ValueError("the webhook secret is empty")
    return hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The `X-SDS-Signature` header value for `body` sent at `timestamp` (unix seconds)."""
    if timestamp < 0:
        raise ValueError("the timestamp must not be negative")
    return f"{VERSION}={_mac(secret, str(timestamp), body)}"


def verify(
    secret: bytes,
    *,
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    now: datetime,
    tolerance: timedelta,
) -> None:
    """Return if the request is authentic and fresh; raise `SignatureError` saying why not.

    The error details never contain the secret, the expected signature or the one received.
    """
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    timestamp = (timestamp_header or "").strip()
    signature = (signature_header or "").strip()
    missing = [
        name
        for name, value in ((TIMESTAMP_HEADER, timestamp), (SIGNATURE_HEADER, signature))
        if not value
    ]
    if missing:
        raise SignatureError(SignatureError.MISSING, f"header {' and '.join(missing)} is missing")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError(
            SignatureError.MALFORMED,
            f"{TIMESTAMP_HEADER} must be unix time in whole seconds (decimal digits only)",
        )
    match = _SIGNATURE.fullmatch(signature)
    if match is None:
        raise SignatureError(
            SignatureError.MALFORMED,
            f"{SIGNATURE_HEADER} must be 'v1=' followed by 64 hexadecimal digits (HMAC-SHA256)",
        )
    skew = now.timestamp() - int(timestamp)
    if abs(skew) > tolerance.total_seconds():
        direction = "behind" if skew > 0 else "ahead of"
        raise SignatureError(
            SignatureError.STALE,
            f"{TIMESTAMP_HEADER} is {abs(skew):.0f} s {direction} the receiver's clock; at most "
            f"{tolerance.total_seconds():.0f} s are accepted (check the sender's clock, and sign "
            "each attempt anew)",
        )
    expected = _mac(secret, timestamp, body).encode("ascii")
    received = match.group(1).lower().encode("ascii")
    if not hmac.compare_digest(expected, received):
        raise SignatureError(
            SignatureError.BAD,
            "the signature does not match the body and timestamp under the shared secret",
        )
