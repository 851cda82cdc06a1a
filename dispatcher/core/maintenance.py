"""Planned maintenance windows: which notices a window gets and when, and which SDS outage
signals a window explains.

Pure, like the incident lifecycle: `schedule`, `change` and `cancel` take the window, the
request and an explicit `now` and return a `WindowDecision` (the new window and its effects).
What an outage signal during a window does, and what happens when it is over, is in
`core.suppression`. A request that does not fit raises `Rejected` and changes nothing. Times
are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from dispatcher.core.kinds import NoticeKind
from dispatcher.core.model import (
    Record,
    Rejected,
)
from dispatcher.core.text import clean_text, local_time

DEFAULT_REMINDERS = (timedelta(hours=24), timedelta(minutes=60))


class WindowStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Phase(StrEnum):
    """Where a window stands at an instant."""

    UPCOMING = "upcoming"
    ACTIVE = "active"
    ENDED = "ended"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class MaintenancePolicy:
    reminders: tuple[timedelta, ...] = DEFAULT_REMINDERS  # before the start
    max_length: timedelta = timedelta(hours=24)
    # After the end, outage signals are still taken as the maintenance running late; FMK still
    # reported down then starts the escalation chain.
    grace: timedelta = timedelta(0)


@dataclass(frozen=True)
class Outage:
    """What a suppressed SDS outage signal said, kept until the window is over."""

    since: datetime
    summary: str
    details: str = ""
    severity: str = "down"
    scope: tuple[int, ...] = ()
    scope_label: str = ""


@dataclass(frozen=True)
class Window:
    starts_at: datetime
    ends_at: datetime
    text: str
    scope: tuple[int, ...] = ()  # the municipalities' codes; empty: all
    scope_label: str = ""
    status: WindowStatus = WindowStatus.SCHEDULED
    sequence: int = 0  # iCalendar SEQUENCE: one more with each change
    released: bool = False  # the end (and grace) has been dealt with
    down: Outage | None = None  # FMK reported down during the window, not yet up again

    def phase(self, now: datetime) -> Phase:
        if self.status is WindowStatus.CANCELLED:
            return Phase.CANCELLED
        if now < self.starts_at:
            return Phase.UPCOMING
        return Phase.ACTIVE if now < self.ends_at else Phase.ENDED


@dataclass(frozen=True)
class Plan:
    """Queue notice `kind` about the window, to go out at `due_at`. `dropped_from` names the
    scope before a change: the notice goes to the municipalities that left the window's scope."""

    kind: NoticeKind
    due_at: datetime
    lead: timedelta | None = None  # a reminder: how long before the start
    dropped_from: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Withdraw:
    """The window's notices still to come (due after now) are no longer to be sent."""


WindowEffect = Plan | Withdraw | Record


@dataclass(frozen=True)
class WindowDecision:
    window: Window
    effects: tuple[WindowEffect, ...] = field(default_factory=tuple)

    @property
    def plans(self) -> tuple[Plan, ...]:
        return tuple(e for e in self.effects if isinstance(e, Plan))


@dataclass(frozen=True)
class Schedule:
    actor: str
    starts_at: datetime
    ends_at: datetime
    text: str
    scope: tuple[int, ...] = ()
    scope_label: str = ""


@dataclass(frozen=True)
class Change:
    """New values for what is given; None keeps the old one."""

    actor: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    text: str | None = None
    scope: tuple[int, ...] | None = None
    scope_label: str | None = None


def schedule(request: Schedule, now: datetime, policy: MaintenancePolicy) -> WindowDecision:
    """A new window: the announcement now, then the reminders, "started" and "ended"."""
    window = _checked(
        Window(
            starts_at=request.starts_at,
            ends_at=request.ends_at,
            text=clean_text("text", request.text, required=True),
            scope=tuple(sorted(set(request.scope))),
            scope_label=clean_text("scope", request.scope_label, single_line=True),
        ),
        now,
        policy,
        started=False,
    )
    what = f"{local_time(window.starts_at)} to {local_time(window.ends_at)}"
    record = Record("scheduled", request.actor, what)
    announce = Plan(NoticeKind.MAINT_ANNOUNCED, now)
    return WindowDecision(window, (record, announce, *_coming(window, now, policy)))


def change(
    window: Window, request: Change, now: datetime, policy: MaintenancePolicy
) -> WindowDecision:
    """Move, extend, shorten, rescope or reword a window that has not ended."""
    phase = window.phase(now)
    if phase in (Phase.CANCELLED, Phase.ENDED):
        raise Rejected(
            f"the window has {'been cancelled' if phase is Phase.CANCELLED else 'ended'}"
        )
    starts_at = request.starts_at or window.starts_at
    if phase is Phase.ACTIVE and starts_at != window.starts_at:
        raise Rejected("the window has started: its start cannot move; change its end instead")
    scope = window.scope if request.scope is None else tuple(sorted(set(request.scope)))
    label = window.scope_label if request.scope_label is None else request.scope_label
    changed = _checked(
        replace(
            window,
            starts_at=starts_at,
            ends_at=request.ends_at or window.ends_at,
            text=window.text
            if request.text is None
            else clean_text("text", request.text, required=True),
            scope=scope,
            scope_label=clean_text("scope", label, single_line=True),
            sequence=window.sequence + 1,
        ),
        now,
        policy,
        started=phase is Phase.ACTIVE,
    )
    differences = _differences(window, changed)
    if not differences:
        raise Rejected("nothing changes: give a new start, end, text or scope")
    extended = phase is Phase.ACTIVE and differences == ["end"] and changed.ends_at > window.ends_at
    kind = NoticeKind.MAINT_EXTENDED if extended else NoticeKind.MAINT_CHANGED
    effects: list[WindowEffect] = [
        Record("changed", request.actor, ", ".join(differences) + " changed"),
        Withdraw(),
        Plan(kind, now),
    ]
    if changed.scope != window.scope:
        effects.append(Plan(NoticeKind.MAINT_CANCELLED, now, dropped_from=window.scope))
    return WindowDecision(changed, (*effects, *_coming(changed, now, policy)))


def cancel(window: Window, actor: str, reason: str, now: datetime) -> WindowDecision:
    """Call off a window that has not started: the cancellation, and nothing more."""
    phase = window.phase(now)
    if phase is Phase.CANCELLED:
        raise Rejected("the window is already cancelled")
    if phase is not Phase.UPCOMING:
        raise Rejected("the window has started or ended; end it early by changing its end instead")
    text = clean_text("reason", reason, single_line=True)
    cancelled = replace(window, status=WindowStatus.CANCELLED, sequence=window.sequence + 1)
    record = Record("cancelled", actor, text or "cancelled")
    return WindowDecision(cancelled, (record, Withdraw(), Plan(NoticeKind.MAINT_CANCELLED, now)))


def _coming(window: Window, now: datetime, policy: MaintenancePolicy) -> tuple[Plan, ...]:
    """The notices still to come: reminders whose time has not passed, "started" unless the
    window has started, and "ended"."""
    plans = [
        Plan(NoticeKind.MAINT_REMINDER, window.starts_at - lead, lead=lead)
        for lead in sorted(set(policy.reminders), reverse=True)
        if window.starts_at - lead > now
    ]
    if window.starts_at > now:
        plans.append(Plan(NoticeKind.MAINT_STARTED, window.starts_at))
    plans.append(Plan(NoticeKind.MAINT_ENDED, window.ends_at))
    return tuple(plans)


def _checked(window: Window, now: datetime, policy: MaintenancePolicy, *, started: bool) -> Window:
    if window.ends_at <= window.starts_at:
        raise Rejected(
            f"the window ends ({local_time(window.ends_at)}) before it starts "
            f"({local_time(window.starts_at)})"
        )
    if window.ends_at <= now:
        raise Rejected(f"the window ends ({local_time(window.ends_at)}) in the past")
    if not started and window.starts_at < now:
        raise Rejected(f"the window starts ({local_time(window.starts_at)}) in the past")
    length = window.ends_at - window.starts_at
    if length > policy.max_length:
        raise Rejected(
            f"the window is {_hours(length)} long; at most {_hours(policy.max_length)} are "
            "allowed (DISPATCHER_MAINTENANCE_MAX_LENGTH)"
        )
    if window.scope and not window.scope_label:
        raise Rejected("a scoped window needs a label that says which municipalities it concerns")
    return window


def _hours(length: timedelta) -> str:
    hours = length.total_seconds() / 3600
    return f"{hours:g} hours"


def _differences(old: Window, new: Window) -> list[str]:
    pairs = [
        ("start", old.starts_at, new.starts_at),
        ("end", old.ends_at, new.ends_at),
        ("text", old.text, new.text),
        ("scope", old.scope, new.scope),
    ]
    return [name for name, before, after in pairs if before != after]
