"""What the contact registry holds: municipalities, EOJ vendors and the escalation contacts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dispatcher.contacts.rota import Rota

PLACEHOLDER_DOMAIN = ".example"


class EojSystem(StrEnum):
    """A municipality's care-record (EOJ) system. `unknown` is a fact, never a guess."""

    NEXUS = "nexus"
    CURA = "cura"
    VITAE = "vitae"
    OTHER = "other"
    UNKNOWN = "unknown"


class Channel(StrEnum):
    """How a person is paged; a person lists theirs in order in escalation.csv."""

    SMS = "sms"
    EMAIL = "email"


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    phone: str | None = None  # E.164, e.g. +4534412345
    channels: tuple[Channel, ...] = (Channel.EMAIL,)

    def pages_by(self, channel: Channel) -> bool:
        return channel in self.channels and (channel is not Channel.SMS or bool(self.phone))


@dataclass(frozen=True)
class Municipality:
    code: int
    name: str
    region_code: int
    region_name: str
    emails: tuple[str, ...]
    eoj: EojSystem = EojSystem.UNKNOWN
    sor_gln: str | None = None
    phone: str | None = None  # E.164
    # Where the reminder to confirm goes, if not to `emails`.
    alternate_emails: tuple[str, ...] = ()

    @property
    def audience(self) -> str:
        return f"kommune-{self.code}"


@dataclass(frozen=True)
class Vendor:
    key: str
    name: str
    system: EojSystem
    emails: tuple[str, ...]

    @property
    def audience(self) -> str:
        return f"vendor-{self.key}"


@dataclass(frozen=True)
class Escalation:
    oncall: tuple[Person, ...]
    fallback: tuple[Person, ...]
    sender: Person
    reply_to: Person
    # Who besides the on-call staff receives a drill's notices (role `drill`, optional).
    drill: tuple[Person, ...] = ()
    # Everyone with role `oncall`. `oncall` is all of them too until `on_duty` narrows it to
    # who is on call at an instant (`dispatcher.oncall.duty.on_duty`: the rota, overrides).
    staff: tuple[Person, ...] = ()

    def __post_init__(self) -> None:
        if not self.staff:
            object.__setattr__(self, "staff", self.oncall)

    def on_duty(self, people: tuple[Person, ...]) -> Escalation:
        """These contacts with `people` as the on-call staff (`staff` stays everyone)."""
        return replace(self, oncall=people, staff=self.staff)

    def person(self, email: str) -> Person:
        """The contact with this address, whatever their role; else one known by it alone."""
        known = {p.email.lower(): p for p in (*self.staff, *self.fallback, *self.drill)}
        return known.get(email.lower(), Person(email, email))

    @property
    def drill_staff(self) -> tuple[Person, ...]:
        """Everyone a drill's mail goes to by default: the on-call staff and the drill list
        (the outbox sends each address one message)."""
        return (*self.oncall, *self.drill)


@dataclass(frozen=True)
class Registry:
    municipalities: tuple[Municipality, ...]
    vendors: tuple[Vendor, ...]
    escalation: Escalation
    # The weekly on-call rotation of rota.csv; None: every on-call person at all times.
    rota: Rota | None = None

    def municipality(self, code: int) -> Municipality | None:
        return next((m for m in self.municipalities if m.code == code), None)


def is_placeholder(email: str) -> bool:
    return email.lower().endswith(PLACEHOLDER_DOMAIN)
