"""The Danish words of the status page: headlines and what each municipal notice said.

The page does not quote the mails (they greet one municipality and name MedCom's on-call
staff); it says what they said from the incident's own text and each notice's message.
"""

from __future__ import annotations

from datetime import datetime

from dispatcher.core.kinds import NoticeKind
from dispatcher.notices.timefmt import format_local

DEGRADED = "degraded"
NO_IMPACT = (
    "Vi undersøger stadig, hvad nedbruddet betyder for jer. Vi skriver, så snart vi ved mere."
)
NO_GUIDANCE = "Følg jeres egen nødprocedure for nedbrud i FMK."


def unknown_eoj_note(count: int) -> str:
    """Why municipalities outside the scope's EOJ system were told; "" for none."""
    if count == 0:
        return ""
    who = "1 kommune" if count == 1 else f"{count} kommuner"
    pronoun = "den" if count == 1 else "de"
    return f"{who} har også fået besked, fordi vi ikke ved, hvilket EOJ-system {pronoun} bruger."


def fmk_state(severity: str) -> str:
    """ "er nede" or, for a partial outage, "virker kun delvist"."""
    return "virker kun delvist" if severity == DEGRADED else "er nede"


def fmk_still(severity: str) -> str:
    """ "er fortsat nede" or, for a partial outage, "virker fortsat kun delvist"."""
    return "virker fortsat kun delvist" if severity == DEGRADED else "er fortsat nede"


def headline(summary: str, severity: str) -> str:
    """ "FMK er nede: Opslag fejler", but a summary that itself begins with "FMK" stands alone
    ("FMK svarer ikke", not "FMK er nede: FMK svarer ikke"), as the mails' `headline` macro."""
    text = summary.strip()
    return text if text[:3].upper() == "FMK" else f"FMK {fmk_state(severity)}: {text}"


def while_down(severity: str) -> str:
    """ "mens FMK er nede", or "mens FMK kun virker delvist" (a subordinate clause)."""
    return "mens FMK kun virker delvist" if severity == DEGRADED else "mens FMK er nede"


def notice_name(kind: NoticeKind, number: int) -> str:
    """What the notice's mail calls it in its footer, with the subject's numbering (the
    macro `notice_name` in templates/mail/_phrases.*.j2): `number` counts from 1 among the
    incident's municipal notices, so the first update is number 2, "Opdatering 1"."""
    match kind:
        case NoticeKind.INITIAL:
            return "Første meddelelse"
        case NoticeKind.UPDATE:
            return f"Opdatering {number - 1}"
        case NoticeKind.ALL_CLEAR:
            return "Sidste meddelelse"
        case _:
            return "Rettelse"


def notice_title(kind: NoticeKind, number: int, severity: str) -> str:
    """What the notice was, as its mail's subject says it; `number` counts from 1 among the
    incident's municipal notices (the first update is number 2: "Opdatering 1")."""
    match kind:
        case NoticeKind.INITIAL:
            return f"Meddelelse om nedbrud: FMK {fmk_state(severity)}"
        case NoticeKind.UPDATE:
            return f"Opdatering {number - 1}: FMK {fmk_still(severity)}"
        case NoticeKind.ALL_CLEAR:
            return "Løst: FMK kører igen"
        case _:
            return "Rettelse: FMK er ikke nede"


def notice_paragraphs(
    kind: NoticeKind,
    message: str | None,
    *,
    summary: str,
    severity: str,
    closed_at: datetime | None,
) -> tuple[str, ...]:
    """The notice's news in plain-text paragraphs (line breaks kept within each)."""
    note = (message or "").strip()
    match kind:
        case NoticeKind.INITIAL:
            said = [headline(summary, severity)]
        case NoticeKind.UPDATE:
            said = [note or f"Der er ingen nye oplysninger; FMK {fmk_still(severity)}."]
            note = ""
        case NoticeKind.ALL_CLEAR:
            since = f" siden {format_local(closed_at)}" if closed_at is not None else ""
            said = [f"FMK har virket igen{since}. Nødproceduren er slut."]
        case _:
            said = [
                "Meddelelsen om nedbrud var sendt ved en fejl: FMK er ikke nede, "
                "og I kan bruge FMK som normalt."
            ]
    if note:
        said.append(note)
    return tuple(_paragraphs("\n\n".join(said)))


def _paragraphs(text: str) -> list[str]:
    blocks = (block.strip() for block in text.replace("\r\n", "\n").split("\n\n"))
    return [block for block in blocks if block]
