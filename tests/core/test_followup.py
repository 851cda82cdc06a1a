"""The follow-up of the silent, the relay alert and the held notice, as pure decisions with
explicit times (the rules are in dispatcher/core/followup.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatcher.core.enums import Audience, Info, Release
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.lifecycle import decide, open_incident
from dispatcher.core.model import (
    Acknowledge,
    Confirm,
    Decision,
    Incident,
    Notify,
    Policy,
    Resolve,
    Tick,
    Trigger,
)
from dispatcher.core.receipts import (
    Reach,
    Receipt,
    RelayTrouble,
    Seen,
    silent,
    summarise,
    to_call,
    unconfirmed,
)

T0 = datetime(2021, 12, 31, 2, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
POLICY = Policy()
KHS = "khs@medcom.dk"

CONFIRMED = Receipt(101, delivered=1, confirmed_at=T0 + 3 * MIN)
SILENT = Receipt(147, delivered=1)
BOUNCED = Receipt(151, bounced=1)
REFUSED = Receipt(153, failed=1)
WAITING = Receipt(155, waiting=1)
ALL = (CONFIRMED, SILENT, BOUNCED, REFUSED, WAITING)


def informed(release: Release = Release.IMMEDIATE) -> Incident:
    trigger = Trigger(actor=KHS, summary="FMK nede", details="", guidance="Papir.", release=release)
    return open_incident(trigger, T0, POLICY).incident


def at(incident: Incident, minutes: float, seen: Seen = Seen()) -> Decision:  # noqa: B008
    return decide(incident, Tick(seen=seen), T0 + minutes * MIN, POLICY)


def notices(decision: Decision) -> list[Notify]:
    return list(decision.notices)


class TestReceipts:
    """Each municipality's reach, and the order in which to call them."""

    def test_reach_of_each_kind(self) -> None:
        assert [r.reach for r in ALL] == [
            Reach.CONFIRMED,
            Reach.DELIVERED,
            Reach.BOUNCED,
            Reach.FAILED,
            Reach.WAITING,
        ]

    def test_one_address_reached_is_reached(self) -> None:
        assert Receipt(1, delivered=1, bounced=1).reach is Reach.DELIVERED

    def test_the_unreachable_come_first_the_confirmed_last(self) -> None:
        assert [r.code for r in to_call(ALL)] == [151, 153, 155, 147, 101]

    def test_silent_are_neither_confirmed_nor_rejected(self) -> None:
        assert silent(ALL) == (155, 147)
        assert unconfirmed(ALL) == (151, 153, 155, 147)

    def test_summary_line(self) -> None:
        summary = summarise(ALL)
        assert summary.danish() == "informeret 2/5, bekræftet 1/5, 2 afvist"
        assert summary.not_reached == 3


class TestFollowUp:
    """30 minutes after the initial notice the silent get one reminder; at 60 the owner gets
    the list of those to call."""

    def test_timers_start_with_the_initial_notice(self) -> None:
        incident = informed()
        assert incident.reminder_at == T0 + 30 * MIN
        assert incident.call_list_at == T0 + 60 * MIN

    def test_nothing_before_the_reminder_is_due(self) -> None:
        assert notices(at(informed(), 29.9, Seen(ALL))) == []

    def test_reminder_goes_to_the_silent_only_once(self) -> None:
        first = at(informed(), 30, Seen(ALL))
        assert notices(first) == [Notify(NoticeKind.REMINDER, municipalities=(155, 147))]
        assert first.incident.reminder_at is None
        assert notices(at(first.incident, 31, Seen(ALL))) == []

    def test_a_late_tick_still_reminds_once(self) -> None:
        late = at(informed(), 45, Seen(ALL))
        assert [n.kind for n in notices(late)] == [NoticeKind.REMINDER]

    def test_nobody_silent_records_but_sends_nothing(self) -> None:
        quiet = at(informed(), 30, Seen((CONFIRMED,)))
        assert notices(quiet) == []
        assert [r.kind for r in quiet.effects] == ["reminder"]

    def test_call_list_to_the_owner_at_sixty_minutes(self) -> None:
        reminded = at(informed(), 30, Seen(ALL)).incident
        owned = decide(reminded, Acknowledge(KHS), T0 + 40 * MIN, POLICY).incident
        assert notices(at(owned, 59.9, Seen(ALL))) == []
        listed = at(owned, 60, Seen(ALL))
        assert notices(listed) == [
            Notify(
                NoticeKind.ONCALL_INFO,
                audience=Audience.OWNER,
                info=Info.CALL_LIST,
                municipalities=(151, 153, 155, 147),
            )
        ]
        assert notices(at(listed.incident, 61, Seen(ALL))) == []

    def test_all_confirmed_no_call_list(self) -> None:
        done = at(at(informed(), 30, Seen((CONFIRMED,))).incident, 60, Seen((CONFIRMED,)))
        assert notices(done) == []

    def test_closing_stops_the_follow_up(self) -> None:
        closed = decide(informed(), Resolve(KHS), T0 + 10 * MIN, POLICY).incident
        assert (closed.reminder_at, closed.call_list_at) == (None, None)
        assert notices(at(closed, 60, Seen(ALL))) == []

    def test_zero_turns_the_follow_up_off(self) -> None:
        off = Policy(reminder_after=timedelta(0), call_list_after=timedelta(0))
        trigger = Trigger(actor=KHS, summary="FMK nede", details="", guidance="Papir.")
        incident = open_incident(trigger, T0, off).incident
        assert (incident.reminder_at, incident.call_list_at) == (None, None)


class TestRelayAlert:
    """Deliveries that wait behind a failing relay for 5 minutes: the owner is told once."""

    def trouble(self, since: float, waiting: int = 101) -> Seen:
        return Seen(relay=RelayTrouble(T0 + since * MIN, "421 4.3.2 try later", waiting))

    def test_told_after_five_minutes(self) -> None:
        incident = informed()
        assert notices(at(incident, 4.9, self.trouble(0))) == []
        told = at(incident, 5, self.trouble(0))
        [notice] = notices(told)
        assert (notice.audience, notice.info) == (Audience.OWNER, Info.RELAY_FAILING)
        assert "421 4.3.2 try later" in (notice.message or "")
        assert "101" in (notice.message or "")
        assert notices(at(told.incident, 6, self.trouble(0))) == []

    def test_a_new_failure_is_told_again(self) -> None:
        told = at(informed(), 5, self.trouble(0)).incident
        assert len(notices(at(told, 25, self.trouble(19)))) == 1

    def test_nothing_waiting_nothing_told(self) -> None:
        assert notices(at(informed(), 10, self.trouble(0, waiting=0))) == []


class TestHeldNotice:
    """A notice held with --hold: the owner is reminded every page interval, and from the
    fail-safe time the whole chain; the municipalities are never told without a confirm."""

    def test_reminders_then_the_chain(self) -> None:
        incident = informed(Release.AFTER_CONFIRM)
        assert incident.hold_nudge_at == T0 + 15 * MIN
        log = []
        for minute in (14.9, 15, 30, 45):
            decision = at(incident, minute)
            incident = decision.incident
            log.append([(n.audience, n.info) for n in decision.notices])
        assert log == [
            [],
            [(Audience.OWNER, Info.HELD_WAITING)],
            [(Audience.ESCALATION, Info.HELD_OVERDUE)],
            [(Audience.ESCALATION, Info.HELD_OVERDUE)],
        ]
        assert incident.informed_at is None

    def test_confirming_stops_the_reminders(self) -> None:
        incident = informed(Release.AFTER_CONFIRM)
        confirmed = decide(incident, Confirm(KHS), T0 + 5 * MIN, POLICY).incident
        assert confirmed.hold_nudge_at is None
        assert [n.kind for n in notices(at(confirmed, 15))] == []
