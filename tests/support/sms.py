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


def with_phones(registry: Registry, phones: dict[str, str] = PHONES) -> Registry:
    """`registry` whose people in `phones` page by SMS first, then e-mail. For a registry
    without a rota.csv (a rota names the people it loaded with; give those phones in
    escalation.csv instead, as tests/e2e/sms/test_rota.py does)."""

    def paged(person: Person) -> Person:
        phone = phones.get(person.email)
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
