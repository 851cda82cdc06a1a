"""The public status page for the municipalities, read-only.

- `GET /status`: Danish HTML; `GET /status.json`: the same as JSON; `GET /status.atom`: an
  Atom 1.0 feed with one entry per municipal notice of the last incidents;
- `GET /status/incidents/{number}`: one incident and its notices (404 in Danish if there is
  no such public incident; a drill or an incident whose notice is held counts as none);
- `GET /`: a redirect to `/status`.

Each also answers HEAD (uptime monitors use it), with the headers GET would send.
Responses carry `Cache-Control: no-cache` and a strong ETag of the body, so a client
revalidates every time and gets a 304 while nothing has changed. Handlers are plain `def`:
their database work runs in the threadpool. What is shown is decided in `dispatcher.status`.

The reads take no write lock, so a writer never holds the page up. If the database fails
anyway, `/status`, `/status.json` and `/status.atom` serve the last status this process read,
the page and the JSON saying from when ("Siden kunne ikke opdateres; viser status fra kl.
03:05."); with none yet, and for an incident's page, the answer is a Danish 503 with
Retry-After.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from dispatcher.http.deps import HttpServices, services
from dispatcher.http.errors import database_error, unavailable_headers
from dispatcher.notices.timefmt import format_clock
from dispatcher.status import feed, pages, queries
from dispatcher.status.document import moment, status_document
from dispatcher.status.view import StatusView

log = structlog.get_logger(__name__)

router = APIRouter(tags=["status"])

HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
}


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/status", status_code=302)


@dataclass
class LastGood:
    """What the status page last read from the database in this process, served while the
    database fails: the status (for the page and the JSON) and the Atom feed as sent."""

    view: StatusView | None = None
    atom: bytes | None = None


@router.get("/status")
@router.head("/status", include_in_schema=False)
def status_page(request: Request) -> Response:
    svc = services(request)
    found = _status_view(request, svc)
    if found is None:
        return _unavailable(request, svc, HTML)
    view, stale = found
    html = pages.status_html(svc.runtime.settings.templates_dir, view, stale=stale)
    return _respond(request, html.encode(), HTML)


@router.get("/status.json")
@router.head("/status.json", include_in_schema=False)
def status_json(request: Request) -> Response:
    svc = services(request)
    found = _status_view(request, svc)
    if found is None:
        return _unavailable(request, svc, JSON)
    view, stale = found
    document = status_document(view, _base(svc))
    if stale is not None:
        document["stale"] = {"text": stale, "shown_from": moment(view.generated_at)}
    return _json(request, document)


@router.get("/status.atom")
@router.head("/status.atom", include_in_schema=False)
def status_atom(request: Request) -> Response:
    svc = services(request)
    last = _last_good(request)
    now = svc.clock.now()
    try:
        view = queries.status_view(svc.runtime.engine, svc.runtime.registry, now)
        incidents = queries.public_incidents(
            svc.runtime.engine, svc.runtime.registry, now, limit=feed.INCIDENTS
        )
    except SQLAlchemyError as exc:
        _log_failure(request, svc, exc, stale=last.atom is not None)
        if last.atom is None:
            return _unavailable(request, svc, JSON)
        return _respond(request, last.atom, feed.CONTENT_TYPE)
    last.atom = feed.atom_feed(incidents, _base(svc), view.generated_at, view.maintenance)
    return _respond(request, last.atom, feed.CONTENT_TYPE)


@router.get("/status/incidents/{number}")
@router.head("/status/incidents/{number}", include_in_schema=False)
def incident_page(number: str, request: Request) -> Response:
    """Public incident `number` with all its notices; anything else is the Danish 404."""
    svc = services(request)
    now = svc.clock.now()
    templates = svc.runtime.settings.templates_dir
    try:
        found = (
            queries.incident_page(svc.runtime.engine, svc.runtime.registry, int(number), now)
            if number.isascii() and number.isdigit() and len(number) < 10
            else None
        )
        view = queries.status_view(svc.runtime.engine, svc.runtime.registry, now) if found else None
    except SQLAlchemyError as exc:
        _log_failure(request, svc, exc, stale=False)
        return _unavailable(request, svc, HTML)
    if found is None or view is None:
        html = pages.not_found_html(templates, number[:40])
        return Response(html, status_code=404, media_type=HTML, headers=HEADERS)
    return _respond(request, pages.incident_html(templates, found, view).encode(), HTML)


def _last_good(request: Request) -> LastGood:
    found = request.app.state.status_last_good
    assert isinstance(found, LastGood)
    return found


def _status_view(request: Request, svc: HttpServices) -> tuple[StatusView, str | None] | None:
    """The status now and no note; or, if the database fails, the last status read and the
    note that says from when; or None if there is none."""
    last = _last_good(request)
    now = svc.clock.now()
    try:
        view = queries.status_view(svc.runtime.engine, svc.runtime.registry, now)
    except SQLAlchemyError as exc:
        _log_failure(request, svc, exc, stale=last.view is not None)
        if last.view is None:
            return None
        return last.view, stale_note(last.view.generated_at.utc, now)
    last.view = view
    return view, None


def stale_note(shown_from: datetime, now: datetime) -> str:
    """E.g. "Siden kunne ikke opdateres; viser status fra kl. 03:05." (Copenhagen time)."""
    return f"Siden kunne ikke opdateres; viser status fra {format_clock(shown_from, now)}."


def _log_failure(request: Request, svc: HttpServices, exc: SQLAlchemyError, *, stale: bool) -> None:
    log.warning(
        "status.database_failed",
        path=request.url.path,
        reason=database_error(exc, svc.runtime.engine),
        serving="last good status" if stale else "503",
    )


def _unavailable(request: Request, svc: HttpServices, media_type: str) -> Response:
    """503: the database fails and this process has no status to show yet."""
    headers = {**HEADERS, **unavailable_headers()}
    if media_type == HTML:
        html = pages.unavailable_html(svc.runtime.settings.templates_dir)
        return Response(html, status_code=503, media_type=HTML, headers=headers)
    body = {
        "error": "database_unavailable",
        "detail": "the status cannot be read now: the database does not answer; retry later",
    }
    return JSONResponse(body, 503, headers=headers)


def _base(svc: HttpServices) -> str:
    return svc.runtime.settings.public_url.rstrip("/")


def _json(request: Request, document: dict[str, Any]) -> Response:
    body = json.dumps(document, ensure_ascii=False, indent=2).encode()
    return _respond(request, body, JSON)


def _respond(request: Request, body: bytes, media_type: str) -> Response:
    """200 with `body`, or 304 if the client's If-None-Match already names its ETag."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {**HEADERS, "ETag": etag}
    offered = request.headers.get("if-none-match", "")
    if any(tag.strip().removeprefix("W/") in (etag, "*") for tag in offered.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
