"""Validation of the free text that people and SDS put into incidents, and the times that
rejections name."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from dispatcher.core.model import Rejected

LIMITS = {"summary": 200, "message": 4000, "reason": 1000}
DEFAULT_LIMIT = 10_000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACE = re.compile(r"\s+")
COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def clean_text(name: str, value: str, *, required: bool = False, single_line: bool = False) -> str:
    """Normalise `value` (NFC, no control characters, trimmed) or reject it, naming the field."""
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    if single_line:
        text = _SPACE.sub(" ", text)
    text = _CONTROL.sub(" ", text).strip()
    if required and not text:
        raise Rejected(f"{name} is empty")
    limit = LIMITS.get(name, DEFAULT_LIMIT)
    if len(text) > limit:
        raise Rejected(f"{name} is {len(text)} characters long; at most {limit} are allowed")
    return text


def local_time(moment: datetime) -> str:
    """A time as people give it on the command line: Copenhagen time, to the minute."""
    return moment.astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M")
