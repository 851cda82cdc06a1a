"""The metrics of who has been told: the relay's health, and per open incident (drills left
out) how many municipalities confirmed and how many no mailbox has reached."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import select
from sqlmodel import Session, col

from dispatcher.core.receipts import Summary, summarise
from dispatcher.incidents.mapping import OPEN_KEY
from dispatcher.incidents.receipts import receipts
from dispatcher.outbox.relay import RELAY
from dispatcher.store.tables import IncidentRow, RelayRow

PREFIX = "fmk_dispatcher_"


def relay_failing_since(session: Session) -> datetime | None:
    relay = session.get(RelayRow, RELAY)
    return relay.failing_since if relay is not None else None


def open_receipts(session: Session) -> dict[int, Summary]:
    """The receipt summary of the open FMK incident (not a drill), if it told anyone."""
    found = {}
    for incident_id in session.scalars(
        select(col(IncidentRow.id)).where(col(IncidentRow.open_key) == OPEN_KEY)
    ):
        assert incident_id is not None
        if rows := receipts(session, incident_id):
            found[incident_id] = summarise(rows)
    return found


def receipt_families(
    failing_since: datetime | None, summaries: Mapping[int, Summary]
) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        PREFIX + "relay_failing",
        "1 while the mail relay refuses, times out or rejects the login, else 0.",
        value=int(failing_since is not None),
    )
    yield GaugeMetricFamily(
        PREFIX + "relay_failing_since_timestamp_seconds",
        "Unix time the mail relay started failing (absent while it works).",
        value=None if failing_since is None else failing_since.timestamp(),
    )
    for name, help_text, value in (
        ("municipalities_confirmed", "Municipalities that confirmed receipt", "confirmed"),
        ("municipalities_not_reached", "Municipalities no mailbox has reached", "not_reached"),
    ):
        family = GaugeMetricFamily(
            PREFIX + name, f"{help_text}, per open incident.", labels=["incident"]
        )
        for incident_id, summary in sorted(summaries.items()):
            family.add_metric([str(incident_id)], getattr(summary, value))
        yield family
