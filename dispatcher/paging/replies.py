"""Acknowledgement by SMS reply. A reply that contains the code of a page (`OK 482913`,
`482913`, any case, spaces anywhere) from the number that page went to acknowledges the incident
as that person, through the same core event as the CLI and the signed link; the person gets a
short receipt by SMS (the core's `Acknowledge(by_reply=True)`), the others "taken by …".

Anything else — a wrong code, a used one, a code of a closed incident, an unknown number —
changes nothing, is logged, and sends nothing back, so the sender learns nothing about
incidents. Each inbound SMS is handled once (`sms_callback`): a repeat of its id is `REPEATED`.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from dispatcher.core.enums import Status
from dispatcher.core.model import Acknowledge, Rejected
from dispatcher.incidents.service import Dispatch, apply
from dispatcher.paging.gateway import InboundSms
from dispatcher.store.db import transaction
from dispatcher.store.tables import IncidentRow, PageCodeRow, SmsCallbackRow

log = structlog.get_logger(__name__)


class Handled(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    IGNORED = "ignored"
    REPEATED = "repeated"


def digits(text: str) -> set[str]:
    """The runs of digits in `text` once all white space is gone: 'ok 48 29 13' → {'482913'}."""
    return set(re.findall(r"\d+", re.sub(r"\s+", "", text)))


def handle_reply(d: Dispatch, sms: InboundSms, now: datetime) -> Handled:
    def seen(session: Session) -> None:
        session.add(
            SmsCallbackRow(kind="inbound", provider_id=sms.provider_id, status="", received_at=now)
        )
        session.flush()

    with transaction(d.engine) as session:
        match = _match(session, sms)
    bound = log.bind(provider_id=sms.provider_id, msisdn=sms.msisdn)
    try:
        if match is None:
            with transaction(d.engine) as session:
                seen(session)
            bound.warning("sms_reply.ignored", reason="no open page to this number has this code")
            return Handled.IGNORED
        code_id, incident_id, person = match

        def used(session: Session) -> None:
            seen(session)
            code = session.get(PageCodeRow, code_id)
            assert code is not None
            code.used_at = now

        try:
            apply(d, incident_id, Acknowledge(actor=person, by_reply=True), now, also=used)
        except Rejected as exc:
            with transaction(d.engine) as session:
                seen(session)
            bound.warning("sms_reply.ignored", incident_id=incident_id, reason=str(exc))
            return Handled.IGNORED
    except IntegrityError:
        bound.warning("sms_reply.repeated")
        return Handled.REPEATED
    bound.info("sms_reply.acknowledged", incident_id=incident_id, person=person)
    return Handled.ACKNOWLEDGED


def _match(session: Session, sms: InboundSms) -> tuple[int, int, str] | None:
    """The unused code of an unacknowledged incident's page to this number that the text holds."""
    found = digits(sms.text)
    rows = session.execute(
        select(PageCodeRow)
        .join(IncidentRow, col(IncidentRow.id) == col(PageCodeRow.incident_id))
        .where(
            col(PageCodeRow.phone) == sms.msisdn,
            col(PageCodeRow.used_at).is_(None),
            col(IncidentRow.status) == Status.TRIGGERED,
        )
        .order_by(col(PageCodeRow.id).desc())
    ).scalars()
    for row in rows:
        if row.code in found:
            assert row.id is not None
            return row.id, row.incident_id, row.person
    return None
