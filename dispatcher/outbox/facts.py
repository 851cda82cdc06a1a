"""What the notices say about an incident: the core's `Incident` as the templates see it."""

from __future__ import annotations

from dispatcher.contacts.model import Registry
from dispatcher.contacts.scope import affected
from dispatcher.core.model import Incident
from dispatcher.notices.context import IncidentFacts
from dispatcher.notices.render import addressee


def facts(number: int, incident: Incident, registry: Registry) -> IncidentFacts:
    def names(codes: tuple[int, ...]) -> tuple[str, ...]:  # none for no codes, not all
        return tuple(addressee(m) for m in affected(registry, codes)) if codes else ()

    return IncidentFacts(
        number=number,
        summary=incident.summary,
        details=incident.details,
        impact=incident.impact,
        guidance=incident.guidance,
        down_since=incident.down_since,
        resolved_at=incident.closed_at,
        severity=incident.severity,
        source=str(incident.source),
        status=str(incident.status),
        owner=incident.owner,
        municipalities_informed=incident.municipalities_informed,
        sent_without_ack=incident.sent_without_ack,
        failsafe_at=incident.failsafe_at,
        drill=incident.drill,
        scope_label=incident.scope_label,
        affected=names(incident.scope),
        unknown_eoj=names(incident.scope_unknown),
    )
