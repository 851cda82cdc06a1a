"""Which incident an SDS signal is about, and what it means for it: pure, given the open one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dispatcher.core.enums import Release, Source
from dispatcher.core.model import (
    SDS_ACTOR,
    Incident,
    SignalOutage,
    SignalResolved,
    SignalUpdate,
    Trigger,
)
from dispatcher.signals.model import Signal, SignalKind


@dataclass(frozen=True)
class OpenNew:
    trigger: Trigger


@dataclass(frozen=True)
class ApplyToOpen:
    event: SignalOutage | SignalUpdate | SignalResolved


@dataclass(frozen=True)
class Ignore:
    reason: str


@dataclass(frozen=True)
class Heartbeat:
    pass


Route = OpenNew | ApplyToOpen | Ignore | Heartbeat


def route(
    signal: Signal,
    open_incident: Incident | None,
    *,
    now: datetime,
    guidance: str,
    release: Release,
) -> Route:
    """An outage opens an incident only when none is open: there is never a second one.
    `open_incident` is the open drill for a drill's signal, else the open FMK incident."""
    if signal.kind is SignalKind.HEARTBEAT:
        return Heartbeat()
    if open_incident is None:
        if signal.kind is SignalKind.OUTAGE:
            return OpenNew(_trigger(signal, now, guidance, release))
        return Ignore("no drill is open" if signal.drill else "no FMK incident is open")
    match signal.kind:
        case SignalKind.OUTAGE:
            severity = str(signal.severity or "down")
            return ApplyToOpen(SignalOutage(signal.summary or "", signal.details, severity))
        case SignalKind.UPDATE:
            text = "\n\n".join(t for t in (signal.summary, signal.details) if t)
            return ApplyToOpen(SignalUpdate(text))
        case _:
            return ApplyToOpen(SignalResolved(signal.started_at))


def _trigger(signal: Signal, now: datetime, guidance: str, release: Release) -> Trigger:
    started = signal.started_at
    return Trigger(
        actor=SDS_ACTOR,
        summary=signal.summary or "",
        details=signal.details,
        guidance=guidance,
        down_since=min(started, now) if started is not None else now,
        release=release,
        source=Source.SDS,
        severity=str(signal.severity or "down"),
        drill=signal.drill,
        scope=signal.scope.codes if signal.scope else (),
        scope_label=signal.scope.label if signal.scope else "",
        scope_unknown=signal.scope.unknown_eoj if signal.scope else (),
    )
