"""Telephone numbers in the registry: parsed and checked with `phonenumbers` (Google's
libphonenumber), stored as E.164 (+4533663366), shown in international form (+45 33 66 33 66).
A number without a country code is taken as Danish."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "DK"


class PhoneError(ValueError):
    """Not a valid telephone number; the message says why."""


def parse_phone(text: str) -> str:
    """`text` as E.164, or PhoneError."""
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"telephone number {text!r} cannot be read: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        region = phonenumbers.region_code_for_number(number) or "no known country"
        raise PhoneError(f"telephone number {text!r} is not a valid number ({region})")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display(e164: str) -> str:
    """The stored number as people dial it: "+45 33 66 33 66"."""
    number = phonenumbers.parse(e164, DEFAULT_REGION)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
