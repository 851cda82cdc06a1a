"""The maintenance windows' pure decisions, as tables with explicit times: which notices a
window gets and when, and which outage signals it explains."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.core import maintenance as mw
from dispatcher.core import suppression as sp
from dispatcher.core.enums import Release, Source
from dispatcher.core.kinds import NoticeKind as K
from dispatcher.core.maintenance import (
    Change,
    MaintenancePolicy,
    Outage,
    Phase,
    Plan,
    Schedule,
    Window,
    Withdraw,
)
from dispatcher.core.model import Rejected

NOW = datetime(2026, 3, 25, 9, 0, tzinfo=UTC)
START = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)  # Saturday 22:00 in Copenhagen
END = datetime(2026, 3, 29, 2, 0, tzinfo=UTC)  # Sunday 04:00, after the clocks went forward
H, M = timedelta(hours=1), timedelta(minutes=1)
POLICY = MaintenancePolicy()


def request(**changes: object) -> Schedule:
    base = Schedule("khs@medcom.dk", START, END, "Opgradering af databaserne.")
    return replace(base, **changes)  # type: ignore[arg-type]


def plans(decision: mw.WindowDecision) -> list[tuple[K, datetime]]:
    return [(p.kind, p.due_at) for p in decision.plans]


class TestSchedule:
    """A window three days ahead: the announcement now, reminders at −24 h and −60 min,
    "started" at the start and "ended" at the end."""

    def test_the_plan(self) -> None:
        decision = mw.schedule(request(), NOW, POLICY)
        assert plans(decision) == [
            (K.MAINT_ANNOUNCED, NOW),
            (K.MAINT_REMINDER, START - 24 * H),
            (K.MAINT_REMINDER, START - 60 * M),
            (K.MAINT_STARTED, START),
            (K.MAINT_ENDED, END),
        ]
        assert [p.lead for p in decision.plans if p.kind is K.MAINT_REMINDER] == [24 * H, 60 * M]
        assert decision.window.sequence == 0

    @pytest.mark.parametrize(
        ("now", "reminders"),
        [
            (START - 25 * H, [START - 24 * H, START - 60 * M]),
            (START - 24 * H, [START - 60 * M]),  # due exactly now: already past
            (START - 2 * H, [START - 60 * M]),
            (START - 30 * M, []),
        ],
    )
    def test_reminders_whose_time_has_passed_are_skipped(
        self, now: datetime, reminders: list[datetime]
    ) -> None:
        decision = mw.schedule(request(), now, POLICY)
        due = [p.due_at for p in decision.plans if p.kind is K.MAINT_REMINDER]
        assert due == reminders

    def test_reminders_are_configurable(self) -> None:
        policy = MaintenancePolicy(reminders=(2 * H, 48 * H))
        decision = mw.schedule(request(), NOW, policy)
        due = [p.due_at for p in decision.plans if p.kind is K.MAINT_REMINDER]
        assert due == [START - 48 * H, START - 2 * H]
        assert not [
            p
            for p in mw.schedule(request(), NOW, replace(policy, reminders=())).plans
            if p.kind is K.MAINT_REMINDER
        ]

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"ends_at": START}, "before it starts"),
            ({"ends_at": START - H}, "before it starts"),
            ({"starts_at": NOW - 2 * H, "ends_at": NOW - H}, "in the past"),
            ({"starts_at": NOW - H}, r"starts \(2026-03-25 09:00\) in the past"),
            ({"ends_at": START + 25 * H}, "at most 24 hours"),
            ({"text": "  "}, "text is empty"),
            ({"scope": (101,)}, "needs a label"),
        ],
    )
    def test_a_bad_window_is_refused(self, changes: dict[str, object], message: str) -> None:
        with pytest.raises(Rejected, match=message):
            mw.schedule(request(**changes), NOW, POLICY)

    def test_the_maximum_length_is_configurable(self) -> None:
        with pytest.raises(Rejected, match="5 hours long; at most 4 hours"):
            mw.schedule(request(), NOW, MaintenancePolicy(max_length=4 * H))


def scheduled() -> Window:
    return mw.schedule(request(), NOW, POLICY).window


class TestChange:
    """A change withdraws what is still to come, says what changed, and plans anew."""

    def test_moving_a_window(self) -> None:
        later = NOW + 24 * H
        decision = mw.change(
            scheduled(), Change("ibs@medcom.dk", START + 24 * H, END + 24 * H), later, POLICY
        )
        assert decision.window.sequence == 1
        assert isinstance(decision.effects[1], Withdraw)
        assert plans(decision) == [
            (K.MAINT_CHANGED, later),
            (K.MAINT_REMINDER, START),
            (K.MAINT_REMINDER, START + 23 * H),
            (K.MAINT_STARTED, START + 24 * H),
            (K.MAINT_ENDED, END + 24 * H),
        ]

    def test_extending_an_active_window_is_forlaenget(self) -> None:
        during = START + H
        decision = mw.change(scheduled(), Change("sds", ends_at=END + H), during, POLICY)
        assert plans(decision) == [(K.MAINT_EXTENDED, during), (K.MAINT_ENDED, END + H)]

    def test_shortening_an_active_window_is_a_change(self) -> None:
        during = START + H
        decision = mw.change(scheduled(), Change("sds", ends_at=END - H), during, POLICY)
        assert plans(decision) == [(K.MAINT_CHANGED, during), (K.MAINT_ENDED, END - H)]

    def test_a_new_scope_tells_those_who_left_it(self) -> None:
        window = replace(scheduled(), scope=(101, 147), scope_label="udvalgte kommuner")
        decision = mw.change(window, Change("khs", scope=(101,), scope_label="x"), NOW, POLICY)
        dropped = [p for p in decision.plans if p.dropped_from is not None]
        assert dropped == [Plan(K.MAINT_CANCELLED, NOW, dropped_from=(101, 147))]

    def test_the_text_alone_may_change(self) -> None:
        decision = mw.change(scheduled(), Change("khs", text="Ny tekst."), NOW, POLICY)
        assert decision.window.text == "Ny tekst."
        assert plans(decision)[0] == (K.MAINT_CHANGED, NOW)

    @pytest.mark.parametrize(
        ("window", "change", "now", "message"),
        [
            (scheduled(), Change("k"), NOW, "nothing changes"),
            (scheduled(), Change("k", starts_at=START), NOW, "nothing changes"),
            (scheduled(), Change("k", starts_at=START - H), START + H, "start cannot move"),
            (scheduled(), Change("k", text="x"), END, "has ended"),
            (scheduled(), Change("k", ends_at=START + M), START + H, "in the past"),
            (
                replace(scheduled(), status=mw.WindowStatus.CANCELLED),
                Change("k", text="x"),
                NOW,
                "been cancelled",
            ),
        ],
    )
    def test_a_change_that_does_not_fit_is_refused(
        self, window: Window, change: Change, now: datetime, message: str
    ) -> None:
        with pytest.raises(Rejected, match=message):
            mw.change(window, change, now, POLICY)


class TestCancel:
    def test_before_the_start(self) -> None:
        decision = mw.cancel(scheduled(), "khs", "SDS har flyttet arbejdet", NOW)
        assert decision.window.phase(NOW) is Phase.CANCELLED
        assert decision.window.sequence == 1
        assert isinstance(decision.effects[1], Withdraw)
        assert plans(decision) == [(K.MAINT_CANCELLED, NOW)]

    @pytest.mark.parametrize(
        ("now", "message"), [(START, "started or ended"), (END + H, "started or ended")]
    )
    def test_not_once_started(self, now: datetime, message: str) -> None:
        with pytest.raises(Rejected, match=message):
            mw.cancel(scheduled(), "khs", "", now)

    def test_not_twice(self) -> None:
        cancelled = mw.cancel(scheduled(), "khs", "", NOW).window
        with pytest.raises(Rejected, match="already cancelled"):
            mw.cancel(cancelled, "khs", "", NOW)


class TestSuppressing:
    """Which window, if any, explains an SDS outage signal."""

    GRACE = MaintenancePolicy(grace=10 * M)

    @pytest.mark.parametrize(
        ("now", "policy", "expected"),
        [
            (START - M, POLICY, None),
            (START, POLICY, 1),
            (END - M, POLICY, 1),
            (END, POLICY, None),
            (END + 9 * M, GRACE, 1),
            (END + 10 * M, GRACE, None),
        ],
    )
    def test_only_while_active(
        self, now: datetime, policy: MaintenancePolicy, expected: int | None
    ) -> None:
        assert sp.suppressing({1: scheduled()}, (), now, policy) == expected

    @pytest.mark.parametrize(
        ("window_scope", "signal_scope", "covered"),
        [
            ((), (), True),
            ((), (101,), True),
            ((101, 147), (101,), True),
            ((101, 147), (101, 147), True),
            ((101, 147), (101, 151), False),
            ((101, 147), (), False),  # an outage of all is more than the window explains
        ],
    )
    def test_only_for_its_scope(
        self, window_scope: tuple[int, ...], signal_scope: tuple[int, ...], covered: bool
    ) -> None:
        window = replace(scheduled(), scope=window_scope, scope_label="udvalgte")
        found = sp.suppressing({4: window}, signal_scope, START + H, POLICY)
        assert found == (4 if covered else None)

    def test_not_a_cancelled_or_finished_window(self) -> None:
        cancelled = replace(scheduled(), status=mw.WindowStatus.CANCELLED)
        released = replace(scheduled(), released=True)
        assert sp.suppressing({1: cancelled, 2: released}, (), START + H, POLICY) is None


OUTAGE = Outage(since=START + H, summary="FMK svarer ikke", details="Timeout.")


class TestRelease:
    """When a window is over, FMK still reported down starts the chain as an SDS outage."""

    def test_still_down_at_the_end_opens_an_sds_incident(self) -> None:
        window = sp.absorb_outage(scheduled(), OUTAGE).window
        again = sp.absorb_outage(window, replace(OUTAGE, since=START + 2 * H)).window
        assert again.down is not None
        assert again.down.since == START + H
        decision, trigger = sp.release(
            again, END, POLICY, guidance="Brug papir.", mode=Release.AFTER_CONFIRM
        )
        assert decision.window.released
        assert decision.window.down is None
        assert trigger is not None
        assert (trigger.source, trigger.summary, trigger.down_since, trigger.guidance) == (
            Source.SDS,
            "FMK svarer ikke",
            START + H,
            "Brug papir.",
        )

    def test_up_again_before_the_end_starts_nothing(self) -> None:
        window = sp.absorb_resolved(sp.absorb_outage(scheduled(), OUTAGE).window).window
        _, trigger = sp.release(window, END, POLICY, guidance="x", mode=Release.IMMEDIATE)
        assert trigger is None

    def test_the_grace_period_delays_the_end(self) -> None:
        window = sp.absorb_outage(scheduled(), OUTAGE).window
        policy = MaintenancePolicy(grace=15 * M)
        assert not sp.release_due(window, END + 14 * M, policy)
        assert sp.release_due(window, END + 15 * M, policy)
        with pytest.raises(Rejected, match="not over yet"):
            sp.release(window, END, policy, guidance="x", mode=Release.IMMEDIATE)

    def test_a_cancelled_window_is_never_released(self) -> None:
        cancelled = mw.cancel(scheduled(), "khs", "", NOW).window
        assert not sp.release_due(cancelled, END + H, POLICY)
