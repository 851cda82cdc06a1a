"""Turn a rendered notice into an RFC 5322 e-mail: multipart/alternative, UTF-8, threaded."""

from __future__ import annotations

import email.policy
import email.quoprimime
import email.utils
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from types import MappingProxyType

from dispatcher.contacts.model import Person
from dispatcher.notices.render import RenderedNotice, single_line

NO_HEADERS: Mapping[str, str] = MappingProxyType({})
# RFC 5322 field names: printable ASCII except the colon.
_FIELD_NAME = re.compile(r"[!-9;-~]+")
# What may stand in a Message-ID part: atext without "@", "<", ">" and spaces.
_ID_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
# RFC 2047: an encoded word is at most 75 characters, a line holding one at most 76.
_WORD_MAX = 75
_LINE_MAX = 76
_WORD_OVERHEAD = len("=?utf-8?q??=")


def make_message_id(incident_uid: str, sequence: int, audience: str, domain: str) -> str:
    """`<fmk.{incident_uid}.{sequence}.{audience}@{domain}>`, the same for every retry."""
    for part in (incident_uid, audience, domain):
        if not _ID_PART.fullmatch(part):
            raise ValueError(f"{part!r} cannot be part of a Message-ID")
    return f"<fmk.{incident_uid}.{sequence}.{audience}@{domain}>"


def build_message(
    rendered: RenderedNotice,
    *,
    sender: Person,
    reply_to: Person,
    to: Sequence[Person | str],
    cc: Sequence[Person | str],
    message_id: str,
    references: Sequence[str],
    date: datetime,
    headers: Mapping[str, str] = NO_HEADERS,
    calendar: tuple[str, bytes] | None = None,
) -> EmailMessage:
    """The notice as a message from `sender`; `references` are earlier Message-IDs, oldest first.
    `calendar` is (METHOD, iCalendar bytes): a third alternative, `text/calendar`, which
    calendar clients show as the entry to add, move or remove.

    Every header value is made a single line first, so no text can add a header of its own.
    """
    if not to:
        raise ValueError("a notice needs at least one To address")
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("the Date of a notice must be timezone-aware")
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = _address(sender)
    msg["To"] = [_address(item) for item in to]
    if cc:
        msg["Cc"] = [_address(item) for item in cc]
    msg["Reply-To"] = _address(reply_to)
    _set_subject(msg, single_line(rendered.subject))
    msg["Date"] = email.utils.format_datetime(date)
    msg["Message-ID"] = single_line(message_id)
    if references:
        ids = [single_line(ref) for ref in references]
        msg["In-Reply-To"] = ids[-1]
        msg["References"] = " ".join(ids)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if calendar is not None:
        method, ics = calendar
        msg.add_alternative(
            ics.decode("utf-8"),
            subtype="calendar",
            charset="utf-8",
            cte="quoted-printable",
            params={"method": method},
        )
    # After the body: making the message multipart moves Content-* headers into the first part.
    msg["Content-Language"] = "da"
    for name, value in headers.items():
        if not _FIELD_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid header name")
        if name in msg:
            raise ValueError(f"header {name} is set by the dispatcher and cannot be replaced")
        msg[name] = single_line(value)
    return msg


def as_bytes(msg: EmailMessage) -> bytes:
    """The message as sent over SMTP: CRLF line ends, non-ASCII headers RFC 2047-encoded."""
    return msg.as_bytes(policy=email.policy.SMTP)


def _address(item: Person | str) -> Address:
    name, addr = (item.name, item.email) if isinstance(item, Person) else ("", item)
    if not addr.isascii():
        # The SMTP policy would RFC 2047-encode it into an address no server delivers to.
        raise ValueError(f"{addr!r} is not an ASCII address; write the domain in IDNA (xn--)")
    return Address(display_name=single_line(name), addr_spec=addr.strip())


def _set_subject(msg: EmailMessage, subject: str) -> None:
    """Set Subject, folded here rather than by the email package.

    Python's folder changes the text a reader gets back: next to an encoded word it loses a
    space ("op– Søgaard") or doubles one ("langsomt  – opslag"), and it may break right after
    "Subject:", which reads back with a leading space. Here a plain ASCII subject is folded at
    its spaces, a long line's first line never empty; any other is a run of Q-encoded words,
    one per line: a reader drops the folding between encoded words, and every space is inside
    a word, so it reads back exactly.
    """
    room = _LINE_MAX - len("Subject: ")
    if subject.isascii() and "=?" not in subject:
        lines = _folded_at_spaces(subject, room)
    else:
        lines = _encoded_words(subject, room)
    msg.set_raw("Subject", "\n ".join(lines))


def _folded_at_spaces(text: str, first_room: int) -> list[str]:
    """`text` cut at spaces into lines of at most `first_room`, then 75, characters (a word
    longer than that stands alone); each space but those at a cut stays in its line."""
    lines: list[str] = []
    line = ""
    room = first_room
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > room:
            lines.append(line)
            line, room = word, _LINE_MAX - 1
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return lines


def _encoded_words(text: str, first_room: int) -> list[str]:
    """`text` as UTF-8 Q-encoded words, the first at most `first_room` characters long and
    the others at most 75; a character's bytes are never split between two words."""
    words: list[str] = []
    chunk = ""
    room = first_room - _WORD_OVERHEAD
    used = 0
    for char in text:
        size = email.quoprimime.header_length(char.encode("utf-8"))
        if chunk and used + size > room:
            words.append(email.quoprimime.header_encode(chunk.encode("utf-8"), "utf-8"))
            chunk, used, room = "", 0, _WORD_MAX - 1 - _WORD_OVERHEAD
        chunk += char
        used += size
    words.append(email.quoprimime.header_encode(chunk.encode("utf-8"), "utf-8"))
    return words
