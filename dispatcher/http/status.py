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
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from dispatcher.http.deps import HttpServices, services
from dispatcher.status import feed, pages, queries
from dispatcher.status.document import status_document

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


@router.get("/status")
@router.head("/status", include_in_schema=False)
def status_page(request: Request) -> Response:
    svc = services(request)
    view = queries.status_view(svc.runtime.engine, svc.runtime.registry, svc.clock.now())
    html = pages.status_html(svc.runtime.settings.templates_dir, view)
    return _respond(request, html.encode(), HTML)


@router.get("/status.json")
@router.head("/status.json", include_in_schema=False)
def status_json(request: Request) -> Response:
    svc = services(request)
    view = queries.status_view(svc.runtime.engine, svc.runtime.registry, svc.clock.now())
    return _json(request, status_document(view, _base(svc)))


@router.get("/status.atom")
@router.head("/status.atom", include_in_schema=False)
def status_atom(request: Request) -> Response:
    svc = services(request)
    now = svc.clock.now()
    view = queries.status_view(svc.runtime.engine, svc.runtime.registry, now)
    incidents = queries.public_incidents(
        svc.runtime.engine, svc.runtime.registry, now, limit=feed.INCIDENTS
    )
    body = feed.atom_feed(incidents, _base(svc), view.generated_at)
    return _respond(request, body, feed.CONTENT_TYPE)


@router.get("/status/incidents/{number}")
@router.head("/status/incidents/{number}", include_in_schema=False)
def incident_page(number: str, request: Request) -> Response:
    """Public incident `number` with all its notices; anything else is the Danish 404."""
    svc = services(request)
    now = svc.clock.now()
    templates = svc.runtime.settings.templates_dir
    found = (
        queries.incident_page(svc.runtime.engine, svc.runtime.registry, int(number), now)
        if number.isascii() and number.isdigit() and len(number) < 10
        else None
    )
    if found is None:
        html = pages.not_found_html(templates, number[:40])
        return Response(html, status_code=404, media_type=HTML, headers=HEADERS)
    view = queries.status_view(svc.runtime.engine, svc.runtime.registry, now)
    return _respond(request, pages.incident_html(templates, found, view).encode(), HTML)


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
