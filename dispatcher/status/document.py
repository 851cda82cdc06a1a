"""The status as JSON (`/status.json`): the same facts as the page, times in UTC and local.

Every time is an object `{"utc": "…Z", "local": "…+01:00", "text": "fredag 31. december
2021 kl. 03:00"}`, or null. See docs/status-page.md for the fields.
"""

from __future__ import annotations

from typing import Any

from dispatcher.status.view import IncidentView, Moment, NoticeView, StatusView


def moment(value: Moment | None) -> dict[str, str] | None:
    if value is None:
        return None
    return {"utc": value.utc_text, "local": value.local_iso, "text": value.text}


def status_document(view: StatusView, base_url: str) -> dict[str, Any]:
    return {
        "status": view.level.value,
        "severity": view.severity,
        "headline": view.headline,
        "text": view.lead,
        "generated_at": moment(view.generated_at),
        "current": incident_document(view.current, base_url) if view.current else None,
        "past": [incident_summary(past, base_url) for past in view.past],
        "maintenance": [
            {
                "number": w.number,
                "state": "active" if w.active else "upcoming",
                "starts_at": moment(w.starts_at),
                "ends_at": moment(w.ends_at),
                "scope": w.scope_label,
                "text": w.text,
            }
            for w in view.maintenance
        ],
        "links": {
            "html": f"{base_url}/status",
            "json": f"{base_url}/status.json",
            "atom": f"{base_url}/status.atom",
            "calendar": f"{base_url}/vedligehold.ics",
        },
    }


def incident_summary(incident: IncidentView, base_url: str) -> dict[str, Any]:
    """An incident without its text and notices, as in the history."""
    return {
        "number": incident.number,
        "url": f"{base_url}/status/incidents/{incident.number}",
        "status": incident.status.value,
        "outcome": incident.outcome,
        "severity": incident.severity,
        "summary": incident.summary,
        "scope": None
        if incident.scope is None
        else {
            "label": incident.scope.label,
            "municipalities": [
                {"code": code, "name": name} for code, name in incident.scope.municipalities
            ],
            "unknown_eoj": list(incident.scope.unknown),
        },
        "down_since": moment(incident.down_since),
        "ended_at": moment(incident.ended_at),
        "duration": incident.duration or None,
        "updated_at": moment(incident.updated_at),
    }


def incident_document(incident: IncidentView, base_url: str) -> dict[str, Any]:
    """An incident with its text and the municipal notices in the order they were sent."""
    return {
        **incident_summary(incident, base_url),
        "details": incident.details,
        "impact": incident.impact,
        "guidance": incident.guidance,
        "next_update_at": moment(incident.next_update_at),
        "notices": [notice_document(notice) for notice in incident.notices],
    }


def notice_document(notice: NoticeView) -> dict[str, Any]:
    return {
        "number": notice.number,
        "name": notice.name,
        "kind": notice.kind.value,
        "title": notice.title,
        "sent_at": moment(notice.sent_at),
        "text": "\n\n".join(notice.paragraphs),
    }
