"""SDS announces, changes and cancels a maintenance window with `kind: maintenance`; the old
kinds are unchanged. Each signal is the window's whole state under SDS's reference."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.incidents.service import Dispatch
from dispatcher.maintenance import queries
from dispatcher.signals.model import MaintenanceSignal, SignalKind
from dispatcher.signals.schema import SdsSignalIn, problems, published_schema
from dispatcher.signals.service import receive_signal

NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
WINDOW: dict[str, Any] = {
    "event_id": "sds-chg-4711-1",
    "service": "FMK",
    "kind": "maintenance",
    "maintenance": {
        "reference": "CHG-4711",
        "starts_at": "2026-03-28T22:00:00+01:00",
        "ends_at": "2026-03-29T04:00:00+02:00",
        "text": "Opgradering af databaserne. FMK kan ikke bruges.",
    },
}


def body(event_id: str, **maintenance: Any) -> dict[str, Any]:
    return {**WINDOW, "event_id": event_id, "maintenance": {**WINDOW["maintenance"], **maintenance}}


def problems_of(payload: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        SdsSignalIn.model_validate_json(json.dumps(payload))
    return {p["field"]: p["problem"] for p in problems(caught.value)}


def test_a_window_becomes_a_signal_in_utc(registry: Registry) -> None:
    signal = SdsSignalIn.model_validate_json(json.dumps(WINDOW)).to_signal(registry)
    assert signal.kind is SignalKind.MAINTENANCE
    assert signal.maintenance == MaintenanceSignal(
        reference="CHG-4711",
        starts_at=datetime(2026, 3, 28, 21, 0, tzinfo=UTC),
        ends_at=datetime(2026, 3, 29, 2, 0, tzinfo=UTC),
        text="Opgradering af databaserne. FMK kan ikke bruges.",
    )


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({k: v for k, v in WINDOW.items() if k != "maintenance"}, "maintenance", "required"),
        ({**WINDOW, "kind": "outage", "severity": "down", "summary": "x"}, "maintenance", "only"),
        (body("e", ends_at=None), "maintenance", "ends_at required unless cancelled"),
        (body("e", text="  "), "maintenance", "text must not be blank"),
        (body("e", starts_at="2026-03-28T22:00:00"), "maintenance.starts_at", "UTC offset"),
        (body("e", reference="CHG 1"), "maintenance.reference", "pattern"),
        (body("e", until="x"), "maintenance.until", "not a known field"),
        ({**WINDOW, "drill": True}, "maintenance", "cannot be a drill"),
    ],
)
def test_a_bad_window_names_the_field(payload: dict[str, Any], field: str, words: str) -> None:
    found = problems_of(payload)
    assert field in found, found
    assert words in found[field]


def test_a_scope_is_still_refused_on_an_update() -> None:
    update = {"event_id": "e", "service": "FMK", "kind": "update", "details": "x"}
    found = problems_of({**update, "scope": {"municipalities": [101]}})
    assert "only an outage or a maintenance window" in found["scope"]


def test_the_published_contract_lists_the_new_kind() -> None:
    schema = published_schema()
    assert "maintenance" in schema["properties"]["kind"]["enum"]
    assert schema["properties"]["maintenance"]["anyOf"][0]["required"] == ["reference"]


def receive(dispatch: Dispatch, settings: Settings, payload: dict[str, Any]) -> tuple[int, Any]:
    raw = json.dumps(payload).encode()
    signal = SdsSignalIn.model_validate_json(raw).to_signal(dispatch.registry)
    outcome = receive_signal(
        dispatch, signal, body_sha256=hashlib.sha256(raw).hexdigest(), now=NOW, settings=settings
    )
    return outcome.status_code, outcome.body


class TestFromSds:
    """Scheduled by the first signal, changed by a later one, unchanged by a repeat of the same
    state, cancelled by `cancelled: true`; a retry of an event id gets the stored answer."""

    def test_schedule_change_repeat_cancel(self, dispatch: Dispatch, settings: Settings) -> None:
        assert receive(dispatch, settings, WINDOW) == (
            201,
            {"action": "scheduled", "maintenance": 1},
        )
        assert receive(dispatch, settings, WINDOW)[1]["duplicate"] is True
        same = body("sds-chg-4711-2")
        assert receive(dispatch, settings, same) == (200, {"action": "unchanged", "maintenance": 1})
        later = body("sds-chg-4711-3", ends_at="2026-03-29T05:00:00+02:00")
        assert receive(dispatch, settings, later) == (200, {"action": "changed", "maintenance": 1})
        off = body("sds-chg-4711-4", cancelled=True)
        assert receive(dispatch, settings, off) == (200, {"action": "cancelled", "maintenance": 1})
        detail = queries.window_detail(dispatch.engine, 1)
        assert detail is not None
        assert (detail.row.reference, detail.row.status, detail.row.sequence) == (
            "CHG-4711",
            "cancelled",
            2,
        )
        assert [e.kind for e in detail.events if e.kind not in ("notice", "withdrawn")] == [
            "scheduled",
            "changed",
            "cancelled",
        ]

    def test_a_window_that_does_not_fit_is_rejected_and_stored(
        self, dispatch: Dispatch, settings: Settings
    ) -> None:
        past = body(
            "sds-old", starts_at="2026-03-01T22:00:00+01:00", ends_at="2026-03-02T02:00:00+01:00"
        )
        status, answer = receive(dispatch, settings, past)
        assert (status, answer["error"]) == (422, "rejected")
        assert "in the past" in answer["detail"]
        unknown = {
            **body("sds-x", cancelled=True),
            "maintenance": {"reference": "NOPE", "cancelled": True},
        }
        assert receive(dispatch, settings, unknown)[0] == 422
        assert queries.list_windows(dispatch.engine) == []
