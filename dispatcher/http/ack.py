"""Acknowledge an incident from the link in a page mail.

GET shows a confirmation page and changes nothing: mail security scanners open every link in
a mail. Only the POST from that page acknowledges, and records the link's nonce in the same
transaction, so a link works once. Every page is Danish HTML from `templates/pages/`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from dispatcher.core.enums import Status
from dispatcher.core.model import Acknowledge, Rejected
from dispatcher.http.deps import HttpServices, services
from dispatcher.http.html import page
from dispatcher.incidents.service import UnknownIncident, apply
from dispatcher.links import AckClaim, LinkError, LinkExpired, read_ack_token
from dispatcher.store.db import read_only
from dispatcher.store.tables import AckLinkRow, IncidentRow

log = structlog.get_logger(__name__)

router = APIRouter(tags=["acknowledgement"])


@router.get("/ack/{token}", response_class=HTMLResponse)
def confirmpage(token: str, request: Request) -> HTMLResponse:
    """The confirmation page with the one button that acknowledges. Changes nothing."""
    svc = services(request)
    now = svc.clock.now()
    claim = _read(svc, token, now)
    if isinstance(claim, HTMLResponse):
        return claim
    with read_only(svc.runtime.engine) as session:
        row = session.get(IncidentRow, claim.incident_id)
        used = session.get(AckLinkRow, claim.nonce) is not None
    if row is None:
        return _unknown(svc, claim)
    if used:
        return _used(svc, claim)
    if refusal := _state_refusal(svc, claim, row, reason=None):
        return refusal
    expires_at = claim.issued_at + svc.runtime.settings.ack_link_ttl
    return page(
        svc,
        "ack_confirm.html.j2",
        200,
        **_incident_vars(row),
        person=claim.person,
        expires_at=expires_at,
    )


@router.post("/ack/{token}", response_class=HTMLResponse)
def acknowledge(token: str, request: Request) -> HTMLResponse:
    """Acknowledge: the person in the link becomes the incident's owner, once per link."""
    svc = services(request)
    now = svc.clock.now()
    claim = _read(svc, token, now)
    if isinstance(claim, HTMLResponse):
        return claim
    if _link_used(svc, claim):
        return _used(svc, claim)

    def record_link_use(session: Session) -> None:
        session.add(
            AckLinkRow(
                nonce=claim.nonce,
                incident_id=claim.incident_id,
                person=claim.person,
                used_at=now,
            )
        )
        session.flush()  # a used nonce fails here, inside the transaction, and undoes it all

    try:
        decision = apply(
            svc.runtime.dispatch,
            claim.incident_id,
            Acknowledge(actor=claim.person),
            now,
            also=record_link_use,
        )
    except UnknownIncident:
        return _unknown(svc, claim)
    except Rejected as exc:
        # Two clicks at once: the second waited for the first's lock, then found it owned.
        if _link_used(svc, claim):
            return _used(svc, claim)
        with read_only(svc.runtime.engine) as session:
            row = session.get(IncidentRow, claim.incident_id)
        if row is None:
            return _unknown(svc, claim)
        log.info("ack_link.rejected", incident=claim.incident_id, reason=str(exc))
        refusal = _state_refusal(svc, claim, row, reason=str(exc))
        return refusal or page(
            svc,
            "ack_problem.html.j2",
            409,
            problem="rejected",
            incident_id=claim.incident_id,
            reason=str(exc),
        )
    except IntegrityError:
        if _link_used(svc, claim):
            return _used(svc, claim)
        raise
    log.info("ack_link.acknowledged", incident=claim.incident_id, owner=claim.person)
    incident = decision.incident
    return page(
        svc,
        "ack_done.html.j2",
        200,
        incident_id=claim.incident_id,
        summary=incident.summary,
        person=claim.person,
        informed=incident.municipalities_informed,
        acknowledged_at=now,
    )


def _read(svc: HttpServices, token: str, now: datetime) -> AckClaim | HTMLResponse:
    settings = svc.runtime.settings
    try:
        return read_ack_token(
            settings.link_secret.get_secret_value(), token, now=now, ttl=settings.ack_link_ttl
        )
    except LinkExpired as exc:
        log.info("ack_link.expired", incident=exc.incident_id)
        return page(
            svc,
            "ack_problem.html.j2",
            410,
            problem="expired",
            incident_id=exc.incident_id,
            reason=exc.danish,
            ttl=_hours(settings.ack_link_ttl),
        )
    except LinkError as exc:
        log.info("ack_link.invalid", reason=exc.english)
        return page(svc, "ack_problem.html.j2", 400, problem="invalid", reason=exc.danish)


def _link_used(svc: HttpServices, claim: AckClaim) -> bool:
    with read_only(svc.runtime.engine) as session:
        return session.get(AckLinkRow, claim.nonce) is not None


def _state_refusal(
    svc: HttpServices, claim: AckClaim, row: IncidentRow, *, reason: str | None
) -> HTMLResponse | None:
    """The 409 page for an incident that cannot be acknowledged now, or None if it can."""
    status = Status(row.status)
    if not status.is_open:
        problem = "closed"
    elif row.owner is not None:
        problem = "owned_by_you" if row.owner == claim.person else "owned"
    else:
        return None
    return page(
        svc,
        "ack_problem.html.j2",
        409,
        problem=problem,
        **_incident_vars(row),
        status=status.value,
        owner=row.owner,
        person=claim.person,
        reason=reason,
    )


def _unknown(svc: HttpServices, claim: AckClaim) -> HTMLResponse:
    return page(svc, "ack_problem.html.j2", 404, problem="unknown", incident_id=claim.incident_id)


def _used(svc: HttpServices, claim: AckClaim) -> HTMLResponse:
    return page(svc, "ack_problem.html.j2", 409, problem="used", incident_id=claim.incident_id)


def _incident_vars(row: IncidentRow) -> dict[str, Any]:
    return {
        "incident_id": row.id,
        "summary": row.summary,
        "down_since": row.down_since,
        "informed": row.informed_at is not None,
    }


def _hours(ttl: timedelta) -> int:
    return max(1, round(ttl.total_seconds() / 3600))
