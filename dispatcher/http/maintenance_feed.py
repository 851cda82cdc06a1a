"""`GET /vedligehold.ics`: the planned maintenance windows of FMK as a calendar to subscribe to
(Outlook, Google Calendar, Apple Calendar). Public, like the status page; no personal data."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dispatcher.http.deps import services
from dispatcher.maintenance import queries
from dispatcher.maintenance.feed import feed
from dispatcher.maintenance.notices import FEED_PATH

router = APIRouter(tags=["status"])
CALENDAR = "text/calendar; charset=utf-8"


@router.get(
    FEED_PATH,
    summary="Planned maintenance windows as an iCalendar feed",
    response_class=Response,
    responses={200: {"content": {CALENDAR: {}}, "description": "RFC 5545, METHOD:PUBLISH."}},
)
def maintenance_calendar(request: Request) -> Response:
    """Upcoming windows and those that ended within DISPATCHER_MAINTENANCE_FEED_DAYS."""
    http = services(request)
    now = http.clock.now()
    settings = http.runtime.settings
    history = timedelta(days=settings.maintenance_feed_days)
    rows = queries.feed_windows(http.runtime.engine, now, history)
    body = feed(rows, http.runtime.registry, now)
    headers = {
        "Cache-Control": "no-cache",
        "Content-Disposition": 'inline; filename="vedligehold.ics"',
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body, media_type=CALENDAR, headers=headers)
