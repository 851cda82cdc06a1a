"""The tables of planned maintenance windows and of the alert groups that Alertmanager and
PagerDuty-shaped events raise; re-exported by `dispatcher.store.tables`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from dispatcher.store.fields import text_field as _text
from dispatcher.store.fields import time_field as _time


class MaintenanceRow(SQLModel, table=True):
    """A planned maintenance window. `reference` is SDS's own id for a window it announced."""

    __tablename__ = "maintenance"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(unique=True, max_length=36)
    reference: str | None = Field(default=None, unique=True, max_length=128)
    status: str = Field(max_length=20)
    starts_at: datetime = _time()
    ends_at: datetime = _time(index=True)
    text: str = _text()
    scope: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    scope_label: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sequence: int = 0
    released: bool = False
    created_at: datetime = _time()
    created_by: str = Field(max_length=320)
    # What a suppressed SDS outage signal said while FMK is still reported down.
    down_since: datetime | None = _time(nullable=True)
    down_summary: str | None = Field(default=None, max_length=200)
    down_details: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    down_severity: str | None = Field(default=None, max_length=20)
    down_scope: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    down_scope_label: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class MaintenanceEventRow(SQLModel, table=True):
    """A maintenance window's timeline: scheduled, changed, suppressed signals, over."""

    __tablename__ = "maintenance_event"

    id: int | None = Field(default=None, primary_key=True)
    maintenance_id: int = Field(foreign_key="maintenance.id", index=True)
    at: datetime = _time()
    actor: str = Field(max_length=320)
    kind: str = Field(max_length=40)
    text: str = _text()


class AlertGroupRow(SQLModel, table=True):
    """Which incident an Alertmanager alert group (`am-` + sha256 of its groupKey) or a
    PagerDuty `dedup_key` (`pd-` + sha256) raised, so its resolution resolves that one."""

    __tablename__ = "alert_group"

    key: str = Field(primary_key=True, max_length=80)
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    truncated_alerts: int = 0
    updated_at: datetime = _time()
