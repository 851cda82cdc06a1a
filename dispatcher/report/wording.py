"""The timeline's entries in Danish, for the report to SDS and KL.

The core records each entry in the English the duty staff read in `incident show`. The words
people wrote (a summary, SDS's note, a reason) pass through as they are; the dispatcher's own
phrases are matched here, one pattern each, and said in Danish. An entry no pattern knows is
shown as it was stored (tests/report/test_wording.py has an example of each pattern)."""

from __future__ import annotations

import re
from collections.abc import Callable

Say = Callable[[re.Match[str]], str]

NOTICES = {
    "initial": "første besked",
    "update": "opdatering",
    "all_clear": "afmelding",
    "correction": "rettelse",
    "reminder": "påmindelse",
    "vendor_alert": "besked til leverandørerne",
    "page": "kald",
    "owner": "besked om ejer",
    "oncall_info": "besked til vagten",
}


def notice(kind: str) -> str:
    return NOTICES.get(kind, kind)


def _recipients(text: str) -> str:
    found = re.fullmatch(r"(\d+) municipalit(?:y|ies), (\d+) vendor cop(?:y|ies)", text)
    if found is None:
        return "ingen" if text == "nobody" else text
    municipalities, vendors = int(found[1]), int(found[2])
    said = f"{municipalities} {'kommune' if municipalities == 1 else 'kommuner'}"
    if vendors:
        said += f" og {vendors} {'kopi' if vendors == 1 else 'kopier'} til leverandørerne"
    return said


_PATTERNS: dict[str, list[tuple[str, Say]]] = {
    "paged": [
        (r"page 1: the on-call pair", lambda m: "kald 1: vagtparret"),
        (
            r"page (\d+): the on-call pair and the fallback",
            lambda m: f"kald {m[1]}: vagtparret og reserven",
        ),
    ],
    "acknowledged": [
        (
            r"owner: (\S+?)( \(by SMS reply\))?",
            lambda m: f"ejer: {m[1]}" + (" (svar på SMS)" if m[2] else ""),
        ),
    ],
    "confirmed": [(r"initial notice released", lambda m: "første besked sendt til kommunerne")],
    "notice": [
        (
            r"(\w+) notice #(\d+) queued for (.*)",
            lambda m: f"#{m[2]} {notice(m[1])} til {_recipients(m[3])}",
        ),
    ],
    "reminder": [
        (
            r"reminder to (\d+) municipalities that have not confirmed",
            lambda m: f"påmindelse til {m[1]} kommuner, der ikke har bekræftet",
        ),
    ],
    "call_list": [
        (r"every municipality confirmed", lambda m: "alle kommuner har bekræftet"),
        (r"(\d+) municipalities to call", lambda m: f"{m[1]} kommuner at ringe til"),
    ],
    "relay_failing": [
        (
            r"relay failing since (.+?): (.*); (\d+) deliveries waiting",
            lambda m: f"relæet har fejlet siden {m[1]}: {m[2]}; {m[3]} leverancer venter",
        ),
    ],
    "held": [
        (
            r"municipal notices held until confirmed",
            lambda m: "beskederne til kommunerne holdes tilbage, til ejeren sender dem",
        ),
        (
            r"the held notice waits: owner reminded",
            lambda m: "den tilbageholdte besked venter: ejeren mindet om den",
        ),
        (
            r"the held notice still waits: chain told",
            lambda m: "den tilbageholdte besked venter stadig: hele kæden har fået besked",
        ),
    ],
    "failsafe": [
        (
            r"municipalities told without waiting: no acknowledgement",
            lambda m: "kommunerne orienteret uden at vente: ingen havde kvitteret",
        ),
        (
            r"municipalities told without waiting: the owner did not confirm",
            lambda m: "kommunerne orienteret uden at vente: ejeren havde ikke sendt beskeden",
        ),
    ],
    "update": [
        (r"scheduled update: no news", lambda m: "planlagt opdatering, uden nyt"),
        (r"scheduled update: (.*)", lambda m: f"planlagt opdatering: {m[1]}"),
    ],
    "sds_resolved": [
        (r"awaiting the owner", lambda m: "venter på, at ejeren sender afmeldingen"),
        (
            r"FMK up; all-clear at (.+) \(Copenhagen\) unless it goes down again",
            lambda m: f"FMK kører; afmelding {m[1]}, medmindre FMK går ned igen",
        ),
    ],
    "resolved": [(r"FMK runs again", lambda m: "FMK kører igen")],
    "flapping": [
        (
            r"FMK down again before the all-clear: (.*)",
            lambda m: f"FMK nede igen før afmeldingen: {m[1]}",
        ),
    ],
    "drill": [
        (
            r"drill \(ØVELSE\): mail goes to municipalities and vendors",
            lambda m: "øvelse: mail går også til kommuner og leverandører",
        ),
        (
            r"drill \(ØVELSE\): mail goes to the on-call staff and the drill list only",
            lambda m: "øvelse: mail går kun til vagten og øvelseslisten",
        ),
    ],
    "scope": [
        (
            r"affects (\d+) municipalities: (.*?)(?: \((\d+) of them with an unregistered EOJ "
            r"system\))?",
            lambda m: (
                f"rammer {m[1]} kommuner: {m[2]}"
                + (f" ({m[3]} af dem uden registreret EOJ-system)" if m[3] else "")
            ),
        ),
    ],
    "page_failed": [
        (r"SMS to (\S+) failed: (.*)", lambda m: f"SMS til {m[1]} mislykkedes: {m[2]}"),
    ],
    "channels_exhausted": [
        (
            r"every channel to (\S+) failed: page (\d+) to the on-call staff and the fallback "
            r"now, not at the interval",
            lambda m: (
                f"alle kanaler til {m[1]} fejlede: kald {m[2]} til vagten og reserven med det samme"
            ),
        ),
        (r"every channel to (\S+) failed", lambda m: f"alle kanaler til {m[1]} fejlede"),
    ],
    "bounce": [
        (
            r"(.+) not reached: (\S+) bounced notice #(\d+) \((\w+)\): (.*)",
            lambda m: f"{m[1]} ikke nået: {m[2]} sendte #{m[3]} {notice(m[4])} retur: {m[5]}",
        ),
    ],
    "bounce_delayed": [
        (
            r"(.+): notice #(\d+) \((\w+)\) to (\S+) delayed, not final: (.*)",
            lambda m: f"{m[1]}: #{m[2]} {notice(m[3])} til {m[4]} forsinket, ikke endeligt: {m[5]}",
        ),
    ],
    "resend": [
        (
            r"resend: (\d+) deliveries queued again, (\d+) new",
            lambda m: f"{m[1]} leverancer lagt i kø igen, {m[2]} nye",
        ),
    ],
}
_COMPILED = {
    kind: [(re.compile(pattern, re.DOTALL), say) for pattern, say in patterns]
    for kind, patterns in _PATTERNS.items()
}


def danish(kind: str, text: str) -> str:
    """`text` of a timeline entry of `kind` in Danish: the dispatcher's phrase translated, the
    words people wrote kept."""
    for pattern, say in _COMPILED.get(kind, ()):
        found = pattern.fullmatch(text)
        if found is not None:
            return say(found)
    return text
