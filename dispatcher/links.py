"""Signed, expiring acknowledgement links for the page mails.

A link carries the incident, the person paged, a random nonce (so that a used link can be
recognised) and when it was issued, signed with `link_secret`. Nothing here reads the clock:
the caller passes `issued_at` and `now`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadData, URLSafeSerializer

SALT = "fmk-ack"
NONCE_BYTES = 16  # 22 characters of URL-safe base64, well inside ack_link.nonce (64)


class LinkError(Exception):
    """The link cannot be used. `danish` is for the page, `english` for logs and messages."""

    danish: str = "Linket kan ikke bruges."
    english: str = "the link cannot be used"

    def __init__(self, english: str | None = None) -> None:
        if english is not None:
            self.english = english
        super().__init__(self.english)


class LinkInvalid(LinkError):
    """Not a link we signed: garbage, tampered with, or signed with another secret."""

    danish = "Linket er ugyldigt. Det er ændret, afkortet eller ikke lavet af dispatcheren."
    english = "the link is invalid: altered, truncated or not signed by this dispatcher"


class LinkExpired(LinkError):
    """A link we signed, but older than the time a link works."""

    danish = "Linket er udløbet."
    english = "the link has expired"

    def __init__(self, english: str | None = None, *, incident_id: int) -> None:
        self.incident_id = incident_id
        super().__init__(english)


@dataclass(frozen=True)
class AckClaim:
    """What a valid link says: `person` may take ownership of incident `incident_id`."""

    incident_id: int
    person: str
    nonce: str
    issued_at: datetime


def _serializer(secret: str) -> URLSafeSerializer:
    if not secret:
        raise ValueError("the link secret is empty")
    return URLSafeSerializer(secret, salt=SALT)


def make_ack_token(secret: str, *, incident_id: int, person: str, issued_at: datetime) -> str:
    """A signed token for `person` to acknowledge incident `incident_id`, with a fresh nonce."""
    if issued_at.tzinfo is None or issued_at.utcoffset() is None:
        raise ValueError("issued_at must be timezone-aware")
    payload = {
        "i": incident_id,
        "p": person,
        "n": secrets.token_urlsafe(NONCE_BYTES),
        "t": int(issued_at.timestamp()),
    }
    token = _serializer(secret).dumps(payload)
    assert isinstance(token, str)
    return token


def read_ack_token(secret: str, token: str, *, now: datetime, ttl: timedelta) -> AckClaim:
    """The claim in `token`, if we signed it and it was issued less than `ttl` before `now`.

    Raises `LinkInvalid` for anything we did not sign as an acknowledgement link, and
    `LinkExpired` for a link of ours that is too old.
    """
    try:
        payload: Any = _serializer(secret).loads(token)
    except BadData as exc:
        raise LinkInvalid() from exc
    claim = _claim(payload)
    if claim is None:
        raise LinkInvalid("the link is signed but does not hold an acknowledgement")
    if now >= claim.issued_at + ttl:
        raise LinkExpired(
            f"the link for incident #{claim.incident_id} was issued "
            f"{claim.issued_at.isoformat()} and worked for {ttl}",
            incident_id=claim.incident_id,
        )
    return claim


def _claim(payload: Any) -> AckClaim | None:
    if not isinstance(payload, dict):
        return None
    incident_id, person, nonce, issued = (payload.get(k) for k in ("i", "p", "n", "t"))
    # bool is an int in Python; a link never carries one
    if not isinstance(incident_id, int) or isinstance(incident_id, bool) or incident_id < 1:
        return None
    if not isinstance(issued, int) or isinstance(issued, bool):
        return None
    if not isinstance(person, str) or not person or not isinstance(nonce, str) or not nonce:
        return None
    try:
        issued_at = datetime.fromtimestamp(issued, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return AckClaim(incident_id=incident_id, person=person, nonce=nonce, issued_at=issued_at)


def ack_url(public_url: str, token: str) -> str:
    """The link to put in the page mail: `{public_url}/ack/{token}`."""
    return f"{public_url.rstrip('/')}/ack/{token}"
