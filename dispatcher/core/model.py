"""The incident as the core sees it, the events that change it and the effects they cause."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dispatcher.core.enums import Audience, Info, Release, Source, Status
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.receipts import Seen

SYSTEM_ACTOR = "dispatcher"
SDS_ACTOR = "sds"


@dataclass(frozen=True)
class Policy:
    update_interval: timedelta = timedelta(hours=2)
    page_interval: timedelta = timedelta(minutes=15)
    failsafe_after: timedelta = timedelta(minutes=30)
    recovery_window: timedelta = timedelta(minutes=15)
    auto_resolve: bool = True
    # After the initial notice: remind the silent, then the call list (0: never).
    reminder_after: timedelta = timedelta(minutes=30)
    call_list_after: timedelta = timedelta(minutes=60)
    relay_alert_after: timedelta = timedelta(minutes=5)


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
    reminder_at: datetime | None = None
    call_list_at: datetime | None = None
    # The relay failure the owner was told about (its start), so each is told once.
    relay_alerted_for: datetime | None = None
    hold_nudge_at: datetime | None = None
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
    seen: Seen = field(default_factory=Seen)


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

    """Send a notice of `kind` to `audience`; `exclude` leaves one person out. `municipalities`
    names those a reminder goes to, or those a call list lists."""

    kind: NoticeKind
    message: str | None = None
    audience: Audience = Audience.MUNICIPALITIES
    exclude: str | None = None
    info: Info | None = None
    only: str | None = None
    sms_only: bool = False
    municipalities: tuple[int, ...] = ()


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
