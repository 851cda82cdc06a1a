"""Signed, expiring links: acknowledgement links for the page mails, and the "Bekræft
modtagelse" links in the municipal notices.

An acknowledgement link carries the incident, the person paged, a random nonce (so that a used
link can be recognised) and when it was issued; a receipt link carries the incident, the
municipality and when it was issued. Both are signed with `link_secret`, each kind with its
own salt, so one cannot stand in for the other. Nothing here reads the clock: the caller
passes `issued_at` and `now`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadData, URLSafeSerializer

SALT = "fmk-ack"
RECEIPT_SALT = "fmk-receipt"
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


@dataclass(frozen=True)
class ReceiptClaim:
    """What a valid receipt link says: municipality `code` may confirm incident `incident_id`."""

    incident_id: int
    code: int
    issued_at: datetime


def _serializer(secret: str, salt: str = SALT) -> URLSafeSerializer:
    if not secret:
        raise ValueError("the link secret is empty")
    return URLSafeSerializer(secret, salt=salt)


def make_ack_token(secret: str, *, incident_id: int, person: str, issued_at: datetime) -> str:
    """A signed token for `person` to acknowledge incident `incident_id`, with a fresh nonce."""
    payload = {
        "i": incident_id,
        "p": person,
        "n": secrets.token_urlsafe(NONCE_BYTES),
        "t": _aware(issued_at),
    }
    token = _serializer(secret).dumps(payload)
    assert isinstance(token, str)
    return token


def read_ack_token(secret: str, token: str, *, now: datetime, ttl: timedelta) -> AckClaim:
    """The claim in `token`, if we signed it and it was issued less than `ttl` before `now`.

    Raises `LinkInvalid` for anything we did not sign as an acknowledgement link, and
    `LinkExpired` for a link of ours that is too old.
    """
    claim = _claim(_load(secret, SALT, token))
    if claim is None:
        raise LinkInvalid("the link is signed but does not hold an acknowledgement")
    _check_age(claim.incident_id, claim.issued_at, now, ttl)
    return claim


def _load(secret: str, salt: str, token: str) -> Any:
    try:
        return _serializer(secret, salt).loads(token)
    except BadData as exc:
        raise LinkInvalid() from exc


def _check_age(incident_id: int, issued_at: datetime, now: datetime, ttl: timedelta) -> None:
    if now >= issued_at + ttl:
        raise LinkExpired(
            f"the link for incident #{incident_id} was issued "
            f"{issued_at.isoformat()} and worked for {ttl}",
            incident_id=incident_id,
        )


def _aware(issued_at: datetime) -> int:
    if issued_at.tzinfo is None or issued_at.utcoffset() is None:
        raise ValueError("issued_at must be timezone-aware")
    return int(issued_at.timestamp())


def make_receipt_token(secret: str, *, incident_id: int, code: int, issued_at: datetime) -> str:
    """A signed token for municipality `code` to confirm that it received incident
    `incident_id`'s notices."""
    payload = {"i": incident_id, "k": code, "t": _aware(issued_at)}
    token = _serializer(secret, RECEIPT_SALT).dumps(payload)
    assert isinstance(token, str)
    return token


def read_receipt_token(secret: str, token: str, *, now: datetime, ttl: timedelta) -> ReceiptClaim:
    """The claim in `token`, if we signed it as a receipt link less than `ttl` before `now`;
    raises `LinkInvalid` or `LinkExpired` as `read_ack_token` does."""
    payload = _load(secret, RECEIPT_SALT, token)
    found = isinstance(payload, dict)
    incident_id, code, issued = (payload.get(k) for k in ("i", "k", "t")) if found else (0, 0, 0)
    issued_at = _instant(issued)
    if not (_positive(incident_id) and _positive(code)) or issued_at is None:
        raise LinkInvalid("the link is signed but does not hold a receipt confirmation")
    assert isinstance(incident_id, int)
    assert isinstance(code, int)
    _check_age(incident_id, issued_at, now, ttl)
    return ReceiptClaim(incident_id=incident_id, code=code, issued_at=issued_at)


def _positive(value: Any) -> bool:
    # bool is an int in Python; a link never carries one
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _claim(payload: Any) -> AckClaim | None:
    if not isinstance(payload, dict):
        return None
    incident_id, person, nonce, issued = (payload.get(k) for k in ("i", "p", "n", "t"))
    issued_at = _instant(issued)
    if not _positive(incident_id) or issued_at is None:
        return None
    if not isinstance(person, str) or not person or not isinstance(nonce, str) or not nonce:
        return None
    assert isinstance(incident_id, int)
    return AckClaim(incident_id=incident_id, person=person, nonce=nonce, issued_at=issued_at)


def ack_url(public_url: str, token: str) -> str:
    """The link to put in the page mail: `{public_url}/ack/{token}`."""
    return f"{public_url.rstrip('/')}/ack/{token}"


def receipt_url(public_url: str, incident_id: int, token: str) -> str:
    """The "Bekræft modtagelse" link: `{public_url}/receipt/{incident}/{token}`."""
    return f"{public_url.rstrip('/')}/receipt/{incident_id}/{token}"
