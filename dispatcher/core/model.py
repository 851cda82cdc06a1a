"""The incident as the core sees it, the events that change it and the effects they cause."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from dispatcher.core.kinds import NoticeKind

SYSTEM_ACTOR = "dispatcher"
SDS_ACTOR = "sds"


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


@dataclass(frozen=True)
class Policy:
    update_interval: timedelta = timedelta(hours=2)
    page_interval: timedelta = timedelta(minutes=15)
    failsafe_after: timedelta = timedelta(minutes=30)
    recovery_window: timedelta = timedelta(minutes=15)
    auto_resolve: bool = True


@dataclass(frozen=True)
class Incident:
    """One FMK outage. Times are timezone-aware UTC."""

    status: Status
    summary: str
    details: str
    impact: str
    guidance: str
    down_since: datetime
    opened_at: datetime
    release: Release = Release.IMMEDIATE
    source: Source = Source.CLI
    severity: str = "down"
    owner: str | None = None
    acknowledged_at: datetime | None = None
    informed_at: datetime | None = None
    last_notice_at: datetime | None = None
    next_update_at: datetime | None = None
    updates_sent: int = 0
    page_round: int = 0
    next_page_at: datetime | None = None
    failsafe_at: datetime | None = None
    sent_without_ack: bool = False
    vendors_alerted: bool = False
    sds_note: str | None = None
    fmk_up_since: datetime | None = None
    all_clear_at: datetime | None = None
    closed_at: datetime | None = None
    drill: bool = False
    drill_municipalities: bool = False
    scope: tuple[int, ...] = ()
    scope_label: str = ""
    # Those of `scope` included only because their EOJ system is not registered.
    scope_unknown: tuple[int, ...] = ()

    @property
    def scoped(self) -> bool:
        """Whether only some municipalities are affected (`scope` names them)."""
        return bool(self.scope)

    @property
    def municipalities_informed(self) -> bool:
        return self.informed_at is not None

    @property
    def paged(self) -> Audience | None:
        """Who has been paged about this incident so far."""
        if self.page_round == 0:
            return None
        return Audience.ONCALL if self.page_round == 1 else Audience.ESCALATION


@dataclass(frozen=True)
class Trigger:
    actor: str
    summary: str
    details: str
    guidance: str
    down_since: datetime | None = None
    impact: str = ""
    release: Release = Release.IMMEDIATE
    source: Source = Source.CLI
    severity: str = "down"
    # A drill (ØVELSE): by default its mail goes to the drill staff only, not to the
    # municipalities and vendors; `drill_municipalities` sends it to them too.
    drill: bool = False
    drill_municipalities: bool = False
    # The affected municipalities' codes (empty: all) and what they have in common; those of
    # them included only because their EOJ system is not registered.
    scope: tuple[int, ...] = ()
    scope_label: str = ""
    scope_unknown: tuple[int, ...] = ()


@dataclass(frozen=True)
class Acknowledge:
    actor: str
    by_reply: bool = False  # by SMS reply: the actor gets a receipt by SMS


@dataclass(frozen=True)
class Confirm:
    """Release the held initial notice, optionally with edited text."""

    actor: str
    summary: str | None = None
    details: str | None = None
    impact: str | None = None
    guidance: str | None = None


@dataclass(frozen=True)
class PostUpdate:
    actor: str
    message: str


@dataclass(frozen=True)
class Resolve:
    actor: str
    message: str | None = None
    fmk_up_since: datetime | None = None


@dataclass(frozen=True)
class Cancel:
    actor: str
    reason: str


@dataclass(frozen=True)
class Tick:
    """Time has passed; send whatever is due."""

    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class SignalOutage:
    """SDS reports FMK down (again) while this incident is open."""

    summary: str
    details: str = ""
    severity: str = "down"
    actor: str = SDS_ACTOR


@dataclass(frozen=True)
class SignalUpdate:
    """SDS has news; it goes into the next scheduled update."""

    text: str
    actor: str = SDS_ACTOR


@dataclass(frozen=True)
class SignalResolved:
    """SDS reports FMK running again since `up_since`."""

    up_since: datetime | None = None
    actor: str = SDS_ACTOR


@dataclass(frozen=True)
class ChannelsExhausted:
    """Every channel of a page to `person` has failed: nobody may have been woken."""

    person: str
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class PageFailed:
    """A page to `person` by SMS failed for good (`reason`)."""

    person: str
    reason: str
    actor: str = SYSTEM_ACTOR


Event = (
    Acknowledge
    | ChannelsExhausted
    | PageFailed
    | Confirm
    | PostUpdate
    | Resolve
    | Cancel
    | Tick
    | SignalOutage
    | SignalUpdate
    | SignalResolved
)


@dataclass(frozen=True)
class Notify:
    """Send a notice of `kind` to `audience`; `exclude` leaves one person out, `only` leaves
    all but one out; `sms_only` sends it by SMS alone."""

    kind: NoticeKind
    message: str | None = None
    audience: Audience = Audience.MUNICIPALITIES
    exclude: str | None = None
    info: Info | None = None
    only: str | None = None
    sms_only: bool = False


@dataclass(frozen=True)
class Record:
    """A timeline entry."""

    kind: str
    actor: str
    text: str


Effect = Notify | Record


@dataclass(frozen=True)
class Decision:
    incident: Incident
    effects: tuple[Effect, ...] = field(default_factory=tuple)

    @property
    def notices(self) -> tuple[Notify, ...]:
        return tuple(e for e in self.effects if isinstance(e, Notify))

    def __add__(self, later: Decision) -> Decision:
        """This decision followed by `later`, which was taken on this one's incident."""
        return Decision(later.incident, self.effects + later.effects)


class Rejected(Exception):
    """The event does not apply to the incident in its current state; nothing changes."""
