"""The SDS signal body: strict JSON, no unknown fields, outage needs severity and summary."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from dispatcher.contacts.model import Registry
from dispatcher.signals.model import Severity, Signal, SignalKind
from dispatcher.signals.schema import EXAMPLE, SdsSignalIn, problems, published_schema

OUTAGE: dict[str, Any] = {
    "event_id": "sds-fmk-20211231-0300-outage",
    "service": "FMK",
    "kind": "outage",
    "severity": "down",
    "summary": "FMK svarer ikke",
    "details": "Alle kald fejler med timeout.",
    "started_at": "2021-12-31T03:55:00+01:00",
}


def parse(payload: dict[str, Any] | str) -> SdsSignalIn:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return SdsSignalIn.model_validate_json(text)


def problems_of(payload: dict[str, Any] | str) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        parse(payload)
    return {p["field"]: p["problem"] for p in problems(caught.value)}


def with_(**changes: Any) -> dict[str, Any]:
    return {**OUTAGE, **changes}


def without(*names: str) -> dict[str, Any]:
    return {k: v for k, v in OUTAGE.items() if k not in names}


def test_a_full_outage_becomes_a_signal_with_the_start_in_utc(registry: Registry) -> None:
    assert parse(OUTAGE).to_signal(registry) == Signal(
        event_id="sds-fmk-20211231-0300-outage",
        kind=SignalKind.OUTAGE,
        severity=Severity.DOWN,
        summary="FMK svarer ikke",
        details="Alle kald fejler med timeout.",
        started_at=datetime(2021, 12, 31, 2, 55, tzinfo=UTC),
    )
    started = parse(OUTAGE).to_signal(registry).started_at
    assert started is not None
    assert started.utcoffset() is not None
    assert started.tzinfo is UTC


def test_the_published_example_is_valid() -> None:
    assert parse(dict(EXAMPLE)).kind == "outage"


@pytest.mark.parametrize(
    "payload",
    [
        {"event_id": "hb-1", "service": "FMK", "kind": "heartbeat"},
        {"event_id": "u-1", "service": "FMK", "kind": "update", "details": "Ny info."},
        {"event_id": "r-1", "service": "FMK", "kind": "resolved", "summary": "FMK kører igen"},
        {"event_id": "u-2", "service": "FMK", "kind": "update", "summary": "Langsom"},
        with_(severity="degraded", details="", started_at=None),
        with_(started_at="2021-12-31T02:55:00Z"),
        with_(started_at="2021-12-31T02:55:00.123456+00:00"),
        with_(event_id="A.b_c:d-9"),
        with_(event_id="x" * 128),
        with_(summary="s" * 200, details="d" * 4000),
    ],
)
def test_valid_signals(payload: dict[str, Any], registry: Registry) -> None:
    signal = parse(payload).to_signal(registry)
    assert signal.event_id == payload["event_id"]
    assert signal.kind == SignalKind(payload["kind"])


def test_defaults_for_the_optional_fields(registry: Registry) -> None:
    signal = parse({"event_id": "hb-1", "service": "FMK", "kind": "heartbeat"}).to_signal(registry)
    assert (signal.severity, signal.summary, signal.details, signal.started_at) == (
        None,
        None,
        "",
        None,
    )


def test_strict_json_still_parses_iso_times_but_python_mode_would_not() -> None:
    """Why the webhook validates with model_validate_json: in strict Python mode a string is
    not a datetime, but in JSON mode an ISO 8601 string is the only way to write one."""
    assert parse(OUTAGE).started_at == datetime(2021, 12, 31, 2, 55, tzinfo=UTC)
    with pytest.raises(ValidationError):
        SdsSignalIn.model_validate(OUTAGE)


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        (
            with_(kind=5),
            "kind",
            "'outage', 'update', 'resolved', 'heartbeat' or 'maintenance' (got 5)",
        ),
        (with_(kind="down"), "kind", 'got "down"'),
        (with_(service="XYZ"), "service", "'FMK'"),
        (with_(service="fmk"), "service", "'FMK'"),
        (with_(severity="critical"), "severity", "'down' or 'degraded'"),
        (with_(started_at="2021-12-31T03:00:00"), "started_at", "UTC offset"),
        (with_(started_at="31-12-2021 03:00"), "started_at", "valid datetime"),
        (with_(started_at="2021-12-31"), "started_at", "datetime"),
        (with_(started_at=1640919600), "started_at", "valid datetime"),
        (with_(event_id=""), "event_id", "at least 1 character"),
        (with_(event_id="x" * 129), "event_id", "at most 128 characters"),
        (with_(event_id="has space"), "event_id", "pattern"),
        (with_(event_id="æøå"), "event_id", "pattern"),
        (with_(event_id="a/b"), "event_id", "pattern"),
        (with_(event_id="abc\n"), "event_id", "pattern"),
        (with_(event_id=42), "event_id", "valid string"),
        (with_(summary="s" * 201), "summary", "at most 200 characters"),
        (with_(summary=" \t"), "summary", "blank"),
        (with_(details="d" * 4001), "details", "at most 4000 characters"),
        (with_(details=None), "details", "valid string"),
        (with_(details=["a"]), "details", "valid string"),
        (with_(summary=True), "summary", "valid string"),
        (with_(extra="x"), "extra", "not a known field"),
        (with_(Kind="outage"), "Kind", "not a known field"),
        (without("event_id"), "event_id", "required"),
        (without("service"), "service", "required"),
        (without("kind"), "kind", "required"),
        (without("severity"), "severity", "required when kind is 'outage'"),
        (with_(severity=None), "severity", "required when kind is 'outage'"),
        (without("summary"), "summary", "required when kind is 'outage'"),
        (with_(summary=None), "summary", "required when kind is 'outage'"),
    ],
)
def test_invalid_signals_name_the_field_and_the_problem(
    payload: dict[str, Any], field: str, words: str
) -> None:
    found = problems_of(payload)
    assert field in found, found
    assert words in found[field]


def test_every_problem_is_reported_at_once() -> None:
    found = problems_of(
        {
            "event_id": "a b",
            "service": "XYZ",
            "kind": 5,
            "started_at": "2021-12-31T03:00:00",
            "x": 1,
        }
    )
    assert set(found) == {"event_id", "service", "kind", "started_at", "x"}


def test_the_unknown_field_problem_lists_the_known_ones() -> None:
    assert "event_id, service, kind" in problems_of(with_(extra=1))["extra"]


@pytest.mark.parametrize("body", ["[]", '"outage"', "null", "5"])
def test_a_body_that_is_not_an_object(body: str) -> None:
    assert problems_of(body) == {"body": "must be a JSON object"}


def test_outage_needs_both_and_says_so_for_each() -> None:
    found = problems_of(without("severity", "summary"))
    assert set(found) == {"severity", "summary"}


@pytest.mark.parametrize("kind", ["resolved", "heartbeat"])
def test_only_outage_needs_severity_and_summary(kind: str) -> None:
    assert parse({"event_id": "e", "service": "FMK", "kind": kind}).kind == kind


@pytest.mark.parametrize(
    "payload",
    [
        {"event_id": "u", "service": "FMK", "kind": "update"},
        {"event_id": "u", "service": "FMK", "kind": "update", "details": "  ", "summary": None},
    ],
)
def test_an_update_must_say_something(payload: dict[str, Any]) -> None:
    assert problems_of(payload) == {
        "details": "an update needs details or a summary; both are empty"
    }


@pytest.mark.parametrize(
    "payload",
    [
        {"event_id": "u", "service": "FMK", "kind": "update", "summary": "Ny info"},
        {"event_id": "u", "service": "FMK", "kind": "update", "details": "Ny info"},
    ],
)
def test_an_update_with_summary_or_details(payload: dict[str, Any]) -> None:
    assert parse(payload).kind == "update"


def test_an_update_with_a_bad_summary_gets_one_problem() -> None:
    assert set(
        problems_of({"event_id": "u", "service": "FMK", "kind": "update", "summary": " "})
    ) == {"summary"}


def test_no_coercion_of_numbers_to_strings_or_back() -> None:
    assert "summary" in problems_of(with_(summary=123))
    assert "event_id" in problems_of(with_(event_id=1.5))


def test_long_inputs_are_not_echoed_in_the_problem() -> None:
    problem = problems_of(with_(details="d" * 4001))["details"]
    assert "ddddd" not in problem


def test_the_json_schema_describes_the_contract() -> None:
    schema = published_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"event_id", "service", "kind"}
    outage, update, maintenance = schema["allOf"]
    assert outage["if"]["properties"]["kind"] == {"const": "outage"}
    assert outage["then"]["required"] == ["severity", "summary"]
    assert update["if"]["properties"]["kind"] == {"const": "update"}
    assert maintenance["then"]["required"] == ["maintenance"]
    assert schema["properties"]["event_id"]["pattern"] == "^[A-Za-z0-9._:-]+$"
    assert schema["properties"]["started_at"]["anyOf"][0]["format"] == "date-time"
    assert "$defs" not in schema


def test_every_json_example_in_the_sds_guide_is_a_valid_signal(registry: Registry) -> None:
    guide = Path(__file__).resolve().parents[2] / "docs" / "sds-integration.md"
    bodies = re.findall(r"```json\n(.*?)\n```", guide.read_text(encoding="utf-8"), re.DOTALL)
    signals = [body for body in bodies if '"service": "FMK"' in body]
    assert len(signals) >= 5
    for body in signals:
        signal = parse(body).to_signal(registry)
        if signal.kind is SignalKind.MAINTENANCE:
            assert signal.scope is not None
            assert signal.scope.label == "Region Sjælland"
        elif signal.scope is not None:
            assert signal.drill
            assert signal.scope.label == "kommuner med Cura"


@pytest.mark.parametrize(
    "summary",
    [
        "FMK svarer ikke\r\nBcc: alle@x.example",
        "FMK svarer\nikke",
        "FMK\rsvarer",
        "FMK\u2028svarer",
    ],
)
def test_a_summary_is_one_line(summary: str) -> None:
    assert problems_of(with_(summary=summary)) == {
        "summary": "must be one line: no CR, LF or other line break; use details"
    }


def test_details_may_have_several_lines(registry: Registry) -> None:
    assert parse(with_(details="Første linje.\r\nAnden linje.")).to_signal(registry).details


def test_the_contract_says_a_summary_is_one_line() -> None:
    summary = published_schema()["properties"]["summary"]
    [text] = [option for option in summary["anyOf"] if option.get("type") == "string"]
    pattern = re.compile(text["pattern"])
    assert pattern.fullmatch("FMK svarer ikke – opslag fejler")
    for line_break in ("\n", "\r", "\u2028"):
        assert not pattern.fullmatch(f"FMK{line_break}svarer")


def test_the_problems_listed_are_capped() -> None:
    payload = {**OUTAGE, **{f"k{i}": 0 for i in range(7404)}}
    with pytest.raises(ValidationError) as caught:
        parse(payload)
    listed = problems(caught.value)
    assert caught.value.error_count() == 7404
    assert len(listed) == 20
    assert listed[0] == {"field": "k0", "problem": listed[0]["problem"]}
