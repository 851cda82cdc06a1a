"""The bounce reader against a real Dovecot: bounces mark their deliveries, the owner hears of
them at once, and mail that is no bounce, a malformed one, an IMAP server that is down or a
wrong password change nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from pydantic import SecretStr
from sqlalchemy import select
from sqlmodel import col

from dispatcher.bounces.reader import check_once
from dispatcher.core.model import Acknowledge
from dispatcher.incidents import service
from dispatcher.mailcatcher import MailCatcher, free_port
from dispatcher.outbox.sender import Sender
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, MessageRow, NoticeRow, TimelineRow
from tests.bounces.conftest import Told
from tests.support.clock import FakeClock
from tests.support.dovecot import Account
from tests.support.drain import drain
from tests.support.mail import parse, text_body

PROCESSED, IGNORED = "Dispatcher-processed", "Dispatcher-ignored"


def address(told: Told, code: int) -> str:
    municipality = told.runtime.registry.municipality(code)
    assert municipality is not None
    return municipality.emails[0]


def timeline(told: Told, kind: str) -> list[str]:
    with transaction(told.runtime.engine) as session:
        return list(
            session.scalars(
                select(col(TimelineRow.text))
                .where(col(TimelineRow.incident_id) == told.number, col(TimelineRow.kind) == kind)
                .order_by(col(TimelineRow.id))
            )
        )


def notices(told: Told) -> list[tuple[str, str]]:
    """(kind, audience) of every message queued for the incident, oldest first."""
    with transaction(told.runtime.engine) as session:
        rows = session.execute(
            select(col(NoticeRow.kind), col(MessageRow.audience))
            .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
            .where(col(NoticeRow.incident_id) == told.number)
            .order_by(col(MessageRow.id))
        ).all()
    return [(kind, audience) for kind, audience in rows]


class TestBouncesMarkTheirDeliveries:
    """Three municipalities' DSNs in the bounce mailbox: their deliveries become `bounced`
    with the status code and the diagnostic, the delayed one stays `sent` and is noted, the
    owner gets one notice naming them, and each message goes to its folder."""

    async def test_the_whole_pass(
        self, told: Told, mailbox: Account, clock: FakeClock, smtp: MailCatcher
    ) -> None:
        copenhagen, frederiksberg, odense = (address(told, c) for c in (101, 147, 461))
        aarhus, laesoe = address(told, 751), address(told, 825)
        service.apply(told.runtime.dispatch, told.number, Acknowledge("ibs@medcom.dk"), clock.now())
        mailbox.append(told.bounce("postfix_rfc3464", copenhagen))
        mailbox.append(told.bounce("exchange_online_ndr", frederiksberg))
        mailbox.append(told.bounce("qmail", odense, verp=False))  # by Message-ID alone
        mailbox.append(told.bounce("delayed", aarhus))
        mailbox.append(told.bounce("out_of_office", laesoe))
        mailbox.append(told.bounce("truncated", laesoe))
        before = told.statuses()
        read_at = clock.advance(timedelta(minutes=7))

        done = check_once(told.runtime, clock)

        assert done.problems == []
        assert [h.verdict for h in done.handled] == [
            "bounce",
            "bounce",
            "bounce",
            "bounce",
            "not a bounce",
            "malformed",
        ]
        after = told.statuses()
        assert after[copenhagen][:2] == ("bounced", "5.1.1")
        assert "User unknown in virtual mailbox table" in (after[copenhagen][2] or "")
        assert after[frederiksberg][:2] == ("bounced", "5.1.10")
        assert after[odense][:2] == ("bounced", "5.2.1")
        assert after[aarhus] == before[aarhus] == ("sent", None, None)
        assert after[laesoe] == before[laesoe]
        changed = {r for r in before if after[r] != before[r]}
        assert changed == {copenhagen, frederiksberg, odense}
        with transaction(told.runtime.engine) as session:
            row = session.get(DeliveryRow, told.deliveries[copenhagen].id)
            assert row is not None
            assert row.bounced_at == read_at

        bounced = timeline(told, "bounce")
        assert [t.split(" not reached")[0] for t in bounced] == [
            "Københavns Kommune",
            "Frederiksberg Kommune",
            "Odense Kommune",
        ]
        [delayed] = timeline(told, "bounce_delayed")
        assert delayed.startswith("Aarhus Kommune: notice #1 (initial)")
        assert "delayed, not final: 4.4.1" in delayed
        # Each bounce in the transaction that records it: none is lost to a crash between.
        assert notices(told)[-3:] == [("oncall_info", "person-ibs-medcom.dk")] * 3

        assert len(mailbox.folder(PROCESSED)) == 4
        ignored = mailbox.folder(IGNORED)
        assert [b"juleferie" in m or m.endswith(b"Sta\r\n") for m in ignored] == [True, True]
        assert mailbox.folder("INBOX") == []

        sender = Sender(told.runtime.engine, told.runtime.settings, clock)
        smtp.received.clear()
        await drain(sender, told.runtime.engine, clock)
        await sender.close()
        assert [r.recipients for r in smtp.received] == [("ibs@medcom.dk",)] * 3
        bodies = [text_body(parse(r)) for r in smtp.received]
        for name, status in (
            ("Københavns Kommune", "5.1.1"),
            ("Frederiksberg Kommune", "5.1.10"),
            ("Odense Kommune", "5.2.1"),
        ):
            [body] = [b for b in bodies if f"- {name} (" in b]
            assert f"): {status} " in body
            assert "Ring til dem" in body
        assert parse(smtp.received[0])["Subject"] == (
            "[FMK-nedbrud #1] Ikke nået – beskeden kom retur"
        )
        assert not any("Aarhus" in b for b in bodies)

    async def test_the_same_bounce_read_again_changes_nothing(
        self, told: Told, mailbox: Account, clock: FakeClock
    ) -> None:
        copenhagen = address(told, 101)
        mailbox.append(told.bounce("postfix_rfc3464", copenhagen))
        check_once(told.runtime, clock)
        state, queued = told.statuses(), notices(told)
        mailbox.append(told.bounce("gmail", copenhagen))
        mailbox.append(told.bounce("delayed", address(told, 751)))
        mailbox.append(told.bounce("delayed", address(told, 751)))

        done = check_once(told.runtime, clock)

        assert [h.verdict for h in done.handled] == ["bounce", "bounce", "bounce"]
        assert done.handled[0].lines[0].endswith("is bounced, left as it is")
        assert told.statuses() == state
        assert len(timeline(told, "bounce")) == 1
        assert len(timeline(told, "bounce_delayed")) == 1
        assert notices(told) == queued

    async def test_a_bounce_that_matches_no_delivery_is_set_aside(
        self, told: Told, mailbox: Account, clock: FakeClock
    ) -> None:
        stranger = told.bounce("postfix_rfc3464", address(told, 101), verp=False).replace(
            told.message_ids[address(told, 101)].encode(), b"<someone-else@medcom.example>"
        )
        mailbox.append(stranger)
        state = told.statuses()
        done = check_once(told.runtime, clock)
        assert [(h.verdict, h.folder, h.lines) for h in done.handled] == [
            ("unmatched", IGNORED, ("matches no delivery",))
        ]
        assert told.statuses() == state


class TestTheMailboxFails:
    """An IMAP server that is down, or a wrong password: a clear message, and nothing changes
    — not the deliveries, not the mailbox."""

    async def test_the_server_is_down(self, told: Told, clock: FakeClock) -> None:
        port = free_port()
        settings = told.runtime.settings.model_copy(update={"bounce_imap_port": port})
        runtime = replace(told.runtime, settings=settings)
        state = told.statuses()
        done = check_once(runtime, clock)
        user = settings.bounce_imap_username
        assert done.problems == [
            f"imap://{user}@127.0.0.1:{port}: cannot connect: Connection refused"
        ]
        assert done.handled == []
        assert told.statuses() == state

    async def test_a_wrong_password(self, told: Told, mailbox: Account, clock: FakeClock) -> None:
        settings = told.runtime.settings.model_copy(
            update={"bounce_imap_password": SecretStr("wrong")}
        )
        runtime = replace(told.runtime, settings=settings)
        mailbox.append(told.bounce("postfix_rfc3464", address(told, 101)))
        state = told.statuses()
        done = check_once(runtime, clock)
        [problem] = done.problems
        assert problem == (
            f"imap://{mailbox.username}@127.0.0.1:{mailbox.port}: the login was refused: "
            "[AUTHENTICATIONFAILED] Authentication failed."
        )
        assert told.statuses() == state
        assert len(mailbox.folder("INBOX")) == 1

    async def test_plaintext_to_another_host_is_refused(self, told: Told, clock: FakeClock) -> None:
        settings = told.runtime.settings.model_copy(update={"bounce_imap_host": "imap.example"})
        done = check_once(replace(told.runtime, settings=settings), clock)
        [problem] = done.problems
        assert "DISPATCHER_BOUNCE_IMAP_TLS=none to a server that is not on this host" in problem
