"""Which SDS outage signals a maintenance window explains, and what happens when it is over.

Pure: `suppressing` finds the window that explains an outage at `now`, `absorb_outage` and
`absorb_resolved` keep what SDS reported on the window, `release` ends it, starting the
escalation chain when FMK is still reported down. Times are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from dispatcher.core.enums import Release, Source
from dispatcher.core.maintenance import (
    MaintenancePolicy,
    Outage,
    Window,
    WindowDecision,
    WindowStatus,
)
from dispatcher.core.model import SDS_ACTOR, SYSTEM_ACTOR, Record, Rejected, Trigger
from dispatcher.core.text import local_time


def covers(window: Window, scope: tuple[int, ...]) -> bool:
    """Whether the window concerns every municipality an outage of `scope` hits (empty: all)."""
    if not window.scope:
        return True
    return bool(scope) and set(scope) <= set(window.scope)


def suppressing(
    windows: Mapping[int, Window],
    scope: tuple[int, ...],
    now: datetime,
    policy: MaintenancePolicy,
) -> int | None:
    """The window that explains an SDS outage of `scope` at `now`, if one does: it has started
    and is not over (its end plus the grace), and covers the scope. The caller asks only when
    no FMK incident is open: an open incident is never silenced."""
    for number, window in sorted(windows.items()):
        if window.status is WindowStatus.CANCELLED or window.released:
            continue
        if window.starts_at <= now < window.ends_at + policy.grace and covers(window, scope):
            return number
    return None


def absorb_outage(window: Window, outage: Outage, actor: str = SDS_ACTOR) -> WindowDecision:
    """An outage signal inside the window: on its timeline, paging and telling nobody."""
    down = outage if window.down is None else replace(outage, since=window.down.since)
    record = Record("suppressed", actor, f"outage signal during maintenance: {outage.summary}")
    return WindowDecision(replace(window, down=down), (record,))


def absorb_resolved(window: Window, actor: str = SDS_ACTOR) -> WindowDecision:
    """FMK reported up again during the window: nothing is left to start at its end."""
    record = Record("suppressed", actor, "FMK reported up again during maintenance")
    return WindowDecision(replace(window, down=None), (record,))


def release_due(window: Window, now: datetime, policy: MaintenancePolicy) -> bool:
    """Whether the window is over (its end plus the grace) and that has not been dealt with."""
    return (
        window.status is WindowStatus.SCHEDULED
        and not window.released
        and now >= window.ends_at + policy.grace
    )


def release(
    window: Window, now: datetime, policy: MaintenancePolicy, *, guidance: str, mode: Release
) -> tuple[WindowDecision, Trigger | None]:
    """The window is over. If FMK was reported down in it and not up again, the escalation
    chain starts now, as for an SDS outage signal: the trigger says so."""
    if not release_due(window, now, policy):
        raise Rejected("the window is not over yet")
    released = replace(window, released=True, down=None)
    if window.down is None:
        return WindowDecision(released, (Record("over", SYSTEM_ACTOR, "window over"),)), None
    down = window.down
    text = f"window over and FMK still reported down since {local_time(down.since)}"
    trigger = Trigger(
        actor=SDS_ACTOR,
        summary=down.summary,
        details=down.details,
        guidance=guidance,
        down_since=down.since,
        release=mode,
        source=Source.SDS,
        severity=down.severity,
        scope=down.scope,
        scope_label=down.scope_label,
    )
    return WindowDecision(released, (Record("over", SYSTEM_ACTOR, text),)), trigger
