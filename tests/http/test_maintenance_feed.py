"""`/vedligehold.ics`: the maintenance windows as a calendar to subscribe to, parsed with the
icalendar library; the times are right on both sides of a daylight-saving change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from httpx import AsyncClient

from dispatcher.core.maintenance import Change, Schedule
from dispatcher.incidents.service import Dispatch
from dispatcher.maintenance import service
from tests.support.clock import FakeClock

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
# Across the night the clocks go forward: 22:00 winter time to 04:00 summer time is 5 hours.
SPRING = (datetime(2026, 3, 28, 21, 0, tzinfo=UTC), datetime(2026, 3, 29, 2, 0, tzinfo=UTC))
# And back in October: 01:00 summer time to 05:00 winter time is 5 hours as well.
AUTUMN = (datetime(2026, 10, 24, 23, 0, tzinfo=UTC), datetime(2026, 10, 25, 4, 0, tzinfo=UTC))


async def feed(client: AsyncClient) -> icalendar.Calendar:
    response = await client.get("/vedligehold.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content)


class TestFeed:
    async def test_windows_across_both_changes_of_daylight_saving(
        self, client: AsyncClient, dispatch: Dispatch, clock: FakeClock
    ) -> None:
        clock.set(NOW)
        for start, end in (SPRING, AUTUMN):
            service.schedule(dispatch, Schedule("khs", start, end, "Opgradering. Æøå."), NOW)
        cal = await feed(client)
        assert str(cal["METHOD"]) == "PUBLISH"
        assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Copenhagen"]
        spring, autumn = cal.walk("VEVENT")
        local = [
            (e.decoded("DTSTART").astimezone(COPENHAGEN), e.decoded("DTEND").astimezone(COPENHAGEN))
            for e in (spring, autumn)
        ]
        assert [(s.strftime("%H:%M %Z"), e.strftime("%H:%M %Z")) for s, e in local] == [
            ("22:00 CET", "04:00 CEST"),
            ("01:00 CEST", "05:00 CET"),
        ]
        # In UTC: Python subtracts two times of one zone by their wall clocks.
        lengths = [
            e.decoded("DTEND").astimezone(UTC) - e.decoded("DTSTART").astimezone(UTC)
            for e in (spring, autumn)
        ]
        assert lengths == [
            timedelta(hours=5),
            timedelta(hours=5),
        ]
        assert "TZID=Europe/Copenhagen" in spring.to_ical().decode()
        assert str(spring["DESCRIPTION"]) == "Opgradering. Æøå."

    async def test_changes_raise_the_sequence_and_cancelled_windows_stay_marked(
        self, client: AsyncClient, dispatch: Dispatch, clock: FakeClock
    ) -> None:
        clock.set(NOW)
        moved, _ = service.schedule(dispatch, Schedule("khs", *SPRING, "A"), NOW)
        gone, _ = service.schedule(dispatch, Schedule("khs", *AUTUMN, "B"), NOW)
        before = {str(e["UID"]) for e in (await feed(client)).walk("VEVENT")}
        service.change(dispatch, moved, Change("khs", text="A, ny tekst"), NOW)
        service.cancel(dispatch, gone, "khs", "aflyst", NOW)
        events = (await feed(client)).walk("VEVENT")
        assert {str(e["UID"]) for e in events} == before
        assert [(int(e["SEQUENCE"]), str(e["STATUS"])) for e in events] == [
            (1, "CONFIRMED"),
            (1, "CANCELLED"),
        ]

    async def test_old_windows_leave_the_feed(
        self, client: AsyncClient, dispatch: Dispatch, clock: FakeClock
    ) -> None:
        clock.set(NOW)
        service.schedule(dispatch, Schedule("khs", *SPRING, "A"), NOW)
        clock.set(SPRING[1] + timedelta(days=29))
        assert len((await feed(client)).walk("VEVENT")) == 1
        clock.set(SPRING[1] + timedelta(days=31))
        assert (await feed(client)).walk("VEVENT") == []


class TestStatusPage:
    """ "Planlagt vedligehold" in the status page's HTML, JSON and Atom: upcoming and active
    windows, not cancelled or ended ones."""

    async def test_html_json_and_atom(
        self, client: AsyncClient, dispatch: Dispatch, clock: FakeClock
    ) -> None:
        clock.set(NOW)
        active, _ = service.schedule(dispatch, Schedule("khs", *SPRING, "Databaser. Æøå."), NOW)
        service.schedule(dispatch, Schedule("khs", *AUTUMN, "Netværk."), NOW)
        gone, _ = service.schedule(dispatch, Schedule("khs", *AUTUMN, "Aflyst."), NOW)
        service.cancel(dispatch, gone, "khs", "", NOW)
        clock.set(SPRING[0] + timedelta(hours=1))

        html = (await client.get("/status")).text
        section = html.split('id="vedligehold"')[1].split('id="tidligere"')[0]
        assert "I gang:" in section
        assert "Planlagt:" in section
        assert "Databaser. Æøå." in section
        assert "Aflyst." not in section
        document = (await client.get("/status.json")).json()
        assert [(w["number"], w["state"]) for w in document["maintenance"]] == [
            (active, "active"),
            (2, "upcoming"),
        ]
        assert document["maintenance"][0]["starts_at"]["local"] == "2026-03-28T22:00:00+01:00"
        assert document["maintenance"][0]["ends_at"]["local"] == "2026-03-29T04:00:00+02:00"
        assert document["links"]["calendar"].endswith("/vedligehold.ics")
        atom = (await client.get("/status.atom")).text
        assert atom.count(":vedligehold:") == 2
        assert "Planlagt vedligehold af FMK lørdag 28. marts 2026 kl. 22:00" in atom
