"""When pages do not get through: a page by SMS that failed for good goes on the incident's
timeline and the other on-call staff are told (`PageFailed`); when every channel of a page to a
person has failed — the SMS undeliverable and the mail failed or bounced — the core escalates at
once (`ChannelsExhausted`), once per page and person (`page_exhaustion`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from dispatcher.contacts.model import Channel
from dispatcher.core.enums import Status
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.model import ChannelsExhausted, PageFailed, Rejected
from dispatcher.incidents.service import Dispatch, apply
from dispatcher.store.db import transaction
from dispatcher.store.tables import (
    DeliveryRow,
    IncidentRow,
    MessageRow,
    NoticeRow,
    PageExhaustionRow,
)

log = structlog.get_logger(__name__)

# "bounced" is a mail the relay took and later returned (issue #12).
FAILED = frozenset({"failed", "bounced"})


def delivery_failed(d: Dispatch, delivery_id: int, reason: str, now: datetime) -> None:
    """Delivery `delivery_id` has just failed for good with `reason`."""
    with transaction(d.engine) as session:
        found = session.execute(
            select(DeliveryRow, NoticeRow)
            .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
            .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
            .where(col(DeliveryRow.id) == delivery_id)
        ).first()
    if found is None:
        return
    delivery, notice = found
    page = notice.kind == NoticeKind.PAGE and notice.incident_id is not None
    if page and delivery.channel == Channel.SMS and delivery.person is not None:
        assert notice.incident_id is not None
        _apply(d, notice.incident_id, PageFailed(delivery.person, reason), now)
    exhausted(d, now)


def exhausted(d: Dispatch, now: datetime) -> int:
    """Escalate for every page of an unacknowledged incident whose channels to a person have
    all failed, and that has not been escalated for yet; return how many."""
    with transaction(d.engine) as session:
        rows = session.execute(
            select(
                col(NoticeRow.id),
                col(NoticeRow.incident_id),
                col(DeliveryRow.person),
                col(DeliveryRow.status),
            )
            .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
            .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
            .join(IncidentRow, col(IncidentRow.id) == col(NoticeRow.incident_id))
            .where(
                col(NoticeRow.kind) == NoticeKind.PAGE,
                col(IncidentRow.status) == Status.TRIGGERED,
                col(DeliveryRow.person).is_not(None),
            )
        ).all()
        done = {(e.notice_id, e.person) for e in session.scalars(select(PageExhaustionRow))}
    statuses: dict[tuple[int, int, str], set[str]] = {}
    for notice_id, incident_id, person, status in rows:
        statuses.setdefault((notice_id, incident_id, person), set()).add(status)
    count = 0
    for (notice_id, incident_id, person), seen in sorted(statuses.items()):
        if (notice_id, person) in done or not seen <= FAILED:
            continue

        def mark(session: Session, notice_id: int = notice_id, person: str = person) -> None:
            session.add(PageExhaustionRow(notice_id=notice_id, person=person, at=now))

        count += _apply(d, incident_id, ChannelsExhausted(person), now, also=mark)
    return count


def _apply(
    d: Dispatch,
    incident_id: int,
    event: PageFailed | ChannelsExhausted,
    now: datetime,
    also: Callable[[Session], None] | None = None,
) -> int:
    try:
        apply(d, incident_id, event, now, also=also)
    except Rejected as exc:  # the incident closed meanwhile
        log.info("paging.failure_not_applied", incident_id=incident_id, reason=str(exc))
        return 0
    except IntegrityError:  # another replica recorded the same exhaustion first
        return 0
    log.warning("paging.failure_applied", incident_id=incident_id, what=type(event).__name__)
    return 1
