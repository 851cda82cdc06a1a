"""Turn a rendered notice into an RFC 5322 e-mail: multipart/alternative, UTF-8, threaded."""

from __future__ import annotations

import email.policy
import email.quoprimime
import email.utils
import functools
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.headerregistry import Address, BaseHeader, HeaderRegistry
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


class _Headers(HeaderRegistry):
    """The email package's header registry, except that it makes the class of each header
    name once: the registry makes a new class for every header it parses, which was a sixth
    of what building a notice cost."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        if key not in self._classes:
            self._classes[key] = super().__getitem__(name)
        return self._classes[key]


# Address lists longer than this are written one address a line (`_set_addresses`) if every
# line fits: at most _LIST_ROOM characters after "Cc: ", so the email package never parses the
# header again to fold it.
LONG_LIST = 10
_LIST_ROOM = 73
# What an address (addr-spec) never holds, and would break the header it stands in.
_NOT_IN_ADDRESS = re.compile(r'[\s<>,;:"()\[\]\\]')
# The SMTP policy (CRLF, RFC 2047 for non-ASCII headers) with that registry.
POLICY = email.policy.SMTP.clone(header_factory=_Headers())


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
    msg = EmailMessage(policy=POLICY)
    _set_addresses(msg, "From", [sender])
    _set_addresses(msg, "To", to)
    if cc:
        _set_addresses(msg, "Cc", cc)
    _set_addresses(msg, "Reply-To", [reply_to])
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
    return msg.as_bytes(policy=POLICY)


def _set_addresses(msg: EmailMessage, name: str, items: Sequence[Person | str]) -> None:
    """Set an address header, folded as the email package folds it. Parsing and folding the
    addresses is most of what building a message costs, and the same lists (the vendors in
    Cc of 98 notices, the sender) come again and again, so the folded header is kept. A long
    list (a municipality with a hundred contacts) is written one address a line instead."""
    pairs = tuple((i.name, i.email) if isinstance(i, Person) else ("", i) for i in items)
    lines = [line for n, a in pairs for line in _mailbox(n, a)] if len(pairs) > LONG_LIST else []
    if lines and max(map(len, lines)) <= _LIST_ROOM:
        msg.set_raw(name, "\n ".join(lines).removesuffix(","))
    else:
        msg.set_raw(name, _folded_addresses(name, pairs))


def _mailbox(name: str, addr: str) -> list[str]:
    """`Name <addr>,` on one line, or the name and `<addr>,` on two, the name quoted or
    RFC 2047-encoded as it needs (`formataddr`): a few µs, where parsing and folding costs
    about 90 µs an address."""
    _ascii(addr)
    if _NOT_IN_ADDRESS.search(addr.strip()):
        raise ValueError(f"{addr!r} is not an e-mail address")
    line = email.utils.formataddr((single_line(name), addr.strip()), charset="utf-8") + ","
    if len(line) <= _LIST_ROOM:
        return [line]
    phrase, _, angle = line.rpartition(" <")
    return [phrase, "<" + angle]


class _Folded(str):
    """A header value that folds to text already folded: what the email package does with a
    header object (`fold`), without parsing and folding it again for every message."""

    def __new__(cls, header: str, name: str, folded: str) -> _Folded:
        value = super().__new__(cls, header)
        value.name = name
        value.folded = folded
        return value

    name: str
    folded: str

    def fold(self, *, policy: email.policy.EmailPolicy) -> str:
        if policy is POLICY:
            return self.folded
        return str(policy.header_factory(self.name, str(self)).fold(policy=policy))


@functools.lru_cache(maxsize=4096)
def _folded_addresses(name: str, pairs: tuple[tuple[str, str], ...]) -> _Folded:
    """Header `name` for the (display name, address) `pairs`, folded for SMTP once."""
    policy = POLICY
    header = policy.header_factory(name, [_address(n, a) for n, a in pairs])
    return _Folded(header, header.name, header.fold(policy=policy))


def _address(name: str, addr: str) -> Address:
    _ascii(addr)
    return Address(display_name=single_line(name), addr_spec=addr.strip())


def _ascii(addr: str) -> None:
    if not addr.isascii():
        # The SMTP policy would RFC 2047-encode it into an address no server delivers to.
        raise ValueError(f"{addr!r} is not an ASCII address; write the domain in IDNA (xn--)")


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
