"""A maintenance window's notices as outbox rows: one message per municipality in scope (its
EOJ vendors in Cc) and one copy per vendor, each with the window's calendar entry, due at the
notice's time. All notices of a window thread on one Message-ID chain. Runs inside the
caller's transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from dispatcher.contacts.model import Registry
from dispatcher.contacts.scope import affected, vendors_for
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.maintenance import Plan, Window
from dispatcher.maintenance.calendar import Entry, Method, calendar
from dispatcher.notices.context import NoticeContext, WindowFacts
from dispatcher.notices.render import NoticeRenderer, addressee
from dispatcher.outbox import mail as outbox_mail
from dispatcher.outbox.enqueue import Addressee, group_people
from dispatcher.store.tables import (
    DeliveryRow,
    DeliveryStatus,
    MaintenanceRow,
    MessageRow,
    NoticeRow,
)

FEED_PATH = "/vedligehold.ics"


@dataclass(frozen=True)
class WindowMail:
    """What every notice of one window needs besides the plan."""

    row: MaintenanceRow
    window: Window
    registry: Registry
    renderer: NoticeRenderer
    public_url: str
    previous: Window | None = None  # before the change this notice is about


def calendar_uid(row: MaintenanceRow, domain: str) -> str:
    return f"fmk-vedligehold-{row.uid}@{domain}"


def recipients(plan: Plan, window: Window, registry: Registry) -> list[Addressee]:
    """The municipalities in scope, the vendors they run in Cc, and one copy per vendor. A
    notice to those that left the scope goes to them, and to the vendors no longer concerned."""
    codes = window.scope
    if plan.dropped_from is None:
        municipalities = affected(registry, codes)
        concerned = vendors_for(registry, codes)
        copies = concerned
    else:
        staying = {m.code for m in affected(registry, codes)}
        municipalities = tuple(
            m for m in affected(registry, plan.dropped_from) if m.code not in staying
        )
        if not municipalities:
            return []
        concerned = vendors_for(registry, [m.code for m in municipalities])
        still = set(vendors_for(registry, codes))
        copies = tuple(v for v in concerned if v not in still)
    cc = tuple(p for v in concerned for p in group_people(v))
    return [Addressee(m, group_people(m), cc) for m in municipalities] + [
        Addressee(v, group_people(v)) for v in copies
    ]


def enqueue(session: Session, mail: WindowMail, plan: Plan, *, actor: str, now: datetime) -> int:
    """Queue `plan`'s notice; return how many messages it made (none when nobody is left)."""
    queued = recipients(plan, mail.window, mail.registry)
    if not queued:
        return 0
    row = mail.row
    assert row.id is not None
    notice = NoticeRow(
        incident_id=None,
        maintenance_id=row.id,
        sequence=_next_sequence(session, row.id),
        kind=plan.kind,
        created_at=now,
        created_by=actor,
        due_at=plan.due_at,
    )
    session.add(notice)
    session.flush()
    assert notice.id is not None
    esc = mail.registry.escalation
    domain = esc.sender.email.rpartition("@")[2]
    earlier = _thread_ids(session, row.id, notice.id, plan.due_at)
    method = Method.CANCEL if plan.kind is NoticeKind.MAINT_CANCELLED else Method.REQUEST
    entry = Entry(
        uid=calendar_uid(row, domain),
        sequence=mail.window.sequence,
        starts_at=mail.window.starts_at,
        ends_at=mail.window.ends_at,
        description=mail.window.text,
        stamp=plan.due_at,
        scope_label=mail.window.scope_label,
    )
    common = NoticeContext(
        kind=plan.kind,
        incident=None,
        sequence=notice.sequence,
        issued_at=plan.due_at,
        next_update_at=None,
        message=None,
        recipient=esc.sender,
        municipality_count=len(affected(mail.registry, mail.window.scope)),
        contacts=esc,
        maintenance=_facts(mail, plan),
    )
    letters = [
        outbox_mail.Letter(
            audience=to.audience,
            rendered=mail.renderer.render(replace(common, recipient=to.recipient)),
            to=to.to,
            cc=to.cc,
            references=earlier[to.audience],
            recipients=tuple(person.email for person in to.to),
            calendar=(
                str(method),
                calendar([entry], method=method, organizer=esc.sender, attendees=to.to),
            ),
        )
        for to in queued
    ]
    head = outbox_mail.Letterhead(
        notice_id=notice.id,
        thread=f"mw{row.id}-{row.uid[:8]}",
        sequence=notice.sequence,
        sender=esc.sender,
        reply_to=esc.reply_to,
        dated=plan.due_at,
        headers={"X-FMK-Notice": str(plan.kind), "X-FMK-Maintenance": str(row.id)},
    )
    outbox_mail.write(session, head, letters)
    return len(queued)


def withdraw(session: Session, maintenance_id: int, now: datetime) -> int:
    """The window's notices due after `now` are not to be sent: their deliveries still
    waiting become `withdrawn`. Return how many notices were withdrawn."""
    ids = list(
        session.scalars(
            select(col(NoticeRow.id)).where(
                col(NoticeRow.maintenance_id) == maintenance_id,
                col(NoticeRow.withdrawn_at).is_(None),
                col(NoticeRow.due_at) > now,
            )
        )
    )
    if not ids:
        return 0
    session.execute(update(NoticeRow).where(col(NoticeRow.id).in_(ids)).values(withdrawn_at=now))
    messages = select(col(MessageRow.id)).where(col(MessageRow.notice_id).in_(ids))
    session.execute(
        update(DeliveryRow)
        .where(
            col(DeliveryRow.message_id).in_(messages),
            col(DeliveryRow.status) == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.WITHDRAWN, finished_at=now)
    )
    return len(ids)


def _facts(mail: WindowMail, plan: Plan) -> WindowFacts:
    window, row = mail.window, mail.row
    assert row.id is not None
    return WindowFacts(
        number=row.id,
        text=window.text,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        scope_label=window.scope_label,
        affected=tuple(addressee(m) for m in affected(mail.registry, window.scope))
        if window.scope
        else (),
        lead=plan.lead,
        previous_starts_at=mail.previous.starts_at if mail.previous else None,
        previous_ends_at=mail.previous.ends_at if mail.previous else None,
        dropped=plan.dropped_from is not None,
        feed_url=mail.public_url.rstrip("/") + FEED_PATH,
    )


def _next_sequence(session: Session, maintenance_id: int) -> int:
    same = col(NoticeRow.maintenance_id) == maintenance_id
    return (session.scalar(select(func.max(col(NoticeRow.sequence))).where(same)) or 0) + 1


def _thread_ids(
    session: Session, maintenance_id: int, notice_id: int, due_at: datetime
) -> dict[str, list[str]]:
    """Message-IDs of the window's notices that are to go out before this one, per audience,
    in the order they go out (withdrawn ones left out)."""
    rows = session.execute(
        select(col(MessageRow.audience), col(MessageRow.rfc_message_id))
        .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
        .where(
            col(NoticeRow.maintenance_id) == maintenance_id,
            col(NoticeRow.withdrawn_at).is_(None),
            col(NoticeRow.id) != notice_id,
            col(NoticeRow.due_at) <= due_at,
        )
        .order_by(col(NoticeRow.due_at), col(NoticeRow.sequence))
    ).all()
    threads: dict[str, list[str]] = defaultdict(list)
    for audience, rfc_id in rows:
        threads[audience].append(rfc_id)
    return threads
