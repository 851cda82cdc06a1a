"""A realistic example incident, for previewing the templates without a stored incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatcher.contacts.model import Municipality, Registry, Vendor
from dispatcher.notices.context import IncidentFacts, NoticeContext, NoticeKind

# Tuesday 4 March 2025 at 07:12 in Copenhagen.
SAMPLE_DOWN_SINCE = datetime(2025, 3, 4, 6, 12, tzinfo=UTC)
SAMPLE_UPDATE_INTERVAL = timedelta(hours=2)

_SEQUENCE = {
    NoticeKind.INITIAL: 1,
    NoticeKind.UPDATE: 3,
    NoticeKind.ALL_CLEAR: 4,
    NoticeKind.CORRECTION: 2,
}
_ISSUED_AFTER = {
    NoticeKind.INITIAL: timedelta(minutes=18),
    NoticeKind.UPDATE: timedelta(hours=4, minutes=18),
    NoticeKind.ALL_CLEAR: timedelta(hours=5, minutes=45),
    NoticeKind.CORRECTION: timedelta(minutes=40),
}
_MESSAGE = {
    NoticeKind.INITIAL: None,
    NoticeKind.UPDATE: (
        "Driftsleverandøren har fundet fejlen i en databaseserver og er ved at flytte FMK "
        "til en anden server. Vi forventer, at FMK kører igen i løbet af eftermiddagen."
    ),
    NoticeKind.ALL_CLEAR: (
        "Medicinkort, der blev ændret lige før nedbruddet, kan vise en ældre version i op til "
        "en time, indtil jeres omsorgssystem har hentet dem igen."
    ),
    NoticeKind.CORRECTION: (
        "Alarmen skyldtes en fejl i overvågningen af FMK. FMK har kørt normalt hele tiden."
    ),
}


def sample_context(
    kind: NoticeKind, recipient: Municipality | Vendor, registry: Registry, guidance: str
) -> NoticeContext:
    """The sample incident #1 as notice `kind` would present it to `recipient`."""
    issued_at = SAMPLE_DOWN_SINCE + _ISSUED_AFTER[kind]
    resolved_at = issued_at - timedelta(minutes=10) if kind is NoticeKind.ALL_CLEAR else None
    ongoing = kind in (NoticeKind.INITIAL, NoticeKind.UPDATE)
    incident = IncidentFacts(
        number=1,
        summary="Medicinkortet kan ikke hentes eller opdateres",
        details=(
            "Opslag i FMK fra omsorgssystemer, lægesystemer og apoteker fejler. "
            "Fejlen ligger hos FMK's driftsleverandør, som arbejder på at rette den."
        ),
        impact=(
            "Hjemmeplejen, sygeplejen og plejecentrene kan ikke se eller ændre borgernes "
            "medicinkort i FMK. Medicin, der allerede er doseret, kan gives som planlagt."
        ),
        guidance=guidance,
        down_since=SAMPLE_DOWN_SINCE,
        resolved_at=resolved_at,
    )
    return NoticeContext(
        kind=kind,
        incident=incident,
        sequence=_SEQUENCE[kind],
        issued_at=issued_at,
        next_update_at=issued_at + SAMPLE_UPDATE_INTERVAL if ongoing else None,
        message=_MESSAGE[kind],
        recipient=recipient,
        municipality_count=len(registry.municipalities),
        contacts=registry.escalation,
    )
