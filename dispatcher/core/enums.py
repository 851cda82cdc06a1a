"""The core's enumerations: an incident's status, when the municipalities are told, where it
came from, who a notice is for, and what an on-call information notice is about."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        return self in (Status.TRIGGERED, Status.ACKNOWLEDGED)


class Release(StrEnum):
    """When the municipalities get the initial notice of an incident."""

    IMMEDIATE = "immediate"
    AFTER_ACK = "after_ack"
    AFTER_CONFIRM = "after_confirm"


class Source(StrEnum):
    CLI = "cli"
    SDS = "sds"


class Audience(StrEnum):
    MUNICIPALITIES = "municipalities"  # each its own message, vendors in Cc, one vendor copy
    VENDORS = "vendors"
    ONCALL = "oncall"  # MedCom's on-call pair
    ESCALATION = "escalation"  # the on-call pair and the KL fallback
    OWNER = "owner"  # the incident's owner; before anyone owns it, the on-call pair


class Info(StrEnum):
    """What an ONCALL_INFO notice is about; the wording lives with the templates."""

    RESOLVED_UNACKNOWLEDGED = "resolved_unacknowledged"
    CANCELLED_UNACKNOWLEDGED = "cancelled_unacknowledged"
    SDS_RESOLVED_CONFIRM = "sds_resolved_confirm"
    HEARTBEAT_LOST = "heartbeat_lost"
    HEARTBEAT_BACK = "heartbeat_back"
    PAGE_FAILED = "page_failed"
    NOT_REACHED = "not_reached"
    RELAY_FAILING = "relay_failing"
    CALL_LIST = "call_list"
    HELD_WAITING = "held_waiting"
    HELD_OVERDUE = "held_overdue"
