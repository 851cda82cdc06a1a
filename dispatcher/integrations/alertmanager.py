"""Alertmanager's webhook body (`version` "4") and what it means for FMK. Pure.

One notification is about one alert group (`groupKey`). Its alerts that match the configured
label matchers decide: any of them firing is an outage signal, all of them resolved is a
resolved signal. A repeat of the same notification (Alertmanager's retry after a 5xx, or its
`repeat_interval`) has the same event id, so it is handled once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dispatcher.integrations.matchers import Matcher, matches

SUMMARY_MAX = 200


class AlertIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: AwareDatetime  # noqa: N815 (Alertmanager's field names)
    endsAt: AwareDatetime | None = None  # noqa: N815
    fingerprint: str = ""


class NotificationIn(BaseModel):
    """What `webhook_config` POSTs; unknown fields are ignored (Alertmanager adds some)."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    groupKey: str = Field(min_length=1, max_length=4096)  # noqa: N815
    truncatedAlerts: int = Field(default=0, ge=0)  # noqa: N815
    status: Literal["firing", "resolved"]
    receiver: str = ""
    alerts: list[AlertIn] = Field(default_factory=list, max_length=10_000)


@dataclass(frozen=True)
class AlertSignal:
    """An outage (`firing`) or resolved signal from one alert group."""

    event_id: str
    group: str  # sha256 of the groupKey
    firing: bool
    summary: str
    details: str
    started_at: datetime
    truncated: int


def group_id(group_key: str) -> str:
    return hashlib.sha256(group_key.encode("utf-8")).hexdigest()


def decide(note: NotificationIn, matchers: tuple[Matcher, ...]) -> AlertSignal | None:
    """The signal this notification gives, or None when none of its alerts mean FMK."""
    concerned = [a for a in note.alerts if matches(matchers, a.labels)]
    if not concerned:
        return None
    firing = [a for a in concerned if a.status == "firing"]
    shown = firing or concerned
    first = shown[0]
    summary = first.annotations.get("summary") or first.labels.get("alertname") or "FMK-alarm"
    lines = [
        f"{a.labels.get('alertname', 'alert')} ({a.status}): "
        + (a.annotations.get("description") or a.annotations.get("summary") or "")
        for a in shown
    ]
    if note.truncatedAlerts:
        lines.append(f"Alertmanager left out {note.truncatedAlerts} more alerts (max_alerts).")
    state = sorted(f"{a.fingerprint}:{a.status}:{a.startsAt.isoformat()}" for a in concerned)
    digest = hashlib.sha256("\n".join([note.groupKey, *state]).encode("utf-8")).hexdigest()
    return AlertSignal(
        event_id=f"am-{digest[:40]}",
        group=group_id(note.groupKey),
        firing=bool(firing),
        summary=" ".join(summary.split())[:SUMMARY_MAX],
        details="\n".join(line.strip() for line in lines)[:4000],
        started_at=min(a.startsAt for a in shown).astimezone(UTC),
        truncated=note.truncatedAlerts,
    )
