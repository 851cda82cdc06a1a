"""Who has been told: each municipality's deliveries and receipt confirmation for one
incident, the silent ones to remind and the ones to call, in the order to call them.

Pure: the adapter reads the delivery rows and the confirmations, these functions decide.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Reach(StrEnum):
    """How far an incident's municipal notices got with one municipality."""

    BOUNCED = "bounced"  # every accepted message came back; none reached a mailbox
    FAILED = "failed"  # the relay refused every address for good
    WAITING = "waiting"  # nothing accepted yet; a delivery waits for the relay
    DELIVERED = "delivered"  # the relay accepted it; nobody has confirmed
    CONFIRMED = "confirmed"  # someone pressed "Bekræft modtagelse"

    @property
    def rejected(self) -> bool:
        """Bounced or refused: the address is wrong, a phone call is needed."""
        return self in (Reach.BOUNCED, Reach.FAILED)


# The order of `to_call`: the unreachable first, then the silent, the confirmed last.
CALL_ORDER = (Reach.BOUNCED, Reach.FAILED, Reach.WAITING, Reach.DELIVERED, Reach.CONFIRMED)


@dataclass(frozen=True)
class Receipt:
    """One municipality's deliveries (one per address and notice) and its confirmation."""

    code: int
    delivered: int = 0
    bounced: int = 0
    failed: int = 0
    waiting: int = 0
    confirmed_at: datetime | None = None

    @property
    def reach(self) -> Reach:
        if self.confirmed_at is not None:
            return Reach.CONFIRMED
        if self.delivered:
            return Reach.DELIVERED
        if self.waiting:
            return Reach.WAITING
        return Reach.BOUNCED if self.bounced else Reach.FAILED

    @property
    def informed(self) -> bool:
        """A mailbox got it: accepted and not bounced, or confirmed."""
        return self.reach in (Reach.DELIVERED, Reach.CONFIRMED)


@dataclass(frozen=True)
class Summary:
    total: int
    informed: int
    confirmed: int
    rejected: int

    @property
    def not_reached(self) -> int:
        """Municipalities no mailbox has got the notice to (yet)."""
        return self.total - self.informed

    def danish(self) -> str:
        """E.g. "informeret 95/98, bekræftet 71/98, 3 afvist"."""
        return (
            f"informeret {self.informed}/{self.total}, "
            f"bekræftet {self.confirmed}/{self.total}, {self.rejected} afvist"
        )


def summarise(receipts: Iterable[Receipt]) -> Summary:
    reaches = [r.reach for r in receipts]
    return Summary(
        total=len(reaches),
        informed=sum(r in (Reach.DELIVERED, Reach.CONFIRMED) for r in reaches),
        confirmed=reaches.count(Reach.CONFIRMED),
        rejected=sum(r.rejected for r in reaches),
    )


def to_call(receipts: Iterable[Receipt]) -> tuple[Receipt, ...]:
    """Every municipality in the order to call them: bounced, refused, waiting, silent,
    confirmed; by code within each."""
    return tuple(sorted(receipts, key=lambda r: (CALL_ORDER.index(r.reach), r.code)))


def silent(receipts: Iterable[Receipt]) -> tuple[int, ...]:
    """The municipalities to remind: neither confirmed nor bounced or refused."""
    return tuple(r.code for r in to_call(receipts) if r.reach in (Reach.WAITING, Reach.DELIVERED))


def unconfirmed(receipts: Iterable[Receipt]) -> tuple[int, ...]:
    """The municipalities to call: every one that has not confirmed, in calling order."""
    return tuple(r.code for r in to_call(receipts) if r.reach is not Reach.CONFIRMED)


@dataclass(frozen=True)
class RelayTrouble:
    """The mail relay fails: since when, its last reply, and how many of the incident's
    deliveries wait after a failed attempt."""

    failing_since: datetime
    reply: str
    waiting: int


@dataclass(frozen=True)
class Seen:
    """What the adapter found for a tick besides the incident: each municipality's receipt
    and the relay's trouble, if any."""

    receipts: tuple[Receipt, ...] = ()
    relay: RelayTrouble | None = None
