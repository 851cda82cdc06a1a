"""Durations in the settings: '2h', '15m', '90s', '1h30m', plain seconds or ISO 8601."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_settings import NoDecode

_SHORT_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")


def _duration(value: object) -> object:
    """Accept '2h', '15m', '90s', '1h30m' and plain seconds ('7200') besides ISO 8601 ('PT2H')."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return timedelta(seconds=float(text))
    match = _SHORT_DURATION.match(text)
    if text and match:
        hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
        return timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


def _durations(value: object) -> object:
    """'24h,60m' (or a TOML list) as a tuple of durations; '' for none."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        return value
    return tuple(_duration(item) for item in items if not isinstance(item, str) or item.strip())


Durations = Annotated[tuple[timedelta, ...], NoDecode, BeforeValidator(_durations)]
