"""Properties of the whole policy over random days: SDS signals, people acting, clock jumps.

The world here is the real routing of signals (`signals.routing.route`) and the real core
(`open_incident`, `decide`); only the storage is a Python list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.core.enums import Audience, Release, Status
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.lifecycle import decide, open_incident
from dispatcher.core.model import (
    Acknowledge,
    Cancel,
    Confirm,
    Decision,
    Event,
    Incident,
    Policy,
    PostUpdate,
    Rejected,
    Resolve,
    Tick,
)
from dispatcher.signals.model import Severity, Signal, SignalKind
from dispatcher.signals.routing import ApplyToOpen, Heartbeat, Ignore, OpenNew, route

T0 = datetime(2021, 12, 31, 2, 0, tzinfo=UTC)
POLICY = Policy()


@dataclass
class Tracked:
    incident: Incident
    acknowledged: bool = False
    closed: bool = False
    municipal: list[tuple[datetime, NoticeKind, bool]] = field(default_factory=list)
    pages_after_ack: int = 0


@dataclass
class World:
    now: datetime = T0
    incidents: list[Tracked] = field(default_factory=list)

    @property
    def open(self) -> Tracked | None:
        open_ones = [t for t in self.incidents if t.incident.status.is_open]
        assert len(open_ones) <= 1, "two open FMK incidents"
        return open_ones[0] if open_ones else None

    def record(self, tracked: Tracked, decision: Decision, *, scheduled: bool) -> None:
        for notice in decision.notices:
            if notice.kind is NoticeKind.PAGE and tracked.acknowledged:
                tracked.pages_after_ack += 1
            if notice.audience is Audience.MUNICIPALITIES:
                assert not tracked.closed, "a municipal notice after the incident was closed"
                tracked.municipal.append((self.now, notice.kind, scheduled))
        tracked.incident = decision.incident
        tracked.acknowledged = decision.incident.status is not Status.TRIGGERED
        tracked.closed = not decision.incident.status.is_open

    def signal(self, kind: SignalKind, severity: Severity) -> None:
        signal = Signal(event_id="e", kind=kind, severity=severity, summary="FMK nede")
        current = self.open
        step = route(
            signal,
            current.incident if current else None,
            now=self.now,
            guidance="Papir.",
            release=Release.AFTER_CONFIRM,
        )
        match step:
            case OpenNew(trigger):
                decision = open_incident(trigger, self.now, POLICY)
                tracked = Tracked(decision.incident)
                self.incidents.append(tracked)
                self.record(tracked, decision, scheduled=False)
            case ApplyToOpen(event):
                assert current is not None
                self.act(current, event, scheduled=False)
            case Ignore() | Heartbeat():
                pass

    def act(self, tracked: Tracked, event: Event, *, scheduled: bool) -> None:
        try:
            decision = decide(tracked.incident, event, self.now, POLICY)
        except Rejected:
            return
        self.record(tracked, decision, scheduled=scheduled)

    def person(self, make: Event) -> None:
        if (current := self.open) is not None:
            self.act(current, make, scheduled=False)

    def jump(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        for tracked in self.incidents:
            self.act(tracked, Tick(), scheduled=True)


signals = st.tuples(
    st.just("signal"), st.sampled_from(list(SignalKind)), st.sampled_from(list(Severity))
)
people = st.tuples(
    st.just("person"),
    st.sampled_from(
        [
            Acknowledge("khs@medcom.dk"),
            Acknowledge("ibs@medcom.dk"),
            Confirm("khs@medcom.dk"),
            PostUpdate("ibs@medcom.dk", "Nyt fra SDS"),
            Resolve("khs@medcom.dk"),
            Cancel("khs@medcom.dk", "Fejlalarm"),
        ]
    ),
)
jumps = st.tuples(st.just("jump"), st.integers(min_value=0, max_value=300))
days = st.lists(st.one_of(signals, people, jumps), min_size=1, max_size=40)


@settings(max_examples=400, deadline=None)
@given(days)
def test_the_policy_holds_over_any_day(steps: list[tuple[object, ...]]) -> None:
    world = World()
    for step in steps:
        match step:
            case ("signal", SignalKind() as kind, Severity() as severity):
                world.signal(kind, severity)
            case ("person", event):
                world.person(event)  # type: ignore[arg-type]
            case ("jump", int(minutes)):
                world.jump(minutes)
        world.open  # noqa: B018  (asserts there is at most one open incident)

    for tracked in world.incidents:
        assert tracked.pages_after_ack == 0, "paged after acknowledgement"
        notices = tracked.municipal
        for (before, _, _), (when, kind, scheduled) in pairwise(notices):
            if scheduled and kind is NoticeKind.UPDATE:
                assert when - before >= POLICY.update_interval, "updates faster than the cadence"
        all_clears = [n for n in notices if n[1] is NoticeKind.ALL_CLEAR]
        told = any(n[1] is NoticeKind.INITIAL for n in notices)
        resolved = tracked.incident.status is Status.RESOLVED
        assert len(all_clears) == (1 if resolved and told else 0)
