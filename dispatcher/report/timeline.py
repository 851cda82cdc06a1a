"""The report's timeline: the SDS signals, every timeline entry with a Danish label, and when
each notice's deliveries were accepted, in order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dispatcher.report.records import Records
from dispatcher.report.wording import danish, notice

LABELS = {
    "triggered": "Hændelse åbnet",
    "signal": "Signal fra SDS",
    "sds_update": "Nyt fra SDS",
    "sds_resolved": "SDS: FMK kører igen",
    "flapping": "FMK nede igen",
    "paged": "Vagt kaldt",
    "acknowledged": "Kvitteret",
    "confirmed": "Første besked bekræftet",
    "held": "Besked holdt tilbage",
    "failsafe": "Fail-safe",
    "notice": "Besked lagt i kø",
    "update": "Opdatering",
    "resolved": "Afsluttet",
    "cancelled": "Annulleret",
    "bounce": "Kom retur",
    "bounce_delayed": "Forsinket",
    "drill": "Øvelse",
    "scope": "Afgrænset",
    "reminder": "Påmindelse om at bekræfte",
    "call_list": "Ringeliste til ejeren",
    "relay_failing": "Relæet fejler",
    "page_failed": "Kald mislykkedes",
    "channels_exhausted": "Ingen kanal virker",
    "resend": "Sendt igen",
}
STATUSES = {
    "triggered": "åben, ikke kvitteret",
    "acknowledged": "åben, kvitteret",
    "resolved": "afsluttet",
    "cancelled": "annulleret (falsk alarm)",
}


@dataclass(frozen=True)
class Line:
    at: datetime
    who: str
    what: str
    text: str


def lines(records: Records) -> list[Line]:
    found = [Line(at, "sds", "Signal fra SDS", "FMK nede") for at in records.signals]
    found += [
        Line(e.at, e.actor, LABELS.get(e.kind, e.kind), danish(e.kind, e.text))
        for e in records.timeline
    ]
    for sent in records.notices:
        done = [
            d.finished_at
            for d in records.deliveries
            if d.notice_sequence == sent.sequence and d.finished_at is not None
        ]
        if done:
            what = f"#{sent.sequence} {notice(sent.kind)}"
            text = (
                "leverancen taget imod af relæet"
                if len(done) == 1
                else f"den sidste af {len(done)} leverancer taget imod af relæet"
            )
            found.append(Line(max(done), "relæ", what, text))
    return sorted(found, key=lambda line: line.at)
