"""The report's timeline in Danish: each phrase the dispatcher records, and people's own words
kept as they wrote them."""

from __future__ import annotations

import pytest

from dispatcher.report.wording import _COMPILED, danish

EXAMPLES = [
    ("paged", "page 1: the on-call pair", "kald 1: vagtparret"),
    ("paged", "page 3: the on-call pair and the fallback", "kald 3: vagtparret og reserven"),
    ("acknowledged", "owner: khs@medcom.dk", "ejer: khs@medcom.dk"),
    (
        "acknowledged",
        "owner: khs@medcom.dk (by SMS reply)",
        "ejer: khs@medcom.dk (svar på SMS)",
    ),
    ("confirmed", "initial notice released", "første besked sendt til kommunerne"),
    (
        "notice",
        "initial notice #6 queued for 98 municipalities, 3 vendor copies",
        "#6 første besked til 98 kommuner og 3 kopier til leverandørerne",
    ),
    (
        "notice",
        "reminder notice #7 queued for 1 municipality, 0 vendor copies",
        "#7 påmindelse til 1 kommune",
    ),
    (
        "notice",
        "page notice #1 queued for Karina Hasager Hedevang, Iben Søgaard",
        "#1 kald til Karina Hasager Hedevang, Iben Søgaard",
    ),
    (
        "reminder",
        "reminder to 5 municipalities that have not confirmed",
        "påmindelse til 5 kommuner, der ikke har bekræftet",
    ),
    ("call_list", "every municipality confirmed", "alle kommuner har bekræftet"),
    ("call_list", "8 municipalities to call", "8 kommuner at ringe til"),
    (
        "relay_failing",
        "relay failing since 2021-12-31 03:12: 421 4.3.2 Service not available; 101 deliveries "
        "waiting",
        "relæet har fejlet siden 2021-12-31 03:12: 421 4.3.2 Service not available; 101 "
        "leverancer venter",
    ),
    (
        "held",
        "municipal notices held until confirmed",
        "beskederne til kommunerne holdes tilbage, til ejeren sender dem",
    ),
    (
        "held",
        "the held notice waits: owner reminded",
        "den tilbageholdte besked venter: ejeren mindet om den",
    ),
    (
        "held",
        "the held notice still waits: chain told",
        "den tilbageholdte besked venter stadig: hele kæden har fået besked",
    ),
    (
        "failsafe",
        "municipalities told without waiting: no acknowledgement",
        "kommunerne orienteret uden at vente: ingen havde kvitteret",
    ),
    (
        "failsafe",
        "municipalities told without waiting: the owner did not confirm",
        "kommunerne orienteret uden at vente: ejeren havde ikke sendt beskeden",
    ),
    ("update", "scheduled update: no news", "planlagt opdatering, uden nyt"),
    (
        "update",
        "scheduled update: SDS forventer løsning kl. 06.",
        "planlagt opdatering: SDS forventer løsning kl. 06.",
    ),
    ("sds_resolved", "awaiting the owner", "venter på, at ejeren sender afmeldingen"),
    (
        "sds_resolved",
        "FMK up; all-clear at 2021-12-31 03:55 (Copenhagen) unless it goes down again",
        "FMK kører; afmelding 2021-12-31 03:55, medmindre FMK går ned igen",
    ),
    ("resolved", "FMK runs again", "FMK kører igen"),
    (
        "flapping",
        "FMK down again before the all-clear: FMK svarer ikke",
        "FMK nede igen før afmeldingen: FMK svarer ikke",
    ),
    (
        "drill",
        "drill (ØVELSE): mail goes to municipalities and vendors",
        "øvelse: mail går også til kommuner og leverandører",
    ),
    (
        "drill",
        "drill (ØVELSE): mail goes to the on-call staff and the drill list only",
        "øvelse: mail går kun til vagten og øvelseslisten",
    ),
    ("scope", "affects 4 municipalities: Cura", "rammer 4 kommuner: Cura"),
    (
        "scope",
        "affects 9 municipalities: Cura (5 of them with an unregistered EOJ system)",
        "rammer 9 kommuner: Cura (5 af dem uden registreret EOJ-system)",
    ),
    (
        "page_failed",
        "SMS to khs@medcom.dk failed: rejected by the gateway",
        "SMS til khs@medcom.dk mislykkedes: rejected by the gateway",
    ),
    (
        "channels_exhausted",
        "every channel to khs@medcom.dk failed",
        "alle kanaler til khs@medcom.dk fejlede",
    ),
    (
        "channels_exhausted",
        "every channel to khs@medcom.dk failed: page 2 to the on-call staff and the fallback "
        "now, not at the interval",
        "alle kanaler til khs@medcom.dk fejlede: kald 2 til vagten og reserven med det samme",
    ),
    (
        "bounce",
        "Læsø Kommune not reached: post@laesoe.dk bounced notice #6 (initial): 5.1.1 User unknown",
        "Læsø Kommune ikke nået: post@laesoe.dk sendte #6 første besked retur: 5.1.1 User unknown",
    ),
    (
        "bounce_delayed",
        "Læsø Kommune: notice #6 (initial) to post@laesoe.dk delayed, not final: 4.4.7 later",
        "Læsø Kommune: #6 første besked til post@laesoe.dk forsinket, ikke endeligt: 4.4.7 later",
    ),
    (
        "resend",
        "resend: 3 deliveries queued again, 1 new",
        "3 leverancer lagt i kø igen, 1 nye",
    ),
]


@pytest.mark.parametrize(("kind", "english", "expected"), EXAMPLES)
def test_the_dispatchers_phrases_in_danish(kind: str, english: str, expected: str) -> None:
    assert danish(kind, english) == expected


def test_every_pattern_has_an_example() -> None:
    """Each pattern is the first to match at least one example above."""
    used = set()
    for kind, english, _ in EXAMPLES:
        for index, (pattern, _) in enumerate(_COMPILED[kind]):
            if pattern.fullmatch(english):
                used.add((kind, index))
                break
    assert used == {(k, i) for k, patterns in _COMPILED.items() for i in range(len(patterns))}


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("triggered", "FMK svarer ikke"),
        ("sds_update", "SDS har fundet fejlen."),
        ("cancelled", "Falsk alarm fra overvågningen"),
        ("update", "Fejlen er fundet."),  # an update written by the owner, not scheduled
    ],
)
def test_what_people_wrote_is_kept(kind: str, text: str) -> None:
    assert danish(kind, text) == text
