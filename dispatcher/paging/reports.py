"""Delivery reports from the gateway, applied to the SMS's delivery row.

Reports arrive late, repeated and out of order. Each (gateway id, status) is applied once: a
repeat is recognised (`sms_callback`) and changes nothing. A final report (delivered, or failed:
undeliverable, expired, rejected …) is never replaced by a later one; a transient one (buffered,
enroute) after a final one is ignored. A failed report fails the delivery, and for a page that
is a failed page (`paging.failures`): on the timeline, the other on-call staff told, and when
every channel to the person has failed, the next level paged at once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from dispatcher.contacts.model import Channel
from dispatcher.incidents.service import Dispatch
from dispatcher.paging import failures
from dispatcher.paging.gateway import DeliveryReport, Outcome
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, DeliveryStatus, SmsCallbackRow

log = structlog.get_logger(__name__)


class Applied(StrEnum):
    RECORDED = "recorded"  # the delivery row took the report
    KEPT = "kept"  # the row has a final report already; this one changes nothing
    UNKNOWN = "unknown"  # no SMS of ours has this reference and number
    REPEATED = "repeated"  # this report came before


def apply_report(d: Dispatch, report: DeliveryReport, now: datetime) -> Applied:
    try:
        with transaction(d.engine) as session:
            session.add(
                SmsCallbackRow(
                    kind="report",
                    provider_id=report.provider_id,
                    status=report.status,
                    received_at=now,
                )
            )
            session.flush()
            delivery = _delivery(session, report)
            failed_id = None
            if delivery is None:
                applied = Applied.UNKNOWN
            elif delivery.report_outcome not in (None, Outcome.PENDING):
                applied = Applied.KEPT
            else:
                applied = Applied.RECORDED
                delivery.report = report.status
                delivery.report_outcome = report.outcome
                if report.outcome is Outcome.FAILED:
                    delivery.status = DeliveryStatus.FAILED
                    delivery.last_reply = f"{report.status} {report.detail}".strip()
                    delivery.finished_at = now
                    delivery.claimed_until = None
                    failed_id = delivery.id
    except IntegrityError:
        return Applied.REPEATED
    log.info(
        "sms_report.applied",
        provider_id=report.provider_id,
        reference=report.reference,
        status=report.status,
        applied=str(applied),
    )
    if failed_id is not None:
        failures.delivery_failed(d, failed_id, f"{report.status} {report.detail}".strip(), now)
    return applied


def _delivery(session: Session, report: DeliveryReport) -> DeliveryRow | None:
    if report.reference is None or not report.reference.isdigit():
        return None
    return session.scalar(
        select(DeliveryRow)
        .where(
            col(DeliveryRow.id) == int(report.reference),
            col(DeliveryRow.channel) == Channel.SMS,
            col(DeliveryRow.recipient) == report.msisdn,
        )
        .with_for_update()
    )
