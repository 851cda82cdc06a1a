"""The on-call staff with phones (numbers of the form +45 34 41 23 4x: the example number
libphonenumber publishes for Denmark, used only against the fake gateway on loopback)."""

from __future__ import annotations

from dataclasses import replace

from dispatcher.contacts.model import Channel, Person, Registry

PHONES = {
    "khs@medcom.dk": "+4534412345",
    "ibs@medcom.dk": "+4534412346",
    "prk@kl.dk": "+4534412347",
}
UNKNOWN_PHONE = "+4534412399"
SMS_TOKEN = "fake-gateway-token"
SMS_SECRET = "sms-webhook-secret-of-at-least-32-bytes"


def with_phones(registry: Registry) -> Registry:
    """`registry` whose on-call and fallback people page by SMS first, then e-mail."""

    def paged(person: Person) -> Person:
        phone = PHONES.get(person.email)
        if phone is None:
            return person
        return replace(person, phone=phone, channels=(Channel.SMS, Channel.EMAIL))

    esc = registry.escalation
    return replace(
        registry,
        escalation=replace(
            esc,
            oncall=tuple(paged(p) for p in esc.oncall),
            fallback=tuple(paged(p) for p in esc.fallback),
            staff=tuple(paged(p) for p in esc.staff),
        ),
    )
