"""The follow-up notices over real SMTP: a held notice reminds the on-call pair (nobody owns it
yet), then the chain; a drill that mails only the drill staff reminds nobody; the call list
goes to the owner as the registry knows them (issue #12, points 5 and 6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import col

from dispatcher.core.enums import Release
from dispatcher.core.model import Acknowledge, Confirm, Policy
from dispatcher.incidents import service
from dispatcher.mailcatcher import MailCatcher
from dispatcher.outbox.relay import record_failure
from dispatcher.outbox.sender import Sender
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, MessageRow
from tests.support.clock import FakeClock
from tests.support.drain import drain
from tests.support.incidents import fmk_down
from tests.support.mail import parse, text_body
from tests.support.sms import PHONES, with_phones

KHS, IBS, PRK = "khs@medcom.dk", "ibs@medcom.dk", "prk@kl.dk"
MINUTE = timedelta(minutes=1)


@pytest.fixture
def following(dispatch: service.Dispatch) -> service.Dispatch:
    return replace(dispatch, policy=Policy())


def sms_sent(engine: Engine) -> list[tuple[str, bytes]]:
    """(number, text) of every SMS in the outbox."""
    with transaction(engine) as session:
        rows = session.execute(
            select(col(DeliveryRow.recipient), col(MessageRow.raw))
            .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
            .where(col(DeliveryRow.channel) == "sms")
        ).all()
    return [(to, raw) for to, raw in rows]


def sent_to(smtp: MailCatcher) -> list[tuple[str, ...]]:
    return [item.recipients for item in smtp.received]


async def test_a_held_notice_reminds_then_goes_up_the_chain(
    following: service.Dispatch, sender: Sender, smtp: MailCatcher, clock: FakeClock, engine: Engine
) -> None:
    start = clock.now()
    number, _ = service.trigger(following, fmk_down(release=Release.AFTER_CONFIRM), start)
    clock.set(start + 15 * MINUTE)
    assert service.tick_due(following, clock.now()) == [number]
    await drain(sender, engine, clock)
    assert sorted(sent_to(smtp)) == [(IBS,), (KHS,)]
    body = text_body(parse(smtp.received[0]))
    assert f"dispatcher incident confirm {number}" in body

    clock.set(start + 30 * MINUTE)
    assert service.tick_due(following, clock.now()) == [number]
    await drain(sender, engine, clock)
    assert sorted(sent_to(smtp)[2:]) == [(IBS,), (KHS,), (PRK,)]
    assert "stadig ikke fået besked" in str(parse(smtp.received[-1])["Subject"])

    service.apply(following, number, Confirm(KHS), clock.now())
    clock.set(start + 45 * MINUTE)
    await drain(sender, engine, clock)
    before = len(smtp.received)
    clock.set(start + 46 * MINUTE)
    service.tick_due(following, clock.now())
    await drain(sender, engine, clock)
    kinds = {str(parse(r)["X-FMK-Notice"]) for r in smtp.received[before:]}
    assert "oncall_info" not in kinds, "confirming ends the reminders"


async def test_a_drill_for_the_drill_staff_reminds_nobody(
    following: service.Dispatch, sender: Sender, smtp: MailCatcher, clock: FakeClock, engine: Engine
) -> None:
    start = clock.now()
    service.trigger(following, fmk_down(drill=True), start)
    await drain(sender, engine, clock)
    first = len(smtp.received)
    assert first > 0, "the drill staff got the initial notice"
    clock.set(start + 30 * MINUTE)
    assert service.tick_due(following, clock.now()) == []
    clock.set(start + 60 * MINUTE)
    assert service.tick_due(following, clock.now()) == []
    await drain(sender, engine, clock)
    assert len(smtp.received) == first, "no municipality was told, so none is silent"


async def test_the_call_list_goes_to_the_owner_only(
    following: service.Dispatch, sender: Sender, smtp: MailCatcher, clock: FakeClock, engine: Engine
) -> None:
    start = clock.now()
    number, _ = service.trigger(following, fmk_down(scope=(101,), scope_label="København"), start)
    service.apply(following, number, Acknowledge(IBS), start)
    await drain(sender, engine, clock)
    clock.set(start + 60 * MINUTE)
    service.tick_due(following, clock.now())
    await drain(sender, engine, clock)
    [call_list] = [r for r in smtp.received if "Ring til disse" in str(parse(r)["Subject"])]
    assert call_list.recipients == (IBS,)
    assert "Københavns Kommune (101): intet telefonnummer i registret" in text_body(
        parse(call_list)
    )


def test_the_cadence_wakes_for_a_relay_alert_ahead_never_for_one_past(
    following: service.Dispatch, engine: Engine, clock: FakeClock
) -> None:
    start = clock.now()
    record_failure(engine, "421 try later", start)
    policy = following.policy
    assert service.next_due(engine, policy, start) == start + policy.relay_alert_after
    assert service.next_due(engine, policy, start + 5 * MINUTE) is None


def test_the_relay_alert_goes_by_sms_too(
    following: service.Dispatch, engine: Engine, clock: FakeClock
) -> None:
    """The owner's word of a failing relay cannot come by mail: it goes by SMS as well."""
    paging = replace(following, registry=with_phones(following.registry))
    start = clock.now()
    number, _ = service.trigger(paging, fmk_down(scope=(101,), scope_label="København"), start)
    service.apply(paging, number, Acknowledge(KHS), start)
    with transaction(engine) as session:
        session.execute(update(DeliveryRow).values(attempts=1, last_reply="421 try later"))
    record_failure(engine, "421 try later", start)
    clock.set(start + 5 * MINUTE)
    assert service.tick_due(paging, clock.now()) == [number]
    [(to, raw)] = sms_sent(engine)
    assert to == PHONES[KHS]
    assert raw.decode().startswith(f"FMK-nedbrud #{number}: Relæet har fejlet siden")


def test_the_call_list_goes_by_sms_too(
    following: service.Dispatch, engine: Engine, clock: FakeClock
) -> None:
    """The list of whom to ring reaches the owner by every channel: a short SMS beside the mail."""
    paging = replace(following, registry=with_phones(following.registry))
    start = clock.now()
    scope = (101, 147, 825)
    number, _ = service.trigger(paging, fmk_down(scope=scope, scope_label="Tre kommuner"), start)
    service.apply(paging, number, Acknowledge(KHS), start)
    clock.set(start + 60 * MINUTE)
    assert service.tick_due(paging, clock.now()) == [number]
    [(to, raw)] = [(to, raw) for to, raw in sms_sent(engine) if b"ring til" in raw]
    assert to == PHONES[KHS]
    assert raw.decode() == (
        f"FMK-nedbrud #{number}: ring til 3 kommuner, der ikke har bekræftet: København, "
        f"Frederiksberg, Læsø. Telefonnumre i mailen og i dispatcher incident receipts {number}"
    )
