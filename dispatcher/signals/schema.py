"""The JSON body of SDS's webhook, validated strictly: no unknown fields, no coercion.

Validate with `SdsSignalIn.model_validate_json(raw_body)`. Strict mode still parses ISO 8601
strings into datetimes in JSON mode (there is no other way to write a time in JSON), but not
numbers, and `AwareDatetime` refuses a time without a UTC offset; `model_validate` on a Python
dict would refuse the strings, so always go through the JSON entry point.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

from dispatcher.contacts.model import EojSystem, Registry
from dispatcher.contacts.scope import resolve
from dispatcher.signals.maintenance_schema import EXAMPLE as MAINTENANCE_EXAMPLE
from dispatcher.signals.maintenance_schema import MaintenanceIn
from dispatcher.signals.model import Severity, Signal, SignalKind

EVENT_ID_PATTERN = r"^[A-Za-z0-9._:-]+$"
SUMMARY_MAX = 200
# Every character `str.splitlines` breaks at: a summary is one line.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
ONE_LINE = r"^[^\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]*$"
MAX_PROBLEMS = 20
DETAILS_MAX = 4000

EXAMPLE: JsonDict = {
    "event_id": "sds-fmk-20211231-0300-outage",
    "service": "FMK",
    "kind": "outage",
    "severity": "down",
    "summary": "FMK svarer ikke",
    "details": "Alle kald til FMK fejler med timeout. SDS undersøger fejlen.",
    "started_at": "2021-12-31T02:55:00Z",
}

# What the validators below enforce across fields, for the JSON Schema in /openapi.json.
_KIND_RULES: JsonDict = {
    "allOf": [
        {
            "if": {"properties": {"kind": {"const": "outage"}}, "required": ["kind"]},
            "then": {
                "required": ["severity", "summary"],
                "properties": {"severity": {"type": "string"}, "summary": {"type": "string"}},
            },
        },
        {
            "if": {"properties": {"kind": {"const": "update"}}, "required": ["kind"]},
            "then": {
                "anyOf": [
                    {"required": ["summary"], "properties": {"summary": {"type": "string"}}},
                    {"required": ["details"], "properties": {"details": {"minLength": 1}}},
                ]
            },
        },
        {
            "if": {"properties": {"kind": {"const": "maintenance"}}, "required": ["kind"]},
            "then": {"required": ["maintenance"]},
        },
    ]
}


class ScopeIn(BaseModel):
    """The municipalities an outage hits, when not all: each list given narrows it."""

    model_config = ConfigDict(extra="forbid", strict=True, title="SdsScope")

    eoj: list[Literal["nexus", "cura", "vitae", "other"]] = Field(
        default_factory=list,
        max_length=4,
        description="Only municipalities on these EOJ systems (and those whose system the "
        "registry does not know).",
    )
    regions: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        default_factory=list,
        max_length=5,
        description="Region codes ('1084') or names ('Region Hovedstaden').",
    )
    municipalities: list[Annotated[int, Field(ge=100, le=999)]] = Field(
        default_factory=list, max_length=98, description="Municipality codes (kommunekoder)."
    )

    @model_validator(mode="after")
    def _narrows(self) -> ScopeIn:
        if not (self.eoj or self.regions or self.municipalities):
            raise ValueError("a scope needs eoj, regions or municipalities; omit it for all")
        return self


class SdsSignalIn(BaseModel):
    """One signal from SDS's monitoring of FMK."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        title="SdsSignal",
        json_schema_extra={**_KIND_RULES, "examples": [EXAMPLE, MAINTENANCE_EXAMPLE]},
    )

    event_id: Annotated[
        str,
        Field(
            min_length=1,
            max_length=128,
            pattern=EVENT_ID_PATTERN,
            description="Unique per event, chosen by SDS; a retry repeats it with the same body.",
        ),
    ]
    service: Literal["FMK"] = Field(description="The monitored service; only FMK.")
    kind: Literal["outage", "update", "resolved", "heartbeat", "maintenance"] = Field(
        description="outage: FMK is down or degraded; update: new information about it; "
        "resolved: FMK runs again; heartbeat: SDS's monitoring is alive; maintenance: a "
        "planned window, announced, changed or cancelled."
    )
    severity: Literal["down", "degraded"] | None = Field(
        default=None, validate_default=True, description="Required for outage."
    )
    summary: (
        Annotated[str, Field(max_length=SUMMARY_MAX, json_schema_extra={"pattern": ONE_LINE})]
        | None
    ) = Field(
        default=None,
        validate_default=True,
        description="One line (no CR, LF or other line break), shown as the incident's "
        "summary and in the mail subjects; required for outage.",
    )
    details: Annotated[str, Field(max_length=DETAILS_MAX)] = Field(
        default="",
        validate_default=True,
        description="Free text for the on-call staff and the municipalities; an update needs "
        "this or a summary.",
    )
    started_at: AwareDatetime | None = Field(
        default=None,
        description="When the problem began: ISO 8601 with a UTC offset or Z.",
    )
    drill: bool = Field(
        default=False,
        description="A drill (ØVELSE): opens or concerns the open drill, never the real "
        "incident; its mail goes to MedCom's drill staff only.",
    )
    scope: ScopeIn | None = Field(
        default=None,
        description="Outage and maintenance only: the municipalities it concerns, when not all "
        "98. Used when the signal opens an incident, and as the window's scope.",
    )
    maintenance: MaintenanceIn | None = Field(
        default=None,
        validate_default=True,
        description="Maintenance only (and required there): the planned window.",
    )

    @field_validator("drill")
    @classmethod
    def _drill_not_heartbeat(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("kind") == "heartbeat":
            raise ValueError("a heartbeat cannot be a drill")
        return value

    @field_validator("scope")
    @classmethod
    def _scope_for_outage(cls, value: ScopeIn | None, info: ValidationInfo) -> ScopeIn | None:
        if value is not None and info.data.get("kind") not in ("outage", "maintenance"):
            raise ValueError("only an outage or a maintenance window can carry a scope")
        return value

    @field_validator("maintenance")
    @classmethod
    def _maintenance_for_kind(
        cls, value: MaintenanceIn | None, info: ValidationInfo
    ) -> MaintenanceIn | None:
        kind = info.data.get("kind")
        if value is None and kind == "maintenance":
            raise ValueError("is required when kind is 'maintenance'")
        if value is not None and kind != "maintenance":
            raise ValueError("only a signal of kind 'maintenance' can carry it")
        if kind == "maintenance" and info.data.get("drill"):
            raise ValueError("a maintenance window cannot be a drill")
        return value

    @field_validator("severity")
    @classmethod
    def _severity_for_outage(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("kind") == "outage":
            raise ValueError("is required when kind is 'outage'")
        return value

    @field_validator("summary")
    @classmethod
    def _summary_for_outage(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        if value is not None and any(char in LINE_BREAKS for char in value):
            raise ValueError("must be one line: no CR, LF or other line break; use details")
        if value is None and info.data.get("kind") == "outage":
            raise ValueError("is required when kind is 'outage'")
        return value

    @field_validator("details")
    @classmethod
    def _update_says_something(cls, value: str, info: ValidationInfo) -> str:
        data = info.data
        silent = not value.strip() and "summary" in data and not (data["summary"] or "").strip()
        if data.get("kind") == "update" and silent:
            raise ValueError("an update needs details or a summary; both are empty")
        return value

    def to_signal(self, registry: Registry) -> Signal:
        """The signal, its scope resolved against the registry (ScopeError if it names a
        municipality or region the registry does not have)."""
        scope = None
        if self.scope is not None:
            scope = resolve(
                registry,
                eoj=[EojSystem(s) for s in self.scope.eoj],
                regions=self.scope.regions,
                codes=self.scope.municipalities,
            )
        return Signal(
            event_id=self.event_id,
            kind=SignalKind(self.kind),
            severity=Severity(self.severity) if self.severity is not None else None,
            summary=self.summary,
            details=self.details,
            started_at=self.started_at.astimezone(UTC) if self.started_at is not None else None,
            drill=self.drill,
            scope=scope,
            maintenance=self.maintenance.to_signal() if self.maintenance else None,
        )


def published_schema() -> dict[str, Any]:
    """The JSON Schema of the body with its definitions inlined, for /openapi.json (which
    keeps its own `components` and would not resolve this schema's `$defs`)."""
    schema = SdsSignalIn.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


FIELDS = tuple(SdsSignalIn.model_fields)
_SHORT_INPUT = 60


def problems(exc: ValidationError, limit: int = MAX_PROBLEMS) -> list[dict[str, str]]:
    """The first `limit` violations as `{field, problem}`, worded for the engineer who sent
    the body (`exc.error_count()` says how many there are in all)."""
    found = []
    for err in exc.errors(include_url=False)[:limit]:
        field = ".".join(str(part) for part in err["loc"]) or "body"
        found.append({"field": field, "problem": _wording(err)})
    return found


def _wording(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return f"is not a known field; the fields are {', '.join(FIELDS)}"
    if kind == "timezone_aware":
        return "must carry a UTC offset, e.g. 2021-12-31T03:00:00+01:00 or 2021-12-31T02:00:00Z"
    if kind == "model_type":
        return "must be a JSON object"
    message = str(err["msg"])
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    value = err.get("input")
    if kind != "value_error" and (isinstance(value, str | int | float | bool) or value is None):
        shown = json.dumps(value, ensure_ascii=False)
        if len(shown) <= _SHORT_INPUT:
            message += f" (got {shown})"
    return message
