"""The maintenance windows' settings, part of `dispatcher.config.Settings`
(`DISPATCHER_MAINTENANCE_*`)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

from dispatcher.durations import Duration, Durations


class MaintenanceSettings(BaseModel):
    maintenance_reminders: Durations = Field(
        (timedelta(hours=24), timedelta(minutes=60)),
        description="Reminders this long before a maintenance window's start (comma-separated; "
        "empty for none); one whose time has passed is skipped.",
    )
    maintenance_max_length: Duration = Field(
        timedelta(hours=24), gt=timedelta(0), description="The longest maintenance window."
    )
    maintenance_grace: Duration = Field(
        timedelta(0),
        ge=timedelta(0),
        description="After a window's end, outage signals still count as the maintenance "
        "running late; FMK still reported down then starts the escalation chain.",
    )
    maintenance_feed_days: int = Field(
        30, ge=0, le=366, description="Days that ended windows stay in /vedligehold.ics."
    )
