"""The escalation chain of the plan, driven as a pure function with explicit times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.core.enums import Audience, Info, Release, Source, Status
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.lifecycle import decide, open_incident
from dispatcher.core.model import (
    Acknowledge,
    Cancel,
    Confirm,
    Decision,
    Incident,
    Notify,
    Policy,
    Record,
    Rejected,
    Resolve,
    SignalOutage,
    SignalResolved,
    SignalUpdate,
    Tick,
    Trigger,
)

T0 = datetime(2021, 12, 31, 2, 0, tzinfo=UTC)  # 03:00 in Copenhagen
MIN = timedelta(minutes=1)
POLICY = Policy()
KHS, IBS = "khs@medcom.dk", "ibs@medcom.dk"


def signal(release: Release = Release.AFTER_CONFIRM, policy: Policy = POLICY) -> Decision:
    trigger = Trigger(
        actor="sds",
        summary="FMK svarer ikke",
        details="Alle opslag fejler.",
        guidance="Brug papir.",
        release=release,
        source=Source.SDS,
    )
    return open_incident(trigger, T0, policy)


def at(
    incident: Incident, minutes: float, event: object = None, policy: Policy = POLICY
) -> Decision:
    return decide(incident, event or Tick(), T0 + minutes * MIN, policy)  # type: ignore[arg-type]


def sent(decision: Decision) -> list[tuple[NoticeKind, Audience]]:
    return [(n.kind, n.audience) for n in decision.notices]


def run(
    decision: Decision, *steps: tuple[float, object]
) -> list[tuple[float, list[tuple[NoticeKind, Audience]]]]:
    """Apply (minute, event) steps in turn; what each step sent."""
    log = []
    incident = decision.incident
    for minute, event in steps:
        result = at(incident, minute, event)
        incident = result.incident
        log.append((minute, sent(result)))
    return log


class TestNobodyAnswers:
    """03:00 on New Year's Eve with nobody at a desk: the plan runs by itself."""

    def test_signal_pages_the_pair_and_tells_the_vendors(self) -> None:
        d = signal()
        assert sent(d) == [
            (NoticeKind.PAGE, Audience.ONCALL),
            (NoticeKind.VENDOR_ALERT, Audience.VENDORS),
        ]
        assert d.incident.next_page_at == T0 + 15 * MIN
        assert d.incident.failsafe_at == T0 + 30 * MIN
        assert not d.incident.municipalities_informed

    def test_the_whole_chain(self) -> None:
        log = run(
            signal(), (14.9, None), (15, None), (29.9, None), (30, None), (45, None), (60, None)
        )
        assert log == [
            (14.9, []),
            (15, [(NoticeKind.PAGE, Audience.ESCALATION)]),
            (29.9, []),
            (
                30,
                [
                    (NoticeKind.PAGE, Audience.ESCALATION),
                    (NoticeKind.INITIAL, Audience.MUNICIPALITIES),
                ],
            ),
            (45, [(NoticeKind.PAGE, Audience.ESCALATION)]),
            (60, [(NoticeKind.PAGE, Audience.ESCALATION)]),
        ]

    def test_failsafe_marks_the_incident_and_starts_the_cadence(self) -> None:
        d = at(at(signal().incident, 15).incident, 30)
        assert d.incident.sent_without_ack
        assert d.incident.informed_at == T0 + 30 * MIN
        assert d.incident.next_update_at == T0 + 150 * MIN
        assert any(r.kind == "failsafe" for r in d.effects if not isinstance(r, Notify))

    def test_a_daemon_that_was_down_catches_up_once(self) -> None:
        d = at(signal().incident, 200)
        assert sent(d) == [
            (NoticeKind.PAGE, Audience.ESCALATION),
            (NoticeKind.INITIAL, Audience.MUNICIPALITIES),
        ]
        assert d.incident.next_page_at == T0 + 215 * MIN
        assert sent(at(d.incident, 200)) == []


class TestSomeoneAnswers:
    """An acknowledgement stops the paging; the owner confirms, or the fail-safe sends."""

    def test_ack_stops_paging_and_tells_the_others_who_owns_it(self) -> None:
        d = at(signal().incident, 5, Acknowledge(IBS))
        assert d.incident.status is Status.ACKNOWLEDGED
        assert d.incident.owner == IBS
        assert d.notices == (Notify(NoticeKind.OWNER, audience=Audience.ONCALL, exclude=IBS),)
        assert d.incident.next_page_at is None
        assert [n.kind for n in at(d.incident, 25).notices] == []

    def test_after_ack_at_15_the_fallback_hears_who_owns_it(self) -> None:
        paged_twice = at(signal().incident, 15).incident
        d = at(paged_twice, 16, Acknowledge(KHS))
        assert d.notices == (Notify(NoticeKind.OWNER, audience=Audience.ESCALATION, exclude=KHS),)

    def test_owner_confirms_before_the_failsafe(self) -> None:
        owned = at(signal().incident, 5, Acknowledge(IBS)).incident
        d = at(owned, 10, Confirm(IBS, summary="FMK er nede i hele landet"))
        assert sent(d) == [(NoticeKind.INITIAL, Audience.MUNICIPALITIES)]
        assert d.incident.failsafe_at is None
        assert sent(at(d.incident, 30)) == []
        assert not d.incident.sent_without_ack

    def test_owner_who_does_not_confirm_is_overtaken_by_the_failsafe(self) -> None:
        owned = at(signal().incident, 5, Acknowledge(IBS)).incident
        d = at(owned, 30)
        assert sent(d) == [(NoticeKind.INITIAL, Audience.MUNICIPALITIES)]
        assert not d.incident.sent_without_ack  # acknowledged, only not confirmed

    def test_release_after_ack(self) -> None:
        d = at(signal(Release.AFTER_ACK).incident, 5, Acknowledge(IBS))
        assert (NoticeKind.INITIAL, Audience.MUNICIPALITIES) in sent(d)

    def test_release_immediately(self) -> None:
        d = signal(Release.IMMEDIATE)
        assert sent(d) == [
            (NoticeKind.PAGE, Audience.ONCALL),
            (NoticeKind.INITIAL, Audience.MUNICIPALITIES),
        ]
        assert d.incident.failsafe_at is None


class TestCliIncidents:
    """A person who triggers from the CLI is at the keyboard: nobody is paged at once; a held
    notice is never silent forever (see tests/core/test_followup.py for the reminders)."""

    def test_no_page_and_no_failsafe_notice_to_the_municipalities(self) -> None:
        trigger = Trigger(
            actor=KHS,
            summary="FMK nede",
            details="",
            guidance="Papir.",
            release=Release.AFTER_CONFIRM,
        )
        d = open_incident(trigger, T0, POLICY)
        assert sent(d) == []
        later = run(d, (14.9, None), (120, None))
        assert later[0] == (14.9, [])
        assert (NoticeKind.INITIAL, Audience.MUNICIPALITIES) not in later[1][1]
        assert (NoticeKind.PAGE, Audience.ONCALL) not in later[1][1]


class TestResolution:
    """SDS's resolved waits out the recovery window; flapping stays one quiet incident."""

    def test_resolved_all_clear_after_the_recovery_window(self) -> None:
        informed = at(signal(Release.IMMEDIATE).incident, 5, Acknowledge(IBS)).incident
        recovering = at(informed, 40, SignalResolved(T0 + 38 * MIN))
        assert sent(recovering) == []
        assert recovering.incident.all_clear_at == T0 + 55 * MIN
        [record] = [e for e in recovering.effects if isinstance(e, Record)]
        # People read the timeline: Copenhagen time (T0 + 55 min is 03:55 there), not UTC.
        assert record.text == (
            "FMK up; all-clear at 2021-12-31 03:55 (Copenhagen) unless it goes down again"
        )
        assert sent(at(recovering.incident, 54.9)) == []
        done = at(recovering.incident, 55)
        assert sent(done) == [(NoticeKind.ALL_CLEAR, Audience.MUNICIPALITIES)]
        assert done.incident.status is Status.RESOLVED
        assert done.incident.closed_at == T0 + 38 * MIN

    def test_flapping_is_one_incident_without_notices(self) -> None:
        informed = signal(Release.IMMEDIATE).incident
        up = at(informed, 40, SignalResolved())
        down = at(up.incident, 45, SignalOutage("FMK nede igen"))
        assert sent(down) == []
        assert down.incident.all_clear_at is None
        assert [r.kind for r in down.effects] == ["flapping"]
        assert sent(at(down.incident, 60)) == [(NoticeKind.PAGE, Audience.ESCALATION)]

    def test_owner_confirms_when_auto_resolve_is_off(self) -> None:
        manual = Policy(auto_resolve=False)
        informed = signal(Release.IMMEDIATE, manual).incident
        owned = at(informed, 5, Acknowledge(IBS), manual).incident
        d = at(owned, 40, SignalResolved(), manual)
        assert d.notices == (
            Notify(
                NoticeKind.ONCALL_INFO, audience=Audience.ONCALL, info=Info.SDS_RESOLVED_CONFIRM
            ),
        )
        assert d.incident.status is Status.ACKNOWLEDGED

    def test_resolved_before_anyone_was_told(self) -> None:
        d = at(signal().incident, 10, Resolve("sds"))
        assert sent(d) == [
            (NoticeKind.ALL_CLEAR, Audience.VENDORS),
            (NoticeKind.ONCALL_INFO, Audience.ONCALL),
        ]
        assert d.incident.next_page_at is None

    def test_cancel_before_the_municipalities_were_told(self) -> None:
        d = at(at(signal().incident, 15).incident, 20, Cancel(KHS, "Fejlalarm"))
        assert sent(d) == [
            (NoticeKind.CORRECTION, Audience.VENDORS),
            (NoticeKind.ONCALL_INFO, Audience.ESCALATION),
        ]


class TestSdsNews:
    def test_update_goes_into_the_next_scheduled_update(self) -> None:
        informed = signal(Release.IMMEDIATE).incident
        noted = at(informed, 30, SignalUpdate("Genstart i gang"))
        assert sent(noted) == []
        update = at(noted.incident, 120)
        assert Notify(NoticeKind.UPDATE, "Genstart i gang") in update.notices
        assert update.incident.sds_note is None

    @pytest.mark.parametrize("severity", ["kaput", ""])
    def test_unknown_severity_is_rejected(self, severity: str) -> None:
        with pytest.raises(Rejected, match="severity"):
            at(signal().incident, 1, SignalOutage("x", severity=severity))
