"""The preparedness plan from trigger to all-clear, mailed over real SMTP to a loopback server."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from dispatcher.contacts.model import Registry
from dispatcher.core.enums import Release, Source
from dispatcher.core.model import Cancel, Confirm, PostUpdate, Resolve
from dispatcher.incidents import service
from dispatcher.incidents.queries import incident_detail
from dispatcher.mailcatcher import MailCatcher
from dispatcher.outbox.sender import Sender
from tests.support.clock import FakeClock
from tests.support.drain import drain
from tests.support.incidents import fmk_down, notice_addresses
from tests.support.mail import parse, per_recipient, text_body

HOUR = timedelta(hours=1)


def expected_recipients(registry: Registry) -> int:
    return len(notice_addresses(registry))


class TestInitialNotice:
    """A trigger mails every municipality its own message, and each vendor exactly one copy."""

    async def test_every_municipality_once_and_every_vendor_once(
        self,
        dispatch: service.Dispatch,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        engine: Engine,
        registry: Registry,
    ) -> None:
        number, _ = service.trigger(dispatch, fmk_down(), clock.now())
        await drain(sender, engine, clock)

        counts = per_recipient(smtp.received)
        assert len(registry.municipalities) == 98
        for municipality in registry.municipalities:
            for address in municipality.emails:
                assert counts[(address, "initial")] == 1, municipality.name
        vendor_addresses = [e for v in registry.vendors for e in v.emails]
        for address in vendor_addresses:
            assert counts[(address, "initial")] == 1
        assert sum(counts.values()) == expected_recipients(registry)

        detail = incident_detail(engine, number)
        assert detail is not None
        assert detail.notices[0].counts == {"sent": expected_recipients(registry)}

    async def test_municipal_message_names_it_and_shows_vendors_in_cc(
        self,
        dispatch: service.Dispatch,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        engine: Engine,
        registry: Registry,
    ) -> None:
        service.trigger(dispatch, fmk_down(), clock.now())
        await drain(sender, engine, clock)
        aeroe = next(m for m in registry.municipalities if m.name == "Ærø")
        [item] = [r for r in smtp.received if r.recipients == aeroe.emails]
        message = parse(item)

        assert message["Subject"].startswith("[FMK-nedbrud #1] ")
        assert "ordinationer" in message["Subject"]
        assert "Ærø" in text_body(message)
        assert "årsagen" in text_body(message)
        assert [a.addr_spec for a in message["To"].addresses] == list(aeroe.emails)
        cc = {a.addr_spec for a in message["Cc"].addresses}
        assert cc == {e for v in registry.vendors for e in v.emails}
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Date"].datetime == clock.now()
        assert message["Date"].datetime.utcoffset() == HOUR  # Copenhagen in winter
        assert message["Reply-To"].addresses[0].addr_spec == registry.escalation.reply_to.email
        assert message["From"].addresses[0].display_name == registry.escalation.sender.name

    async def test_held_incident_mails_nobody_until_confirmed(
        self,
        dispatch: service.Dispatch,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        engine: Engine,
    ) -> None:
        number, _ = service.trigger(dispatch, fmk_down(release=Release.AFTER_CONFIRM), clock.now())
        await drain(sender, engine, clock)
        assert smtp.received == []
        service.apply(
            dispatch, number, Confirm("ibs@medcom.dk", details="Nyt fra SDS."), clock.now()
        )
        await drain(sender, engine, clock)
        assert "Nyt fra SDS." in text_body(parse(smtp.received[0]))


class TestLifecycleOverSmtp:
    """Updates thread onto the initial notice; the cadence and the all-clear follow the clock."""

    async def test_update_cadence_and_all_clear_thread_together(
        self,
        dispatch: service.Dispatch,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        engine: Engine,
        registry: Registry,
    ) -> None:
        number, _ = service.trigger(dispatch, fmk_down(), clock.now())
        clock.advance(HOUR)
        service.apply(
            dispatch, number, PostUpdate("khs@medcom.dk", "SDS genstarter serverne."), clock.now()
        )
        clock.advance(2 * HOUR - timedelta(seconds=1))
        assert service.tick_due(dispatch, clock.now()) == []
        clock.advance(timedelta(seconds=1))
        assert service.tick_due(dispatch, clock.now()) == [number]
        assert service.tick_due(dispatch, clock.now()) == []
        clock.advance(30 * timedelta(minutes=1))
        service.apply(dispatch, number, Resolve("khs@medcom.dk"), clock.now())
        await drain(sender, engine, clock)

        copenhagen = registry.municipality(101)
        assert copenhagen is not None
        thread = [parse(r) for r in smtp.received if r.recipients == copenhagen.emails]
        kinds = [str(m["X-FMK-Notice"]) for m in thread]
        assert sorted(kinds) == sorted(["initial", "update", "update", "all_clear"])
        thread.sort(key=lambda m: str(m["Message-ID"]))
        ids = [str(m["Message-ID"]) for m in thread]
        for index, message in enumerate(thread[1:], start=1):
            assert str(message["In-Reply-To"]) == ids[index - 1]
            assert str(message["References"]).split() == ids[:index]
        assert "SDS genstarter serverne." in text_body(thread[1])
        assert "[FMK-nedbrud #1]" in str(thread[3]["Subject"])
        assert service.tick_due(dispatch, clock.now() + 10 * HOUR) == []

    async def test_pages_do_not_count_in_the_municipal_numbering(
        self,
        dispatch: service.Dispatch,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        engine: Engine,
    ) -> None:
        signalled = fmk_down(source=Source.SDS, release=Release.IMMEDIATE)
        number, _ = service.trigger(dispatch, signalled, clock.now())
        service.apply(dispatch, number, PostUpdate("khs@medcom.dk", "Nyt."), clock.now())
        await drain(sender, engine, clock)
        update = next(
            parse(r)
            for r in smtp.received
            if r.recipients == ("fmk-beredskab@koebenhavn.kommune.example",)
            and parse(r)["X-FMK-Notice"] == "update"
        )
        assert "Opdatering 1:" in str(update["Subject"])
        assert "Opdatering 1 om FMK-nedbrud #1" in text_body(update)

    async def test_cancel_sends_a_correction_to_those_told(
        self,
        dispatch: service.Dispatch,
        sender: Sender,
        smtp: MailCatcher,
        clock: FakeClock,
        engine: Engine,
        registry: Registry,
    ) -> None:
        number, _ = service.trigger(dispatch, fmk_down(), clock.now())
        service.apply(
            dispatch, number, Cancel("khs@medcom.dk", "Fejlalarm fra overvågningen"), clock.now()
        )
        await drain(sender, engine, clock)
        counts = per_recipient(smtp.received)
        assert all(
            counts[(e, "correction")] == 1 for m in registry.municipalities for e in m.emails
        )
        correction = next(
            parse(r) for r in smtp.received if parse(r)["X-FMK-Notice"] == "correction"
        )
        assert "Fejlalarm fra overvågningen" in text_body(correction)
