"""The tables. The outbox is `message` (one rendered mail per audience) and `delivery`
(one row per envelope recipient); their unique keys make a doubled enqueue impossible."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from dispatcher.store.fields import text_field as _text
from dispatcher.store.fields import time_field as _time
from dispatcher.store.sms import PageCodeRow as PageCodeRow  # noqa: PLC0414 (re-exported)
from dispatcher.store.sms import PageExhaustionRow as PageExhaustionRow  # noqa: PLC0414 (re-exported)
from dispatcher.store.sms import SmsCallbackRow as SmsCallbackRow  # noqa: PLC0414 (re-exported)
from dispatcher.store.windows import AlertGroupRow as AlertGroupRow  # noqa: PLC0414 (re-exported)
from dispatcher.store.windows import MaintenanceEventRow as MaintenanceEventRow  # noqa: PLC0414 (re-exported)
from dispatcher.store.windows import MaintenanceRow as MaintenanceRow  # noqa: PLC0414 (re-exported)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"
    WITHDRAWN = "withdrawn"  # a maintenance notice that was due later and no longer applies


class IncidentRow(SQLModel, table=True):
    __tablename__ = "incident"
    __table_args__ = (UniqueConstraint("open_key", name="uq_incident_open_key"),)

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(unique=True, max_length=36)
    # "FMK" while the incident is open ("DRILL" for a drill), NULL once closed: a unique key
    # that makes two open FMK incidents impossible, whichever replica or command tries to open
    # the second, while a drill never stands in a real outage's way.
    open_key: str | None = Field(default=None, max_length=20)
    status: str = Field(max_length=20, index=True)
    summary: str = Field(max_length=200)
    details: str = _text()
    impact: str = _text()
    guidance: str = _text()
    release: str = Field(default="immediate", max_length=20)
    source: str = Field(default="cli", max_length=20)
    severity: str = Field(default="down", max_length=20)
    owner: str | None = Field(default=None, max_length=320)
    opened_by: str = Field(max_length=320)
    updates_sent: int = 0
    page_round: int = 0
    sent_without_ack: bool = False
    vendors_alerted: bool = False
    sds_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    down_since: datetime = _time()
    opened_at: datetime = _time()
    acknowledged_at: datetime | None = _time(nullable=True)
    informed_at: datetime | None = _time(nullable=True)
    last_notice_at: datetime | None = _time(nullable=True)
    next_update_at: datetime | None = _time(nullable=True, index=True)
    next_page_at: datetime | None = _time(nullable=True)
    failsafe_at: datetime | None = _time(nullable=True)
    fmk_up_since: datetime | None = _time(nullable=True)
    all_clear_at: datetime | None = _time(nullable=True)
    closed_at: datetime | None = _time(nullable=True)
    # A drill (ØVELSE) is kept out of the status page and the metrics.
    drill: bool = False
    drill_municipalities: bool = False
    # The affected municipalities' codes, comma-separated; NULL when all are affected.
    scope: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    scope_label: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Follow-up timers, the relay failure told of (dispatcher/core/followup.py).
    reminder_at: datetime | None = _time(nullable=True)
    call_list_at: datetime | None = _time(nullable=True)
    relay_alerted_for: datetime | None = _time(nullable=True)
    hold_nudge_at: datetime | None = _time(nullable=True)
    # Those of `scope` told only because their EOJ system is not registered; NULL for none.
    scope_unknown: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class TimelineRow(SQLModel, table=True):
    __tablename__ = "timeline"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    at: datetime = _time()
    actor: str = Field(max_length=320)
    kind: str = Field(max_length=40)
    text: str = _text()


class NoticeRow(SQLModel, table=True):
    """One notice: to the municipalities, the vendors or the on-call staff. Notices about the
    SDS heartbeat belong to no incident."""

    __tablename__ = "notice"
    __table_args__ = (
        UniqueConstraint("incident_id", "sequence"),
        UniqueConstraint("maintenance_id", "sequence", name="uq_notice_maintenance_sequence"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    # A notice about a planned maintenance window: due at `due_at` (its deliveries wait until
    # then), and `withdrawn_at` once a change or cancellation made it obsolete before it went.
    maintenance_id: int | None = Field(default=None, foreign_key="maintenance.id", index=True)
    due_at: datetime | None = _time(nullable=True)
    withdrawn_at: datetime | None = _time(nullable=True)
    sequence: int
    kind: str = Field(max_length=20)
    created_at: datetime = _time()
    created_by: str = Field(max_length=320)
    message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class MessageRow(SQLModel, table=True):
    __tablename__ = "message"
    __table_args__ = (UniqueConstraint("notice_id", "audience"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    audience: str = Field(max_length=60)
    rfc_message_id: str = Field(max_length=250)
    envelope_from: str = Field(max_length=320)
    subject: str = Field(max_length=400)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class DeliveryRow(SQLModel, table=True):
    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("message_id", "recipient"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    recipient: str = Field(max_length=320)
    status: str = Field(default=DeliveryStatus.PENDING, max_length=20)
    attempts: int = 0
    enqueued_at: datetime = _time()
    next_attempt_at: datetime = _time()
    claimed_until: datetime | None = _time(nullable=True)
    claim_token: str | None = Field(default=None, max_length=36)
    claimed_by: str | None = Field(default=None, max_length=36)
    finished_at: datetime | None = _time(nullable=True)
    last_reply: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # "email" (recipient: an address) or "sms" (recipient: an E.164 number).
    channel: str = Field(default="email", max_length=10)
    # The person paged, by e-mail address, for notices to a person (all their channels).
    person: str | None = Field(default=None, max_length=320)
    # SMS: the gateway's last delivery report (its word, e.g. DELIVERED) and what it means
    # (pending, delivered, failed); a final one is never replaced.
    report: str | None = Field(default=None, max_length=20)
    report_outcome: str | None = Field(default=None, max_length=10)
    # Status `bounced`: the relay took it, and a DSN (`dispatcher.bounces`) later said it
    # failed for good: when that was read, its status code ("5.1.1") and the server's words.
    bounced_at: datetime | None = _time(nullable=True)
    dsn_status: str | None = Field(default=None, max_length=20)
    dsn_diagnostic: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ReplicaRow(SQLModel, table=True):
    """A running daemon and when it was last seen; how the CLI knows whether one is running."""

    __tablename__ = "replica"

    id: str = Field(primary_key=True, max_length=36)
    hostname: str = Field(max_length=255)
    pid: int
    started_at: datetime = _time()
    last_seen_at: datetime = _time()
    # Its background tasks' health as JSON (`daemon.supervise.dumps`), written with each beat.
    tasks: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SignalRow(SQLModel, table=True):
    """Every accepted SDS signal, by its event id: a repeat gets the stored answer."""

    __tablename__ = "signal"

    event_id: str = Field(primary_key=True, max_length=128)
    kind: str = Field(max_length=20)
    received_at: datetime = _time(index=True)  # ix_signal_received_at
    body_sha256: str = Field(max_length=64)
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    response: str = _text()


class MonitorRow(SQLModel, table=True):
    """The SDS heartbeat watch: when one was last seen, and whether its loss was paged."""

    __tablename__ = "monitor"

    name: str = Field(primary_key=True, max_length=40)
    last_seen_at: datetime | None = _time(nullable=True)
    lost_since: datetime | None = _time(nullable=True)


class AckLinkRow(SQLModel, table=True):
    """An acknowledgement link that has been used; a link works once."""

    __tablename__ = "ack_link"

    nonce: str = Field(primary_key=True, max_length=64)
    incident_id: int = Field(foreign_key="incident.id")
    person: str = Field(max_length=320)
    used_at: datetime = _time()


class ReceiptRow(SQLModel, table=True):
    """A municipality confirmed ("Bekræft modtagelse") an incident's notices; the first one."""

    __tablename__ = "receipt"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    municipality_code: int = Field(primary_key=True)
    confirmed_at: datetime = _time()
    link_issued_at: datetime = _time()


class RelayRow(SQLModel, table=True):
    """The mail relay as the sender last found it (dispatcher/outbox/relay.py)."""

    __tablename__ = "relay"

    name: str = Field(primary_key=True, max_length=40)
    failing_since: datetime | None = _time(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_ok_at: datetime | None = _time(nullable=True)


LEADER_LEASE = "leader"


class LeaderLeaseRow(SQLModel, table=True):
    """Who leads: the replica that holds this one row's unexpired lease. `epoch` grows with
    every change of leader and fences a deposed leader out of claiming deliveries."""

    __tablename__ = "leader_lease"

    name: str = Field(primary_key=True, max_length=40)
    holder: str | None = Field(default=None, max_length=36)
    epoch: int = 0
    expires_at: datetime | None = _time(nullable=True)


class OncallOverrideRow(SQLModel, table=True):
    """A change to the on-call rota for a while (`dispatcher oncall override`): `person` is on
    call from `starts_at` until `ends_at`, in `replaces`' place if given. A removed override
    keeps its row, with who removed it and when."""

    __tablename__ = "oncall_override"

    id: int | None = Field(default=None, primary_key=True)
    person: str = Field(max_length=320)
    replaces: str | None = Field(default=None, max_length=320)
    starts_at: datetime = _time()
    ends_at: datetime = _time(index=True)  # ix_oncall_override_ends_at
    reason: str = _text()
    created_at: datetime = _time()
    created_by: str = Field(max_length=320)
    removed_at: datetime | None = _time(nullable=True)
    removed_by: str | None = Field(default=None, max_length=320)
