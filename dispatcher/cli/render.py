"""Rich output for incidents: what a decision did, lists, timelines and delivery grids."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from dispatcher.cli.context import console
from dispatcher.cli.runtime import local as local  # noqa: PLC0414 (re-exported)
from dispatcher.contacts.model import Registry
from dispatcher.core.model import (
    Acknowledge,
    Cancel,
    Confirm,
    Decision,
    Event,
    PostUpdate,
    Resolve,
)
from dispatcher.store.tables import DeliveryStatus

if TYPE_CHECKING:
    from dispatcher.incidents.queries import IncidentDetail

MARKS = {
    DeliveryStatus.SENT: "[green]✓ sent[/]",
    DeliveryStatus.PENDING: "[yellow]… pending[/]",
    DeliveryStatus.SENDING: "[yellow]… sending[/]",
    DeliveryStatus.FAILED: "[bold red]✗ FAILED[/]",
    DeliveryStatus.BOUNCED: "[bold red]✗ BOUNCED[/] (not reached)",
}


def describe_action(number: int, event: Event, decision: Decision) -> str:
    """What a command did to incident `number`, in one line."""
    who = escape(getattr(event, "actor", ""))
    match event:
        case Acknowledge():
            return f"Incident #{number} acknowledged by {who}, who now owns it."
        case Confirm():
            return f"Incident #{number}: the initial notice was confirmed by {who}."
        case PostUpdate():
            return f"Incident #{number}: update posted by {who}."
        case Resolve():
            return f"Incident #{number} resolved by {who}: FMK runs again."
        case Cancel():
            return f"Incident #{number} cancelled by {who} as a false alarm."
    return f"Incident #{number} is now {decision.incident.status}."


def show_decision(decision: Decision, registry: Registry) -> None:
    """What `decision` queued; `registry` with the on-call staff of the moment (`on_duty`)."""
    from dispatcher.outbox.enqueue import addressees, recipients

    for notice in decision.notices:
        to = recipients(addressees(notice, registry, decision.incident))
        console.print(f"Queued the {notice.kind} notice for {escape(to)}.", highlight=False)
    if decision.incident.next_update_at is not None:
        console.print(f"Next update due {local(decision.incident.next_update_at)}.")


def show_detail(detail: IncidentDetail, registry: Registry) -> None:
    row = detail.incident
    what = "Drill (ØVELSE)" if row.drill else "Incident"
    console.print(f"[bold]{what} #{row.id}[/] {row.status}: {escape(row.summary)}", highlight=False)
    if row.scope_label:
        count = len((row.scope or "").split(","))
        console.print(f"Affects {count} municipalities: {escape(row.scope_label)}", highlight=False)
    console.print(
        f"Down since {local(row.down_since)} · owner {escape(row.owner or '–')} · "
        f"municipalities told {local(row.informed_at)} · next update {local(row.next_update_at)}"
        f" · closed {local(row.closed_at)}",
        highlight=False,
    )
    if detail.receipts is not None:
        console.print(f"Kommuner: {detail.receipts.danish()}", highlight=False)
    timeline = Table("time", "who", "what", "", title="Timeline")
    for entry in detail.timeline:
        timeline.add_row(local(entry.at), escape(entry.actor), entry.kind, escape(entry.text))
    console.print(timeline)
    if not detail.notices:
        console.print("No notices have been sent.")
        return
    grid = Table(
        "code",
        "recipient",
        *(f"#{n.notice.sequence} {n.notice.kind}" for n in detail.notices),
        title="Deliveries",
    )
    names = {m.audience: (str(m.code), m.name) for m in registry.municipalities}
    names |= {v.audience: ("vendor", v.name) for v in registry.vendors}
    for audience, by_notice in sorted(
        detail.grid.items(), key=lambda kv: names.get(kv[0], ("", kv[0]))
    ):
        code, name = names.get(audience, ("?", audience))
        cells = [
            MARKS[DeliveryStatus(by_notice[n.notice.sequence])]
            if n.notice.sequence in by_notice
            else "–"
            for n in detail.notices
        ]
        grid.add_row(code, escape(name), *cells)
    console.print(grid)
    for notice in detail.notices:
        counts = ", ".join(f"{count} {status}" for status, count in sorted(notice.counts.items()))
        console.print(f"#{notice.notice.sequence} {notice.notice.kind}: {counts}", highlight=False)
    for failure in detail.failures:
        console.print(
            f"[bold red]{failure.status.upper()}[/] #{failure.notice_sequence} to "
            f"{escape(failure.recipient)} ({failure.audience}): {escape(failure.reply)}",
            highlight=False,
        )
    for waiting in detail.waiting:
        console.print(
            f"[yellow]WAITING[/] #{waiting.notice_sequence} to {escape(waiting.recipient)} "
            f"({waiting.audience}): last reply {escape(waiting.reply)}; next attempt "
            f"{local(waiting.next_attempt_at)}",
            highlight=False,
        )
