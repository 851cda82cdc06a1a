"""Delivery status notifications for the tests: the realistic samples in tests/bounces/samples
(Postfix, Exchange Online, Gmail, qmail, …), filled in for one of our deliveries."""

from __future__ import annotations

from pathlib import Path
from string import Template

SAMPLES = Path(__file__).parent.parent / "bounces" / "samples"


def sample(name: str, *, message_id: str, recipient: str, return_path: str) -> bytes:
    """The sample `name`.eml with the original's Message-ID, the failed recipient and the
    address the bounce was sent to filled in, with CRLF line ends as on the wire."""
    text = (SAMPLES / f"{name}.eml").read_text(encoding="utf-8")
    filled = Template(text).substitute(
        message_id=message_id, recipient=recipient, return_path=return_path
    )
    return filled.replace("\n", "\r\n").encode("utf-8")
