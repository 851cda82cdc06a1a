"""The status page's view of the store at one `now`: pure functions of rows already read.

FMK's status is one of three:

- `nedbrud` while a real (non-drill) incident is open *and* the municipalities have been told
  about it (`informed_at` is set): the page never runs ahead of MedCom's own notice;
- `genoprettet` for `RESTORED_FOR` after the all-clear of the latest resolved incident;
- `normal` otherwise (also after a cancelled incident: its correction says FMK was not down).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from dispatcher.contacts.model import Registry
from dispatcher.core.enums import Status
from dispatcher.core.kinds import NoticeKind
from dispatcher.notices.timefmt import format_duration, format_local, to_local
from dispatcher.status import wording
from dispatcher.store.tables import IncidentRow, NoticeRow

if TYPE_CHECKING:  # it imports Moment from here
    from dispatcher.status.maintenance_view import WindowView

RESTORED_FOR = timedelta(hours=24)


class Level(StrEnum):
    NORMAL = "normal"
    DOWN = "nedbrud"
    RESTORED = "genoprettet"


@dataclass(frozen=True)
class Moment:
    """A stored UTC time and its Copenhagen wording."""

    utc: datetime

    @property
    def utc_text(self) -> str:
        """ISO 8601 in UTC with a Z, e.g. "2021-12-31T02:00:00Z"."""
        return self.utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def local_iso(self) -> str:
        """ISO 8601 in Copenhagen time, e.g. "2021-12-31T03:00:00+01:00"."""
        return to_local(self.utc).isoformat(timespec="seconds")

    @property
    def text(self) -> str:
        """E.g. "fredag 31. december 2021 kl. 03:00"."""
        return format_local(self.utc)


@dataclass(frozen=True)
class NoticeView:
    """One notice the municipalities got. `number` is its place among the incident's municipal
    notices, from 1; `name` is what its mail calls it ("Opdatering 1"); `sequence` is the
    stored notice number, stable for feed ids."""

    number: int
    sequence: int
    kind: NoticeKind
    name: str
    title: str
    sent_at: Moment
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Scope:
    """Which municipalities an incident affects; None on the incident means all. `unknown`
    are the codes of those told only because their EOJ system is not registered."""

    label: str
    municipalities: tuple[tuple[int, str], ...]
    unknown: tuple[int, ...] = ()

    @property
    def note(self) -> str:
        """What the unknown ones mean, in Danish; "" when there are none."""
        return wording.unknown_eoj_note(len(self.unknown))


@dataclass(frozen=True)
class IncidentView:
    number: int
    uid: str
    status: Status
    severity: str
    summary: str
    details: str
    impact: str
    guidance: str
    scope: Scope | None
    down_since: Moment
    ended_at: Moment | None
    next_update_at: Moment | None
    duration: str
    notices: tuple[NoticeView, ...]

    @property
    def outcome(self) -> str:
        """In Danish: "I gang", "Løst" or "Fejlmelding – FMK var ikke nede"."""
        if self.status.is_open:
            return "I gang"
        return "Løst" if self.status is Status.RESOLVED else "Fejlmelding – FMK var ikke nede"

    @property
    def guidance_heading(self) -> str:
        """ "Sådan gør I, mens FMK er nede" (or "kun virker delvist")."""
        return f"Sådan gør I, {wording.while_down(self.severity)}"

    @property
    def updated_at(self) -> Moment:
        """When the municipalities last heard of it."""
        return self.notices[-1].sent_at if self.notices else self.down_since


@dataclass(frozen=True)
class StatusView:
    level: Level
    headline: str
    lead: str
    generated_at: Moment
    current: IncidentView | None
    past: tuple[IncidentView, ...]
    maintenance: tuple[WindowView, ...] = ()  # upcoming and active maintenance windows

    @property
    def severity(self) -> str | None:
        return self.current.severity if self.level is Level.DOWN and self.current else None


@dataclass(frozen=True)
class PublicIncident:
    """An incident the municipalities were told about, with its municipal notices in order."""

    row: IncidentRow
    notices: Sequence[NoticeRow]


def incident_view(found: PublicIncident, now: datetime, registry: Registry) -> IncidentView:
    row = found.row
    assert row.id is not None
    status = Status(row.status)
    notices = tuple(
        _notice(notice, number, row) for number, notice in enumerate(found.notices, start=1)
    )
    if status is Status.CANCELLED:
        duration = ""
    else:
        duration = format_duration((row.closed_at or now) - row.down_since)
    return IncidentView(
        number=row.id,
        uid=row.uid,
        status=status,
        severity=row.severity,
        summary=row.summary,
        details=row.details.strip(),
        impact=row.impact.strip() or wording.NO_IMPACT,
        guidance=row.guidance.strip() or wording.NO_GUIDANCE,
        scope=_scope(row, registry),
        down_since=Moment(row.down_since),
        ended_at=Moment(row.closed_at) if row.closed_at and not status.is_open else None,
        next_update_at=Moment(row.next_update_at)
        if row.next_update_at and status.is_open
        else None,
        duration=duration,
        notices=notices,
    )


def status_view(
    incidents: Sequence[PublicIncident], now: datetime, registry: Registry, *, history: int
) -> StatusView:
    """The page at `now`; `incidents` newest first, each public (see the module docstring);
    at most `history` closed incidents are listed. `generated_at` is `now` to the minute, so
    the page (and its ETag) stays the same within a minute when nothing happens."""
    views = [incident_view(found, now, registry) for found in incidents]
    generated_at = Moment(now.replace(second=0, microsecond=0))
    closed = tuple(v for v in views if not v.status.is_open)
    past = closed[:history]
    current = next((v for v in views if v.status.is_open), None)
    if current is not None:
        where = ""
        if current.scope is not None:
            said = (f"Berørte kommuner: {current.scope.label}.", current.scope.note)
            where = "".join(f" {part}" for part in said if part)
        return StatusView(
            level=Level.DOWN,
            headline=(
                "Delvist nedbrud: FMK virker kun delvist"
                if current.severity == wording.DEGRADED
                else "Nedbrud: FMK er nede"
            ),
            lead=f"FMK {wording.fmk_state(current.severity)} siden {current.down_since.text}."
            + where,
            generated_at=generated_at,
            current=current,
            past=past,
        )
    latest = closed[0] if closed else None
    if (
        latest is not None
        and latest.status is Status.RESOLVED
        and now - latest.updated_at.utc < RESTORED_FOR
    ):
        ended = latest.ended_at or latest.updated_at
        return StatusView(
            level=Level.RESTORED,
            headline="Genoprettet: FMK kører igen",
            lead=f"FMK har virket igen siden {ended.text}. Nedbruddet varede {latest.duration}.",
            generated_at=generated_at,
            current=latest,
            past=closed[1 : history + 1],
        )
    return StatusView(
        level=Level.NORMAL,
        headline="FMK kører normalt",
        lead="Der er ingen kendte nedbrud i FMK (Fælles Medicinkort) lige nu.",
        generated_at=generated_at,
        current=None,
        past=past,
    )


def _notice(notice: NoticeRow, number: int, row: IncidentRow) -> NoticeView:
    kind = NoticeKind(notice.kind)
    return NoticeView(
        number=number,
        sequence=notice.sequence,
        kind=kind,
        name=wording.notice_name(kind, number),
        title=wording.notice_title(kind, number, row.severity),
        sent_at=Moment(notice.created_at),
        paragraphs=wording.notice_paragraphs(
            kind,
            notice.message,
            summary=row.summary,
            severity=row.severity,
            closed_at=row.closed_at,
        ),
    )


def _scope(row: IncidentRow, registry: Registry) -> Scope | None:
    if not row.scope and not row.scope_label:
        return None
    codes = [int(code) for code in (row.scope or "").split(",") if code.strip()]
    named = tuple(
        (code, found.name if (found := registry.municipality(code)) else "") for code in codes
    )
    unknown = tuple(int(code) for code in (row.scope_unknown or "").split(",") if code.strip())
    return Scope(
        label=row.scope_label or f"{len(codes)} kommuner", municipalities=named, unknown=unknown
    )
