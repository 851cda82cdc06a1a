""" "Bekræft modtagelse": a municipality confirms it has received an incident's notices.

Every municipal notice carries a signed link for that municipality and incident. GET shows a
Danish page with one button and changes nothing (mail scanners open every link in a mail);
only the POST from that page records the confirmation, with its time, once: a repeated POST
shows the first confirmation and changes nothing. A link that was altered, has expired or
belongs to another incident gets a page that says so, and nothing is recorded. Who confirmed
is not public: the status page does not show it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import IntegrityError

from dispatcher.http.deps import HttpServices, services
from dispatcher.http.html import page
from dispatcher.links import LinkError, LinkExpired, ReceiptClaim, read_receipt_token
from dispatcher.notices.render import addressee
from dispatcher.store.db import read_only, transaction
from dispatcher.store.tables import IncidentRow, ReceiptRow

log = structlog.get_logger(__name__)

router = APIRouter(tags=["receipts"])


@router.get("/receipt/{incident}/{token}", response_class=HTMLResponse)
def receipt_page(incident: str, token: str, request: Request) -> HTMLResponse:
    """The page with the one button that confirms. Changes nothing."""
    svc = services(request)
    claim = _read(svc, incident, token, svc.clock.now())
    if isinstance(claim, HTMLResponse):
        return claim
    with read_only(svc.runtime.engine) as session:
        row = session.get(IncidentRow, claim.incident_id)
        done = session.get(ReceiptRow, (claim.incident_id, claim.code))
    if row is None:
        return _problem(svc, 404, "unknown", incident_id=claim.incident_id)
    return page(
        svc,
        "receipt_confirm.html.j2",
        200,
        **_vars(svc, claim, row),
        confirmed_at=done.confirmed_at if done else None,
    )


@router.post("/receipt/{incident}/{token}", response_class=HTMLResponse)
def confirm_receipt(incident: str, token: str, request: Request) -> HTMLResponse:
    """Record the confirmation; a second one keeps the first's time."""
    svc = services(request)
    now = svc.clock.now()
    claim = _read(svc, incident, token, now)
    if isinstance(claim, HTMLResponse):
        return claim
    key = (claim.incident_id, claim.code)
    try:
        with transaction(svc.runtime.engine) as session:
            row = session.get(IncidentRow, claim.incident_id)
            if row is None:
                return _problem(svc, 404, "unknown", incident_id=claim.incident_id)
            found = session.get(ReceiptRow, key)
            first = found is None
            if found is None:
                found = ReceiptRow(
                    incident_id=claim.incident_id,
                    municipality_code=claim.code,
                    confirmed_at=now,
                    link_issued_at=claim.issued_at,
                )
                session.add(found)
                session.flush()
            confirmed_at, variables = found.confirmed_at, _vars(svc, claim, row)
    except IntegrityError:  # two presses at once: the other one recorded it
        with read_only(svc.runtime.engine) as session:
            found = session.get(ReceiptRow, key)
            row = session.get(IncidentRow, claim.incident_id)
        assert found is not None
        assert row is not None
        first, confirmed_at, variables = False, found.confirmed_at, _vars(svc, claim, row)
    log.info("receipt.confirmed", incident=claim.incident_id, municipality=claim.code, first=first)
    return page(
        svc, "receipt_done.html.j2", 200, **variables, confirmed_at=confirmed_at, first=first
    )


def _read(
    svc: HttpServices, incident: str, token: str, now: datetime
) -> ReceiptClaim | HTMLResponse:
    settings = svc.runtime.settings
    if not (incident.isascii() and incident.isdigit()):
        return _problem(svc, 404, "invalid", reason="Adressen peger ikke på et nedbrud.")
    try:
        claim = read_receipt_token(
            settings.link_secret.get_secret_value(), token, now=now, ttl=settings.receipt_link_ttl
        )
    except LinkExpired as exc:
        log.info("receipt_link.expired", incident=exc.incident_id)
        return _problem(svc, 410, "expired", incident_id=exc.incident_id)
    except LinkError as exc:
        log.info("receipt_link.invalid", reason=exc.english)
        return _problem(svc, 400, "invalid", reason=exc.danish)
    if claim.incident_id != int(incident):
        log.info("receipt_link.other_incident", token_for=claim.incident_id, path=incident)
        return _problem(
            svc, 400, "other", incident_id=int(incident), token_incident=claim.incident_id
        )
    return claim


def _vars(svc: HttpServices, claim: ReceiptClaim, row: IncidentRow) -> dict[str, Any]:
    municipality = svc.runtime.registry.municipality(claim.code)
    return {
        "incident_id": claim.incident_id,
        "summary": row.summary,
        "drill": row.drill,
        "municipality": addressee(municipality) if municipality else f"kommune {claim.code}",
    }


def _problem(svc: HttpServices, code: int, problem: str, **variables: Any) -> HTMLResponse:
    return page(svc, "receipt_problem.html.j2", code, problem=problem, **variables)
