"""What a bounce means for an incident: a timeline entry for each, and for a notice that has
not reached a municipality or vendor of a live incident, a message to its owner at once."""

from __future__ import annotations

from dataclasses import dataclass

from dispatcher.core.enums import Audience, Info
from dispatcher.core.kinds import MUNICIPAL_KINDS, NoticeKind
from dispatcher.core.model import SYSTEM_ACTOR, Effect, Incident, Notify, Record

# The notices whose bounce means that somebody outside MedCom has not been told.
TELLING = frozenset({*MUNICIPAL_KINDS, NoticeKind.VENDOR_ALERT})


@dataclass(frozen=True)
class Bounce:
    """One delivery a DSN reported on: `permanent` failed for good, else it was delayed."""

    addressee: str  # "Aabenraa Kommune", a vendor's or a person's name
    recipient: str
    notice: NoticeKind
    sequence: int
    permanent: bool
    status: str
    diagnostic: str

    def describe(self) -> str:
        said = f"{self.status} {self.diagnostic}".strip()
        notice = f"notice #{self.sequence} ({self.notice})"
        if self.permanent:
            return f"{self.addressee} not reached: {self.recipient} bounced {notice}: {said}"
        return f"{self.addressee}: {notice} to {self.recipient} delayed, not final: {said}"

    def line(self) -> str:
        """For the owner, in Danish: who, which address, and what their server said."""
        said = f"{self.status} {self.diagnostic}".strip()
        return f"- {self.addressee} ({self.recipient}): {said}"


def on_bounces(incident: Incident, bounces: tuple[Bounce, ...]) -> tuple[Effect, ...]:
    """The timeline entries for `bounces` of `incident`'s deliveries, and while the incident
    is open, one notice to its owner (before anyone owns it, the on-call pair) listing those
    told parties that were not reached."""
    effects: list[Effect] = [
        Record("bounce" if b.permanent else "bounce_delayed", SYSTEM_ACTOR, b.describe())
        for b in bounces
    ]
    unreached = [b for b in bounces if b.permanent and b.notice in TELLING]
    if incident.status.is_open and unreached:
        effects.append(
            Notify(
                NoticeKind.ONCALL_INFO,
                message="\n".join(b.line() for b in unreached),
                audience=Audience.OWNER,
                info=Info.NOT_REACHED,
            )
        )
    return tuple(effects)
