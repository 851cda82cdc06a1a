"""Who has been told: the settings of the receipt links, the reminder to the silent, the
owner's call list and the relay alert; part of `dispatcher.config.Settings`."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

from dispatcher.durations import Duration


class FollowUpSettings(BaseModel):
    receipt_link_ttl: Duration = Field(
        timedelta(days=7),
        gt=timedelta(0),
        description='How long a "Bekræft modtagelse" link works.',
    )
    reminder_after: Duration = Field(
        timedelta(minutes=30),
        ge=timedelta(0),
        description="After the initial notice, remind the municipalities that have neither "
        "confirmed nor bounced (0: never).",
    )
    call_list_after: Duration = Field(
        timedelta(minutes=60),
        ge=timedelta(0),
        description="After the initial notice, send the owner the list of municipalities to "
        "call (0: never).",
    )
    relay_alert_after: Duration = Field(
        timedelta(minutes=5),
        gt=timedelta(0),
        description="Tell the owner when mail waits this long for the relay.",
    )
