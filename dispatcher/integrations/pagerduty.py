"""A PagerDuty Events API v2 event (`POST /v2/enqueue`), checked as PagerDuty checks it, and a
rate limit per routing key as PagerDuty's (about 120 events a minute). Pure but for the
limiter's memory; times are passed in."""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
MAX_BODY = 512 * 1024  # PagerDuty's limit
SUMMARY_MAX = 1024
DEDUP_MAX = 255


@dataclass(frozen=True)
class PdEvent:
    routing_key: str
    action: str
    dedup_key: str | None
    summary: str = ""
    source: str = ""
    severity: str = ""
    details: str = ""

    @property
    def group(self) -> str:
        """The alert group of this dedup key, on this routing key."""
        key = f"{self.routing_key}\n{self.dedup_key}".encode()
        return "pd-" + hashlib.sha256(key).hexdigest()


def check(data: Any) -> tuple[PdEvent | None, list[str]]:
    """The event, or the problems with it in PagerDuty's words."""
    if not isinstance(data, dict):
        return None, ["Event object must be a JSON object"]
    errors: list[str] = []
    routing_key = data.get("routing_key")
    if not isinstance(routing_key, str) or not routing_key:
        errors.append("'routing_key' is missing or blank")
    action = data.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be trigger, acknowledge or resolve)")
    dedup = data.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > DEDUP_MAX):
        errors.append(f"'dedup_key' must be a string of at most {DEDUP_MAX} characters")
    if action in ("acknowledge", "resolve") and not dedup:
        errors.append(f"'dedup_key' is required for {action}")
    payload = data.get("payload")
    summary: Any = ""
    source: Any = ""
    severity: Any = ""
    details = ""
    if action == "trigger":
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object")
            payload = {}
        summary = payload.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors.append("'payload.summary' is missing or blank")
        elif len(summary) > SUMMARY_MAX:
            errors.append(f"'payload.summary' is longer than {SUMMARY_MAX} characters")
        source = payload.get("source")
        if not isinstance(source, str) or not source.strip():
            errors.append("'payload.source' is missing or blank")
        severity = payload.get("severity")
        if severity not in SEVERITIES:
            errors.append(
                "'payload.severity' is invalid (must be critical, error, warning or info)"
            )
        custom = payload.get("custom_details")
        details = custom if isinstance(custom, str) else "" if custom is None else str(custom)
    if errors:
        return None, errors
    return (
        PdEvent(
            routing_key=str(routing_key),
            action=str(action),
            dedup_key=dedup,
            summary=" ".join(str(summary).split())[:200],
            source=str(source),
            severity=str(severity),
            details=f"{source}: {details}".strip(": ")[:4000],
        ),
        [],
    )


class RateLimit:
    """At most `limit` events in any 60 seconds, per routing key."""

    WINDOW = timedelta(seconds=60)

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: dict[str, deque[datetime]] = {}

    def allow(self, key: str, now: datetime) -> bool:
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - self.WINDOW:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True
