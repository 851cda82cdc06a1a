"""Calendar entries for maintenance windows (RFC 5545, made with the `icalendar` library).

One window is one VEVENT with a stable UID; its SEQUENCE grows with each change, so Outlook and
other calendar clients update the entry in place (RFC 5546: `METHOD:REQUEST`, and
`METHOD:CANCEL` to remove it). Times are written in Europe/Copenhagen with its VTIMEZONE, so
an entry across a daylight-saving change shows the right wall-clock times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from dispatcher.contacts.model import Person
from dispatcher.notices.timefmt import COPENHAGEN

if TYPE_CHECKING:
    import icalendar

PRODID = "-//MedCom//FMK outage dispatcher//DA"
SUMMARY = "Planlagt vedligehold af FMK"


class Method(StrEnum):
    REQUEST = "REQUEST"  # a new or changed entry, in a notice
    CANCEL = "CANCEL"  # the entry is called off, in a notice
    PUBLISH = "PUBLISH"  # the subscribable feed


@dataclass(frozen=True)
class Entry:
    """One window as a calendar entry. `stamp` is when this version was issued (DTSTAMP)."""

    uid: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    description: str
    stamp: datetime
    cancelled: bool = False
    scope_label: str = ""
    url: str | None = None


def calendar(
    entries: Sequence[Entry],
    *,
    method: Method,
    organizer: Person,
    attendees: Sequence[Person] = (),
    name: str | None = None,
) -> bytes:
    """The iCalendar object holding `entries`, as bytes (UTF-8, CRLF line ends). The library
    is loaded on the first call: a daemon that sends no maintenance notice never needs it."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", str(method))
    if name is not None:
        cal.add("x-wr-calname", name)
        cal.add("x-wr-timezone", "Europe/Copenhagen")
    for entry in entries:
        cal.add_component(_event(entry, method, organizer, attendees))
    if entries:
        first = min(e.starts_at for e in entries).astimezone(COPENHAGEN).year
        last = max(e.ends_at for e in entries).astimezone(COPENHAGEN).year
        cal.add_missing_timezones(first_date=date(first - 1, 1, 1), last_date=date(last + 2, 1, 1))
    return bytes(cal.to_ical())


def _event(
    entry: Entry, method: Method, organizer: Person, attendees: Sequence[Person]
) -> icalendar.Event:
    import icalendar

    event = icalendar.Event()
    event.add("uid", entry.uid)
    event.add("sequence", entry.sequence)
    event.add("dtstamp", entry.stamp)
    event.add("dtstart", entry.starts_at.astimezone(COPENHAGEN))
    event.add("dtend", entry.ends_at.astimezone(COPENHAGEN))
    summary = SUMMARY if not entry.scope_label else f"{SUMMARY} ({entry.scope_label})"
    event.add("summary", summary)
    event.add("description", entry.description)
    event.add("status", "CANCELLED" if entry.cancelled or method is Method.CANCEL else "CONFIRMED")
    # Informs; blocks nobody's time.
    event.add("transp", "TRANSPARENT")
    event.add("class", "PUBLIC")
    if entry.url is not None:
        event.add("url", entry.url)
    if method is not Method.PUBLISH:
        event.add("organizer", _address(organizer))
        for person in attendees:
            attendee = _address(person)
            attendee.params.update(
                {"ROLE": "NON-PARTICIPANT", "RSVP": "FALSE", "CUTYPE": "INDIVIDUAL"}
            )
            event.add("attendee", attendee, encode=False)
    return event


def _address(person: Person) -> icalendar.vCalAddress:
    import icalendar

    address = icalendar.vCalAddress(f"mailto:{person.email}")
    if person.name:
        address.params["CN"] = person.name
    return address
