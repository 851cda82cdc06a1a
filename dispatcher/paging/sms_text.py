"""The words of a page by SMS, kept within one SMS where possible. Pure: no clock, no I/O.

An SMS carries 160 characters of the GSM 03.38 alphabet (GSM-7: Danish æ, ø, å and é included;
the extension characters such as € [ ] { } count twice) or 70 UTF-16 units when any character
is outside it (UCS-2). Longer texts go as a concatenated SMS whose parts hold 153 GSM-7
characters or 67 UCS-2 units each, joined again on the phone. Typographic characters with a
GSM-7 equivalent (– — ‘ ’ “ ” … and the non-breaking space) are replaced by it first, so that a
summary pasted from a word processor does not halve the room.

A page is: who it is from and which incident, since when FMK is down (Copenhagen time), the
summary, the reply code and the short acknowledgement link. Only the summary is shortened
(ending in "...") to keep the page in one SMS; if the fixed parts alone need more (a long public
URL), the page takes up to `MAX_PARTS` parts and the summary is shortened to fit those.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dispatcher.notices.timefmt import to_local

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
SINGLE = {"gsm7": 160, "ucs2": 70}
PART = {"gsm7": 153, "ucs2": 67}
MAX_PARTS = 3
ELLIPSIS = "..."
_TYPOGRAPHY = str.maketrans(
    {"–": "-", "—": "-", "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "\u00a0": " "}
)


class Encoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True)
class Sms:
    text: str
    encoding: Encoding
    parts: int


def plain(text: str) -> str:
    """`text` with typographic characters replaced by their GSM-7 equivalents."""
    return text.replace("…", ELLIPSIS).translate(_TYPOGRAPHY)


def encoding_of(text: str) -> Encoding:
    allowed = GSM7_BASIC | GSM7_EXTENSION
    return Encoding.GSM7 if all(c in allowed for c in text) else Encoding.UCS2


def units(text: str, encoding: Encoding) -> int:
    """Septets (GSM-7, extension characters count two) or UTF-16 code units (UCS-2)."""
    if encoding is Encoding.GSM7:
        return sum(2 if c in GSM7_EXTENSION else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def parts(text: str) -> int:
    """How many SMS parts `text` takes."""
    encoding = encoding_of(text)
    size = units(text, encoding)
    if size <= SINGLE[encoding]:
        return 1
    return math.ceil(size / PART[encoding])


def capacity(encoding: Encoding, count: int) -> int:
    return SINGLE[encoding] if count == 1 else PART[encoding] * count


def sms(text: str) -> Sms:
    text = plain(text)
    return Sms(text, encoding_of(text), parts(text))


def fit(head: str, summary: str, tail: str) -> Sms:
    """`head + summary + tail`, the summary shortened so the whole fits one SMS, or failing
    that `MAX_PARTS` parts; the head and the tail are never cut."""
    head, summary, tail = plain(head), plain(summary).strip(), plain(tail)
    encoding = encoding_of(head + summary + tail)
    fixed = units(head + tail, encoding)
    room = capacity(encoding, 1) - fixed
    if room < min(len(summary), 12):
        room = capacity(encoding, MAX_PARTS) - fixed
    if units(summary, encoding) > room:
        summary = _shorten(summary, max(room - len(ELLIPSIS), 0), encoding) + ELLIPSIS
    return sms(head + summary + tail)


def _shorten(text: str, room: int, encoding: Encoding) -> str:
    while text and units(text, encoding) > room:
        text = text[:-1]
    return text.rstrip(" ,.;:-")


def clock(moment: datetime, now: datetime) -> str:
    """ "03:04" on the local day of `now`, else "30.12. 23:50"."""
    local = to_local(moment)
    if local.date() == to_local(now).date():
        return f"{local:%H:%M}"
    return f"{local:%d.%m. %H:%M}"


def page(
    *,
    number: int,
    summary: str,
    down_since: datetime,
    now: datetime,
    code: str,
    link: str,
    round_number: int = 1,
    drill: bool = False,
) -> Sms:
    """The page: 'FMK-nedbrud #12 siden 03:04: FMK svarer ikke. Kvittér: svar OK 482913 eller
    åbn https://…/p/…'."""
    prefix = "ØVELSE: " if drill else ""
    again = f" (kald {round_number})" if round_number > 1 else ""
    head = f"{prefix}FMK-nedbrud #{number}{again} siden {clock(down_since, now)}: "
    stop = "" if summary.rstrip().endswith((".", "!", "?")) else "."
    return fit(head, summary.rstrip() + stop, f" Kvittér: svar OK {code} eller åbn {link}")


def owner(*, number: int, owner_name: str, at: datetime, yourself: bool, drill: bool) -> Sms:
    """'Taken by …' to the others, or the receipt to the one who took it."""
    prefix = "ØVELSE: " if drill else ""
    if yourself:
        return sms(
            f"{prefix}FMK-nedbrud #{number}: Kvitteret. Du har ansvaret fra kl. {clock(at, at)}."
        )
    return sms(
        f"{prefix}FMK-nedbrud #{number}: {owner_name} har taget ansvaret kl. {clock(at, at)}. "
        "Du skal ikke gøre noget."
    )


def call_list(*, number: int, names: list[str]) -> Sms:
    """The list of municipalities to ring, short: who, and where the numbers are."""
    head = f"FMK-nedbrud #{number}: ring til {len(names)} kommuner, der ikke har bekræftet: "
    tail = f". Telefonnumre i mailen og i dispatcher incident receipts {number}"
    return fit(head, ", ".join(names), tail)
