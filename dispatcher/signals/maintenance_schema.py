"""The `maintenance` object of an SDS signal of kind `maintenance`: a planned window announced,
changed or cancelled by SDS. Each signal carries the window's whole current state under SDS's
own `reference`, so a repeat changes nothing and the latest signal is what holds."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from dispatcher.signals.model import MaintenanceSignal

REFERENCE_PATTERN = r"^[A-Za-z0-9._:-]+$"
TEXT_MAX = 4000

EXAMPLE: JsonDict = {
    "event_id": "sds-fmk-chg-4711-1",
    "service": "FMK",
    "kind": "maintenance",
    "maintenance": {
        "reference": "CHG-4711",
        "starts_at": "2026-03-28T22:00:00+01:00",
        "ends_at": "2026-03-29T04:00:00+02:00",
        "text": "Opgradering af FMK's databaser. FMK kan ikke bruges i tidsrummet.",
    },
}


class MaintenanceIn(BaseModel):
    """A planned maintenance window of FMK, as SDS plans it now."""

    model_config = ConfigDict(extra="forbid", strict=True, title="SdsMaintenance")

    reference: Annotated[
        str,
        Field(
            min_length=1,
            max_length=128,
            pattern=REFERENCE_PATTERN,
            description="SDS's own id of the window (e.g. its change number): the same in "
            "every signal about this window.",
        ),
    ]
    starts_at: AwareDatetime | None = Field(
        default=None, description="Start, ISO 8601 with a UTC offset; required unless cancelled."
    )
    ends_at: AwareDatetime | None = Field(
        default=None, description="End, ISO 8601 with a UTC offset; required unless cancelled."
    )
    text: Annotated[str, Field(max_length=TEXT_MAX)] | None = Field(
        default=None,
        description="What is done and what it means for the municipalities (Danish); required "
        "unless cancelled.",
    )
    cancelled: bool = Field(
        default=False, description="The window is called off (before it starts)."
    )

    @model_validator(mode="after")
    def _complete(self) -> MaintenanceIn:
        if self.cancelled:
            return self
        missing = [name for name in ("starts_at", "ends_at", "text") if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{' and '.join(missing)} required unless cancelled is true")
        if self.text is not None and not self.text.strip():
            raise ValueError("text must not be blank")
        return self

    def to_signal(self) -> MaintenanceSignal:
        return MaintenanceSignal(
            reference=self.reference,
            starts_at=self.starts_at.astimezone(UTC) if self.starts_at else None,
            ends_at=self.ends_at.astimezone(UTC) if self.ends_at else None,
            text=self.text,
            cancelled=self.cancelled,
        )
