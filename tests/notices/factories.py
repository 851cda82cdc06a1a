"""Hand-built recipients, contacts and notice contexts for the notice tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from dispatcher.contacts.model import EojSystem, Escalation, Municipality, Person, Vendor
from dispatcher.core.kinds import NoticeKind
from dispatcher.notices.context import IncidentFacts, NoticeContext

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
CONTACTS = ROOT / "contacts"

# Friday 31 December 2021 at 03:00 in Copenhagen.
DOWN_SINCE = datetime(2021, 12, 31, 2, 0, tzinfo=UTC)

ESCALATION = Escalation(
    oncall=(
        Person("Søren Ærbø", "sae@medcom.example"),
        Person("Åse Øster", "aoe@medcom.example"),
    ),
    fallback=(Person("Poul Erik Kristensen, KL", "pek@kl.example"),),
    sender=Person("MedCom FMK-beredskab", "fmk-beredskab@medcom.example"),
    reply_to=Person("MedComs vagt – FMK", "vagt@medcom.example"),
)


def municipality(code: int, name: str) -> Municipality:
    return Municipality(
        code=code,
        name=name,
        region_code=1084,
        region_name="Region Hovedstaden",
        emails=(f"fmk@{code}.kommune.example",),
    )


COPENHAGEN = municipality(101, "København")
LYNGBY = municipality(173, "Lyngby-Taarbæk")
BORNHOLM = municipality(400, "Bornholm")
AERO = municipality(492, "Ærø")
VENDOR = Vendor("systematic", "Systematic", EojSystem.CURA, ("fmk@systematic.example",))


def make_context(
    kind: NoticeKind,
    recipient: Municipality | Vendor = COPENHAGEN,
    *,
    summary: str = "Medicinkortet kan ikke åbnes",
    impact: str = "Plejepersonalet kan ikke se ændringer i medicinen.",
    guidance: str = "Brug den seneste udskrift af medicinlisten.",
    message: str | None = None,
    down_since: datetime = DOWN_SINCE,
    issued_after: timedelta = timedelta(minutes=20),
    resolved_after: timedelta | None = None,
    next_update_at: datetime | None = None,
    severity: str = "down",
) -> NoticeContext:
    issued_at = down_since + issued_after
    return NoticeContext(
        kind=kind,
        incident=IncidentFacts(
            number=12,
            summary=summary,
            details="Fejlen ligger hos driftsleverandøren.",
            impact=impact,
            guidance=guidance,
            down_since=down_since,
            resolved_at=down_since + resolved_after if resolved_after is not None else None,
            severity=severity,
        ),
        sequence=3 if kind is NoticeKind.UPDATE else 1,
        issued_at=issued_at,
        next_update_at=next_update_at,
        message=message,
        recipient=recipient,
        municipality_count=98,
        contacts=ESCALATION,
    )


# The escalation notices: to one EOJ vendor (vendor_alert) or one person (page, owner, info).

IBEN = Person("Iben Søgaard", "ibs@medcom.example")
ACK_URL = "https://fmk.medcom.example/ack/12?t=a1b2&u=ibs"


def make_escalation_context(
    kind: NoticeKind,
    recipient: Vendor | Person = IBEN,
    *,
    summary: str = "Medicinkortet kan ikke åbnes",
    message: str | None = None,
    title: str | None = None,
    ack_url: str | None = ACK_URL,
    page_round: int = 1,
    severity: str = "down",
    source: str = "sds",
    owner: str | None = None,
    municipalities_informed: bool = False,
    sent_without_ack: bool = False,
    failsafe_after: timedelta | None = timedelta(minutes=30),
    issued_after: timedelta = timedelta(minutes=2),
    with_incident: bool = True,
) -> NoticeContext:
    """Incident #12, down since 03:00 on 31 December 2021, signalled by SDS; the fail-safe is
    `failsafe_after` after the outage began."""
    incident = IncidentFacts(
        number=12,
        summary=summary,
        details="Fejlen ligger hos driftsleverandøren.",
        impact="",
        guidance="Brug den seneste udskrift af medicinlisten.",
        down_since=DOWN_SINCE,
        severity=severity,
        source=source,
        status="acknowledged" if owner else "triggered",
        owner=owner,
        municipalities_informed=municipalities_informed,
        sent_without_ack=sent_without_ack,
        failsafe_at=DOWN_SINCE + failsafe_after if failsafe_after is not None else None,
    )
    return NoticeContext(
        kind=kind,
        incident=incident if with_incident else None,
        sequence=2,
        issued_at=DOWN_SINCE + issued_after,
        next_update_at=None,
        message=message,
        recipient=recipient,
        municipality_count=98,
        contacts=ESCALATION,
        title=title,
        ack_url=ack_url if kind is NoticeKind.PAGE else None,
        page_round=page_round if kind is NoticeKind.PAGE else 0,
    )
