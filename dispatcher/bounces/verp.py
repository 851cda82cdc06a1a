"""VERP: every delivery goes out with its own return path, `bounces+<id>-<mac>@domain`, so the
bounce it may cause names the delivery. The MAC (HMAC-SHA256 under the link secret, 48 bits)
keeps anyone who can write to the bounce mailbox from marking other deliveries bounced."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable

from dispatcher.config import Settings

MAC_CHARS = 12


def _mac(secret: str, delivery_id: int) -> str:
    digest = hmac.new(secret.encode(), f"fmk-bounce:{delivery_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:MAC_CHARS]


def return_path(bounce_address: str, secret: str, delivery_id: int) -> str:
    """The envelope sender for delivery `delivery_id`: `local+<id>-<mac>@domain`."""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{delivery_id}-{_mac(secret, delivery_id)}@{domain}"


def delivery_of(address: str, bounce_address: str, secret: str) -> int | None:
    """The delivery whose return path `address` is, or None (another address, a bad MAC)."""
    local, _, domain = bounce_address.rpartition("@")
    pattern = rf"{re.escape(local)}\+(\d{{1,18}})-([0-9a-f]{{{MAC_CHARS}}})@{re.escape(domain)}"
    found = re.fullmatch(pattern, address.strip(), flags=re.IGNORECASE)
    if found is None:
        return None
    delivery_id = int(found.group(1))
    if not hmac.compare_digest(found.group(2).lower(), _mac(secret, delivery_id)):
        return None
    return delivery_id


def envelope_from(settings: Settings) -> Callable[[int, str], str]:
    """`(delivery id, the message's sender) → MAIL FROM`: the VERP return path when
    `DISPATCHER_BOUNCE_ADDRESS` is set, else the sender as it is."""
    address = settings.bounce_address
    if address is None:
        return lambda _delivery_id, sender: sender
    secret = settings.link_secret.get_secret_value()
    return lambda delivery_id, _sender: return_path(address, secret, delivery_id)
