"""A maintenance window's notices end to end on the injected clock: scheduled three days ahead,
moved once; another cancelled. Real SMTP on loopback; both databases."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import icalendar
from sqlalchemy import Engine, func, select
from sqlmodel import col

from dispatcher.contacts.model import Registry
from dispatcher.contacts.scope import affected, resolve, vendors_for
from dispatcher.core.maintenance import Change, Schedule
from dispatcher.incidents.service import Dispatch
from dispatcher.mailcatcher import MailCatcher
from dispatcher.maintenance import service
from dispatcher.outbox.sender import Sender
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, DeliveryStatus
from tests.support.clock import FakeClock
from tests.support.mail import parse, text_body

T0 = datetime(2026, 3, 25, 9, 0, tzinfo=UTC)
START = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)  # Saturday 22:00 in Copenhagen
END = datetime(2026, 3, 29, 2, 0, tzinfo=UTC)  # Sunday 04:00 summer time
DAY, H, M = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
TEXT = "Opgradering af FMK's databaser. Ændringer gemmes på papir og tastes ind bagefter."


async def send_due(sender: Sender, clock: FakeClock, at: datetime) -> None:
    clock.set(at)
    while await sender.run_once():
        pass


def calendar_of(message: EmailMessage) -> icalendar.Calendar:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    cal = icalendar.Calendar.from_ical(part.get_content())
    assert cal["METHOD"] == part.get_param("method")
    return cal


def received_by(smtp: MailCatcher) -> dict[str, list[EmailMessage]]:
    mail: dict[str, list[EmailMessage]] = defaultdict(list)
    for item in smtp.received:
        for rcpt in item.recipients:
            mail[rcpt].append(parse(item))
    return mail


def kinds(messages: list[EmailMessage], maintenance: int) -> list[str]:
    return [str(m["X-FMK-Notice"]) for m in messages if m["X-FMK-Maintenance"] == str(maintenance)]


def pending(engine: Engine) -> int:
    with transaction(engine) as session:
        status = col(DeliveryRow.status) == DeliveryStatus.PENDING
        return session.scalar(select(func.count()).select_from(DeliveryRow).where(status)) or 0


class TestTwoWindows:
    """Each municipality in scope, and only those, gets exactly the right sequence of notices,
    threaded per window, each with the window's calendar entry under one UID."""

    async def test_moved_once_and_cancelled(
        self,
        dispatch: Dispatch,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        registry: Registry,
        engine: Engine,
    ) -> None:
        sjaelland = resolve(registry, regions=["sjælland"])
        nord = resolve(registry, regions=["nordjylland"])
        assert sjaelland is not None
        assert nord is not None
        moved, _ = service.schedule(
            dispatch,
            Schedule("khs@medcom.dk", START, END, TEXT, sjaelland.codes, sjaelland.label),
            T0,
        )
        cancelled, _ = service.schedule(
            dispatch,
            Schedule("khs@medcom.dk", START, END, "Netværksarbejde.", nord.codes, nord.label),
            T0,
        )
        await send_due(sender, clock, T0)
        # A day later SDS moves the first window a day on, and calls the second off.
        service.change(dispatch, moved, Change("ibs@medcom.dk", START + DAY, END + DAY), T0 + DAY)
        service.cancel(dispatch, cancelled, "ibs@medcom.dk", "SDS har aflyst", T0 + DAY)
        await send_due(sender, clock, T0 + DAY)
        for moment in (
            START,  # the old start: nothing is left to send then
            START + DAY - 24 * H,
            START + DAY - 60 * M,
            START + DAY,
            END + DAY,
        ):
            await send_due(sender, clock, moment)
        assert pending(engine) == 0

        mail = received_by(smtp)
        in_moved = {e for m in affected(registry, sjaelland.codes) for e in m.emails}
        in_cancelled = {e for m in affected(registry, nord.codes) for e in m.emails}
        everyone = {e for m in registry.municipalities for e in m.emails}
        window_kinds = [
            "maint_announced",
            "maint_changed",
            "maint_reminder",
            "maint_reminder",
            "maint_started",
            "maint_ended",
        ]
        for address in in_moved:
            assert kinds(mail[address], moved) == window_kinds, address
            assert kinds(mail[address], cancelled) == []
        for address in in_cancelled:
            assert kinds(mail[address], cancelled) == ["maint_announced", "maint_cancelled"]
            assert kinds(mail[address], moved) == []
        assert not [a for a in everyone - in_moved - in_cancelled if mail.get(a)]
        for vendor in vendors_for(registry, sjaelland.codes):
            for address in vendor.emails:
                assert kinds(mail[address], moved) == window_kinds, address

        first = sorted(in_moved)[0]
        notices = [m for m in mail[first] if m["X-FMK-Maintenance"] == str(moved)]
        events = [next(iter(calendar_of(m).walk("VEVENT"))) for m in notices]
        assert len({str(e["UID"]) for e in events}) == 1
        assert [int(e["SEQUENCE"]) for e in events] == [0, 1, 1, 1, 1, 1]
        assert {str(calendar_of(m)["METHOD"]) for m in notices} == {"REQUEST"}
        assert events[-1].decoded("DTSTART") == START + DAY
        assert events[-1].decoded("DTEND") == END + DAY
        assert str(events[0].decoded("DTSTART").tzinfo) == "Europe/Copenhagen"
        # One thread: each notice answers the one before it to the same municipality.
        for earlier, later in itertools.pairwise(notices):
            assert later["In-Reply-To"] == earlier["Message-ID"]
        assert notices[2]["Date"].datetime == START + DAY - 24 * H
        assert "Ændringer gemmes på papir" in text_body(notices[0])
        assert "begynder om 1 time" in str(notices[3]["Subject"])

        gone = sorted(in_cancelled)[0]
        announced, cancel = (calendar_of(m) for m in mail[gone])
        assert str(cancel["METHOD"]) == "CANCEL"
        before, after = (next(iter(c.walk("VEVENT"))) for c in (announced, cancel))
        assert before["UID"] == after["UID"]
        assert (int(before["SEQUENCE"]), int(after["SEQUENCE"])) == (0, 1)
        assert str(after["STATUS"]) == "CANCELLED"

    async def test_a_new_scope_cancels_for_those_who_left(
        self, dispatch: Dispatch, sender: Sender, smtp: MailCatcher, clock: FakeClock
    ) -> None:
        number, _ = service.schedule(
            dispatch, Schedule("khs", START, END, TEXT, (101, 147), "udvalgte kommuner"), T0
        )
        await send_due(sender, clock, T0)
        service.change(dispatch, number, Change("khs", scope=(101,), scope_label="KK"), T0 + H)
        await send_due(sender, clock, T0 + H)
        mail = received_by(smtp)
        frederiksberg = next(a for a in mail if "frederiksberg" in a)
        koebenhavn = next(a for a in mail if "koebenhavn" in a)
        assert kinds(mail[frederiksberg], number) == ["maint_announced", "maint_cancelled"]
        assert "Berører jer ikke længere" in str(mail[frederiksberg][-1]["Subject"])
        assert kinds(mail[koebenhavn], number) == ["maint_announced", "maint_changed"]
