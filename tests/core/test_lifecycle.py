"""The incident lifecycle, driven as a pure function with explicit times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.core.enums import Release, Status
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.lifecycle import decide, open_incident
from dispatcher.core.model import (
    Acknowledge,
    Cancel,
    Confirm,
    Decision,
    Notify,
    Policy,
    PostUpdate,
    Record,
    Rejected,
    Resolve,
    Tick,
    Trigger,
)

T0 = datetime(2021, 12, 31, 2, 0, tzinfo=UTC)
POLICY = Policy(update_interval=timedelta(hours=2))
MIN = timedelta(minutes=1)


def trigger(**overrides: object) -> Trigger:
    fields: dict[str, object] = {
        "actor": "khs@medcom.dk",
        "summary": "FMK svarer ikke",
        "details": "Opslag og ordinationer fejler.",
        "guidance": "Brug papir.",
    }
    fields.update(overrides)
    return Trigger(**fields)  # type: ignore[arg-type]


def kinds(decision: Decision) -> list[NoticeKind]:
    return [n.kind for n in decision.notices]


def opened(**overrides: object) -> Decision:
    return open_incident(trigger(**overrides), T0, POLICY)


class TestOpening:
    """Triggering informs the municipalities at once unless notices are held."""

    def test_trigger_sends_initial_and_schedules_update(self) -> None:
        d = opened()
        assert d.incident.status is Status.TRIGGERED
        assert kinds(d) == [NoticeKind.INITIAL]
        assert d.incident.informed_at == T0
        assert d.incident.next_update_at == T0 + timedelta(hours=2)

    def test_held_trigger_sends_nothing_until_confirmed(self) -> None:
        d = opened(release=Release.AFTER_CONFIRM)
        assert kinds(d) == []
        assert d.incident.next_update_at is None
        confirmed = decide(
            d.incident, Confirm("ibs@medcom.dk", summary="Nyt resumé"), T0 + MIN, POLICY
        )
        assert kinds(confirmed) == [NoticeKind.INITIAL]
        assert confirmed.incident.summary == "Nyt resumé"
        assert confirmed.incident.next_update_at == T0 + MIN + timedelta(hours=2)

    def test_down_since_defaults_to_now_and_may_be_earlier(self) -> None:
        assert opened().incident.down_since == T0
        assert opened(down_since=T0 - timedelta(hours=1)).incident.down_since == T0 - timedelta(
            hours=1
        )

    @pytest.mark.parametrize(
        ("overrides", "complaint"),
        [
            ({"summary": "  "}, "summary is empty"),
            ({"guidance": ""}, "guidance is empty"),
            ({"summary": "x" * 201}, "summary is 201 characters"),
            ({"down_since": T0 + MIN}, "in the future"),
        ],
    )
    def test_bad_input_is_rejected_with_the_reason(
        self, overrides: dict[str, object], complaint: str
    ) -> None:
        with pytest.raises(Rejected, match=complaint):
            opened(**overrides)

    def test_summary_becomes_one_line_and_control_characters_go(self) -> None:
        d = opened(summary="FMK\r\nBcc: x@evil.example\x07 nede")
        assert d.incident.summary == "FMK Bcc: x@evil.example  nede"


class TestTransitions:
    """Acknowledge, update, resolve and cancel each do exactly one thing."""

    def test_acknowledge_sets_owner_once(self) -> None:
        d = decide(opened().incident, Acknowledge("ibs@medcom.dk"), T0 + MIN, POLICY)
        assert d.incident.status is Status.ACKNOWLEDGED
        assert d.incident.owner == "ibs@medcom.dk"
        assert kinds(d) == []
        with pytest.raises(Rejected, match=r"already acknowledged by ibs@medcom\.dk"):
            decide(d.incident, Acknowledge("khs@medcom.dk"), T0 + 2 * MIN, POLICY)

    def test_manual_update_restarts_the_interval(self) -> None:
        d = decide(
            opened().incident, PostUpdate("khs@medcom.dk", "SDS genstarter"), T0 + 30 * MIN, POLICY
        )
        assert d.notices == (Notify(NoticeKind.UPDATE, "SDS genstarter"),)
        assert d.incident.next_update_at == T0 + 30 * MIN + timedelta(hours=2)
        assert d.incident.updates_sent == 1

    def test_update_while_held_is_rejected(self) -> None:
        with pytest.raises(Rejected, match="not been told yet"):
            decide(
                opened(release=Release.AFTER_CONFIRM).incident,
                PostUpdate("khs@medcom.dk", "x"),
                T0,
                POLICY,
            )

    def test_resolve_sends_all_clear_and_stops_cadence(self) -> None:
        d = decide(opened().incident, Resolve("khs@medcom.dk"), T0 + timedelta(hours=3), POLICY)
        assert d.incident.status is Status.RESOLVED
        assert kinds(d) == [NoticeKind.ALL_CLEAR]
        assert d.incident.next_update_at is None
        assert d.incident.closed_at == T0 + timedelta(hours=3)

    def test_resolve_records_when_fmk_came_back(self) -> None:
        back = T0 + timedelta(hours=1)
        d = decide(
            opened().incident,
            Resolve("khs@medcom.dk", fmk_up_since=back),
            T0 + timedelta(hours=2),
            POLICY,
        )
        assert d.incident.closed_at == back
        with pytest.raises(Rejected, match="must lie between"):
            decide(opened().incident, Resolve("x", fmk_up_since=T0 - MIN), T0 + MIN, POLICY)

    def test_resolve_of_held_incident_tells_nobody(self) -> None:
        d = decide(
            opened(release=Release.AFTER_CONFIRM).incident,
            Resolve("khs@medcom.dk"),
            T0 + MIN,
            POLICY,
        )
        assert kinds(d) == []

    def test_cancel_corrects_only_if_municipalities_were_told(self) -> None:
        told = decide(opened().incident, Cancel("khs@medcom.dk", "fejlalarm"), T0 + MIN, POLICY)
        assert told.notices == (Notify(NoticeKind.CORRECTION, "fejlalarm"),)
        untold = decide(
            opened(release=Release.AFTER_CONFIRM).incident,
            Cancel("khs@medcom.dk", "fejlalarm"),
            T0 + MIN,
            POLICY,
        )
        assert kinds(untold) == []
        assert untold.incident.status is Status.CANCELLED

    def test_cancel_needs_a_reason(self) -> None:
        with pytest.raises(Rejected, match="reason is empty"):
            decide(opened().incident, Cancel("khs@medcom.dk", " "), T0, POLICY)

    @pytest.mark.parametrize(
        "event",
        [
            Acknowledge("a@x.dk"),
            PostUpdate("a@x.dk", "m"),
            Resolve("a@x.dk"),
            Cancel("a@x.dk", "r"),
            Confirm("a@x.dk"),
        ],
    )
    def test_closed_incident_rejects_everything(self, event: object) -> None:
        closed = decide(opened().incident, Resolve("khs@medcom.dk"), T0 + MIN, POLICY).incident
        with pytest.raises(Rejected, match="is resolved"):
            decide(closed, event, T0 + 2 * MIN, POLICY)  # type: ignore[arg-type]

    def test_every_transition_is_recorded_with_its_actor(self) -> None:
        d = decide(opened().incident, Acknowledge("ibs@medcom.dk"), T0 + MIN, POLICY)
        assert Record("acknowledged", "ibs@medcom.dk", "owner: ibs@medcom.dk") in d.effects


class TestCadence:
    """An update is owed one interval after the previous municipal notice, once however late."""

    @pytest.mark.parametrize(
        ("elapsed", "expected"),
        [
            (timedelta(hours=2) - timedelta(seconds=1), []),
            (timedelta(hours=2), [NoticeKind.UPDATE]),
            (timedelta(hours=9), [NoticeKind.UPDATE]),
        ],
    )
    def test_tick(self, elapsed: timedelta, expected: list[NoticeKind]) -> None:
        assert kinds(decide(opened().incident, Tick(), T0 + elapsed, POLICY)) == expected

    def test_overdue_update_is_sent_once_and_next_counts_from_now(self) -> None:
        late = T0 + timedelta(hours=9)
        first = decide(opened().incident, Tick(), late, POLICY)
        assert first.incident.next_update_at == late + timedelta(hours=2)
        assert kinds(decide(first.incident, Tick(), late, POLICY)) == []

    def test_no_updates_while_held_or_after_close(self) -> None:
        held = decide(
            opened(release=Release.AFTER_CONFIRM).incident, Tick(), T0 + timedelta(hours=5), POLICY
        )
        assert NoticeKind.UPDATE not in kinds(held)
        assert NoticeKind.INITIAL not in kinds(held)
        resolved = decide(opened().incident, Resolve("k@medcom.dk"), T0 + MIN, POLICY).incident
        assert kinds(decide(resolved, Tick(), T0 + timedelta(hours=5), POLICY)) == []
