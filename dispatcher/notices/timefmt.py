"""Danish wording of times and durations, always in Copenhagen local time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")

WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
MONTHS = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)


def to_local(moment: datetime) -> datetime:
    """`moment` (timezone-aware) as Copenhagen wall-clock time."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; stored times must be aware")
    return moment.astimezone(COPENHAGEN)


def format_local(moment: datetime) -> str:
    """E.g. "fredag 31. december 2021 kl. 03:00"."""
    local = to_local(moment)
    weekday = WEEKDAYS[local.weekday()]
    return f"{weekday} {local.day}. {MONTHS[local.month - 1]} {local.year} kl. {local:%H:%M}"


def format_clock(moment: datetime, reference: datetime) -> str:
    """ "kl. 05:00" if `moment` is on the same local day as `reference`, else the full date."""
    local = to_local(moment)
    if local.date() == to_local(reference).date():
        return f"kl. {local:%H:%M}"
    return format_local(moment)


def format_duration(duration: timedelta) -> str:
    """E.g. "2 timer og 15 minutter", "45 minutter", "1 time"; whole minutes, rounded down."""
    minutes = int(duration.total_seconds() // 60)
    if minutes < 1:
        return "under 1 minut"
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} time" if hours == 1 else f"{hours} timer")
    if minutes:
        parts.append(f"{minutes} minut" if minutes == 1 else f"{minutes} minutter")
    return " og ".join(parts)
