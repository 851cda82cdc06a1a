"""Helpers for reading what the test SMTP server received, and for scripting its answers."""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from email.message import EmailMessage
from typing import Any

from dispatcher.mailcatcher import CatcherHandler, Received


def parse(item: Received) -> EmailMessage:
    message = email.message_from_bytes(item.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def per_recipient(received: list[Received]) -> Counter[tuple[str, str]]:
    """How many times each (recipient, notice kind) was received."""
    counts: Counter[tuple[str, str]] = Counter()
    for item in received:
        kind = str(parse(item)["X-FMK-Notice"])
        for rcpt in item.recipients:
            counts[(rcpt, kind)] += 1
    return counts


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


class ScriptedHandler(CatcherHandler):
    """Refuses chosen recipients at RCPT, or the first `temporary` messages at DATA with 451."""

    def __init__(self, *, refuse: dict[str, str] | None = None, temporary: int = 0) -> None:
        super().__init__()
        self.refuse = refuse or {}
        self.temporary = temporary
        self.refused_data = 0

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def verdict(self, envelope_from: str, recipients: tuple[str, ...], data: bytes) -> str | None:
        if self.refused_data < self.temporary:
            self.refused_data += 1
            return "451 4.3.0 Temporary local problem, try again"
        return None
