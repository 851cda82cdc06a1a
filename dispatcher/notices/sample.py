"""A realistic example incident, for previewing the templates without a stored incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatcher.contacts.model import Municipality, Person, Registry, Vendor
from dispatcher.core.kinds import NoticeKind
from dispatcher.notices.context import IncidentFacts, NoticeContext
from dispatcher.notices.maintenance_sample import sample_window_context

# Tuesday 4 March 2025 at 07:12 in Copenhagen.
SAMPLE_DOWN_SINCE = datetime(2025, 3, 4, 6, 12, tzinfo=UTC)
SAMPLE_UPDATE_INTERVAL = timedelta(hours=2)
SAMPLE_ACK_URL = "http://127.0.0.1:8080/ack/EKSEMPEL"
SAMPLE_RECEIPT_URL = "http://127.0.0.1:8080/receipt/1/EKSEMPEL"
# The escalation plan of the sample: SDS signals 2 minutes after FMK went down, the on-call
# staff are paged every 15 minutes, the municipalities are told anyway 30 minutes after the
# signal.
SAMPLE_SIGNAL_AT = SAMPLE_DOWN_SINCE + timedelta(minutes=2)
SAMPLE_PAGE_INTERVAL = timedelta(minutes=15)
SAMPLE_FAILSAFE_AT = SAMPLE_SIGNAL_AT + timedelta(minutes=30)

_SEQUENCE = {
    NoticeKind.INITIAL: 1,
    NoticeKind.UPDATE: 3,
    NoticeKind.ALL_CLEAR: 4,
    NoticeKind.CORRECTION: 2,
    NoticeKind.REMINDER: 5,
    NoticeKind.VENDOR_ALERT: 1,
    NoticeKind.PAGE: 2,
    NoticeKind.OWNER: 3,
    NoticeKind.ONCALL_INFO: 0,
}
_ISSUED_AFTER = {
    NoticeKind.INITIAL: timedelta(minutes=18),
    NoticeKind.UPDATE: timedelta(hours=4, minutes=18),
    NoticeKind.ALL_CLEAR: timedelta(hours=5, minutes=45),
    NoticeKind.CORRECTION: timedelta(minutes=40),
    NoticeKind.REMINDER: timedelta(minutes=48),
    NoticeKind.VENDOR_ALERT: timedelta(minutes=2),
    NoticeKind.OWNER: timedelta(minutes=21),
    NoticeKind.ONCALL_INFO: timedelta(minutes=12),
}
_MESSAGE = {
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
    NoticeKind.ONCALL_INFO: (
        "Dispatcheren har ikke fået signal fra SDS siden tirsdag 4. marts 2025 kl. 07:14. "
        "Går FMK ned nu, bliver nedbruddet ikke meldt automatisk.\n\n"
        "Tjek forbindelsen til SDS, og hold selv øje med FMK, indtil signalet er tilbage. "
        "Du får besked, når der er signal fra SDS igen."
    ),
}
_TITLE = {
    NoticeKind.ONCALL_INFO: "Ingen signal fra SDS i 10 minutter – nedbrud kan gå ubemærket hen",
}
_STATUS = {
    NoticeKind.ALL_CLEAR: "resolved",
    NoticeKind.CORRECTION: "cancelled",
    NoticeKind.OWNER: "acknowledged",
}
_MUNICIPAL_SEQUENCE_KINDS = (NoticeKind.INITIAL, NoticeKind.UPDATE)


def sample_context(
    kind: NoticeKind,
    recipient: Municipality | Vendor | Person,
    registry: Registry,
    guidance: str,
    *,
    ack_url: str = SAMPLE_ACK_URL,
    page_round: int = 1,
) -> NoticeContext:
    """The sample incident #1 as notice `kind` would present it to `recipient`. A page is
    paging round `page_round` (1, 2, ...), with `ack_url` as its acknowledgement link; the
    on-call information is about the SDS heartbeat, so it has no incident."""
    if kind.maintenance:
        return sample_window_context(kind, recipient, registry)
    if kind is NoticeKind.PAGE:
        if page_round < 1:
            raise ValueError(f"page_round must be 1 or more, not {page_round}")
        issued_at = SAMPLE_SIGNAL_AT + (page_round - 1) * SAMPLE_PAGE_INTERVAL
    else:
        issued_at = SAMPLE_DOWN_SINCE + _ISSUED_AFTER[kind]
    resolved_at = issued_at - timedelta(minutes=10) if kind is NoticeKind.ALL_CLEAR else None
    ongoing = kind in _MUNICIPAL_SEQUENCE_KINDS
    return NoticeContext(
        kind=kind,
        incident=_incident(kind, recipient, registry, guidance, issued_at, resolved_at),
        sequence=_SEQUENCE[kind],
        issued_at=issued_at,
        next_update_at=issued_at + SAMPLE_UPDATE_INTERVAL if ongoing else None,
        message=_MESSAGE.get(kind),
        recipient=recipient,
        municipality_count=len(registry.municipalities),
        contacts=registry.escalation,
        title=_TITLE.get(kind),
        ack_url=ack_url if kind is NoticeKind.PAGE else None,
        page_round=page_round if kind is NoticeKind.PAGE else 0,
        receipt_url=SAMPLE_RECEIPT_URL if isinstance(recipient, Municipality) else None,
    )


def _incident(
    kind: NoticeKind,
    recipient: Municipality | Vendor | Person,
    registry: Registry,
    guidance: str,
    issued_at: datetime,
    resolved_at: datetime | None,
) -> IncidentFacts | None:
    if kind is NoticeKind.ONCALL_INFO:
        return None
    escalating = not (kind.municipal or kind is NoticeKind.REMINDER)
    informed = not escalating or issued_at >= SAMPLE_FAILSAFE_AT
    owner = _sample_owner(recipient, registry) if kind is NoticeKind.OWNER else None
    return IncidentFacts(
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
        source="sds" if escalating else "cli",
        status=_STATUS.get(kind, "triggered"),
        owner=owner,
        municipalities_informed=informed,
        sent_without_ack=escalating and informed,
        failsafe_at=None if informed else SAMPLE_FAILSAFE_AT,
    )


def _sample_owner(recipient: Municipality | Vendor | Person, registry: Registry) -> str:
    """The address of an on-call person other than `recipient` (who is told of the owner)."""
    esc = registry.escalation
    others = [
        person.email
        for person in esc.oncall + esc.fallback
        if not isinstance(recipient, Person) or person.email != recipient.email
    ]
    return others[0] if others else esc.oncall[0].email
