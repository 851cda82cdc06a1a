"""A person's paging channels and phone number in escalation.csv (the optional columns `phone`
and `channels`); a number is checked and stored in E.164 as every number in the registry is
(`contacts.phones`)."""

from __future__ import annotations

from dispatcher.contacts.csvcheck import FileCheck
from dispatcher.contacts.model import Channel
from dispatcher.contacts.phones import PhoneError, parse_phone


def phone(check: FileCheck, line: int, person: str, value: str) -> str | None:
    """`value` as E.164 (+4534412345), or None (and a problem naming the person) if it is not
    a valid number; an empty value is no number."""
    if not value:
        return None
    try:
        return parse_phone(value)
    except PhoneError as exc:
        check.error(line, f"{person}: {exc}")
        return None


def channels(
    check: FileCheck, line: int, person: str, value: str, number: str | None
) -> tuple[Channel, ...]:
    """The channels in `value` ("sms;email"), in order; empty means e-mail only. SMS needs a
    phone number."""
    names = [part.strip().lower() for part in value.split(";") if part.strip()]
    found: list[Channel] = []
    for name in names:
        try:
            channel = Channel(name)
        except ValueError:
            expected = ", ".join(Channel)
            check.error(line, f"{person}: unknown channel {name!r}; expected one of {expected}")
            continue
        if channel in found:
            check.error(line, f"{person}: channel {name!r} is listed twice")
        found.append(channel)
    if Channel.SMS in found and number is None:
        check.error(line, f"{person}: channel 'sms' needs a phone number")
    return tuple(dict.fromkeys(found)) or (Channel.EMAIL,)
