"""Read one mail from the bounce mailbox: is it a bounce, which recipients failed — for good or
for now — with the status code and the remote server's words, and which of our messages it is
about (the original Message-ID, the VERP address it was sent to).

RFC 3464 reports (`multipart/report; report-type=delivery-status`: Postfix, Exim, Exchange
Online, Gmail, …) are read field by field with the standard library; the common non-standard
formats (qmail's QSBMF, older Exchange, Postfix's plain-text ones, …) are recognised by
flufl.bounce, and their status code and diagnostic are taken from the text near the address.
Pure: bytes in, a `Report` out, and no input makes it raise.
"""

from __future__ import annotations

import email
import email.errors
import email.policy
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr
from enum import StrEnum

from flufl.bounce import all_failures

MAX_DIAGNOSTIC = 500
# What a cut-off MIME message looks like to the parser.
_STRUCTURAL = (
    email.errors.CloseBoundaryNotFoundDefect,
    email.errors.StartBoundaryNotFoundDefect,
    email.errors.MultipartInvariantViolationDefect,
    email.errors.MissingHeaderBodySeparatorDefect,
)
# Headers that carry the address a mail was delivered to: the VERP return path, for a bounce.
_DELIVERED_TO = ("to", "cc", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to")
_DAEMONS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|maildelivery)", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"^\s*message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"\b([45])\d\d[ -]")


class Verdict(StrEnum):
    BOUNCE = "bounce"
    NOT_BOUNCE = "not a bounce"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class Failure:
    """One recipient the report names: `permanent` failed for good, else delayed."""

    recipient: str
    permanent: bool
    status: str
    diagnostic: str


@dataclass(frozen=True)
class Report:
    verdict: Verdict
    # Why it is not a bounce or is malformed; for a bounce, its format.
    reason: str
    failures: tuple[Failure, ...] = ()
    # Message-IDs of the original message found in the report, and where the report was sent.
    message_ids: tuple[str, ...] = ()
    sent_to: tuple[str, ...] = ()
    subject: str = ""


def read(raw: bytes) -> Report:
    """What the mail `raw` says; never raises."""
    try:
        return _read(raw)
    except Exception as exc:  # flufl's heuristics and the parser on hostile input
        return Report(Verdict.MALFORMED, f"cannot be read: {type(exc).__name__}: {exc}")


def _read(raw: bytes) -> Report:
    if not raw.strip():
        return Report(Verdict.MALFORMED, "the message is empty")
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    if not msg.keys():
        return Report(Verdict.MALFORMED, "the message has no headers")
    subject = " ".join(str(msg.get("subject", "")).split())
    defect = next((d for part in msg.walk() for d in part.defects if _structural(d)), None)
    if defect is not None:
        return Report(Verdict.MALFORMED, f"cut off or broken MIME: {type(defect).__name__}")
    reports = [p for p in msg.walk() if p.get_content_type() == "message/delivery-status"]
    if reports:
        failures, problem = _standard(reports)
        fmt = "RFC 3464 delivery status notification"
    elif not _from_a_mail_system(msg):
        return Report(Verdict.NOT_BOUNCE, "not from a mail system and no delivery report")
    else:
        failures, problem = _heuristic(msg), None
        fmt = "non-standard bounce"
    if problem is not None:
        return Report(Verdict.MALFORMED, problem, subject=subject)
    if not failures:
        return Report(Verdict.NOT_BOUNCE, "names no failed or delayed recipient", subject=subject)
    return Report(
        Verdict.BOUNCE,
        fmt,
        failures=tuple(failures),
        message_ids=_original_ids(msg),
        sent_to=_sent_to(msg),
        subject=subject,
    )


def _structural(defect: object) -> bool:
    return isinstance(defect, _STRUCTURAL)


def _standard(reports: list[Message]) -> tuple[list[Failure], str | None]:
    """The failed and delayed recipients of RFC 3464 reports, or what is missing."""
    failures = []
    for report in reports:
        blocks = report.get_payload()
        if not isinstance(blocks, list) or not blocks:
            return [], "the delivery report has no fields"
        for number, block in enumerate(blocks[1:], start=1):
            action = str(block.get("action", "")).strip().lower()
            if not action.startswith(("fail", "error", "delayed")):
                continue
            recipient = _address(block.get("final-recipient") or block.get("original-recipient"))
            status = _STATUS.search(str(block.get("status", "")))
            if not recipient or status is None:
                missing = "Final-Recipient" if not recipient else "a valid Status"
                return [], f"recipient block {number} of the delivery report lacks {missing}"
            diagnostic = _one_line(str(block.get("diagnostic-code", "")))
            failures.append(
                Failure(
                    recipient,
                    permanent=not action.startswith("delayed"),
                    status=status.group(0),
                    diagnostic=diagnostic or _one_line(str(block.get("status", ""))),
                )
            )
    return failures, None


def _address(field: object) -> str:
    """The address in a `Final-Recipient: rfc822; a@b` field, lower-cased."""
    if field is None:
        return ""
    value = str(field).partition(";")[2] or str(field)
    return parseaddr(value.strip())[1].strip("<>").lower()


def _from_a_mail_system(msg: Message) -> bool:
    """Sent by a mail system rather than a person: the null return path or a daemon sender.
    Keeps a person's reply that quotes a bounce from being read as one."""
    if str(msg.get("return-path", "")).strip() == "<>":
        return True
    sender = parseaddr(str(msg.get("from", "")))
    return bool(_DAEMONS.match(sender[1]) or _DAEMONS.match(sender[0].replace(" ", "")))


def _heuristic(msg: Message) -> list[Failure]:
    temporary, permanent = all_failures(msg)
    text = _text(msg)
    found = []
    for addresses, lasting in ((permanent, True), (temporary - permanent, False)):
        for address in sorted(a.decode("ascii", "replace").lower() for a in addresses):
            status, diagnostic = _near(text, address, lasting)
            found.append(Failure(address, lasting, status, diagnostic))
    return found


def _near(text: str, address: str, permanent: bool) -> tuple[str, str]:
    """The status code and the diagnostic line among the lines after `address` is named;
    without a code, the generic one for the class and the first line after the address."""
    lines = [line.strip() for line in text.splitlines()]
    start = next((i for i, line in enumerate(lines) if address in line.lower()), 0)
    following = lines[start : start + 8]
    for line in following:
        if status := _STATUS.search(line):
            return status.group(0), _one_line(line)
        if code := _SMTP_CODE.search(line):
            return f"{code.group(1)}.0.0", _one_line(line)
    words = next((line for line in following[1:] if line), "")
    return ("5.0.0" if permanent else "4.0.0"), _one_line(words)


def _text(msg: Message) -> str:
    """The message's text parts, decoded, one after another."""
    texts = []
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(texts)


def _original_ids(msg: Message) -> tuple[str, ...]:
    """Message-IDs of the original message: in an attached message or its headers, or quoted
    in the text (qmail copies the original below its explanation)."""
    found: list[str] = []
    for part in msg.walk():
        if part is msg:
            continue
        kind = part.get_content_type()
        payload = part.get_payload() if kind == "message/rfc822" else None
        original = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(original, Message):
            found.append(str(original.get("message-id", "")).strip())
        elif kind == "text/rfc822-headers":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(data)
                found.append(str(headers.get("message-id", "")).strip())
    if not msg.is_multipart() or not any(found):
        found += _MESSAGE_ID.findall(_text(msg) if msg.is_multipart() else _body(msg))
    return tuple(dict.fromkeys(i for i in found if i.startswith("<") and i.endswith(">")))


def _body(msg: Message) -> str:
    payload = msg.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _sent_to(msg: Message) -> tuple[str, ...]:
    values = [str(v) for name in _DELIVERED_TO for v in msg.get_all(name, [])]
    return tuple(dict.fromkeys(a.lower() for _, a in getaddresses(values) if a))


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_DIAGNOSTIC else line[: MAX_DIAGNOSTIC - 1] + "…"
