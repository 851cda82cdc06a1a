"""The watch on SDS's heartbeats: page once when they stop, once more when they return.

Watching starts with the first heartbeat: a SDS that never sends any is not paged about.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from dispatcher.core.enums import Audience, Info
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.model import Notify


@dataclass(frozen=True)
class Watch:
    last_seen_at: datetime | None = None
    lost_since: datetime | None = None


def _info(info: Info) -> Notify:
    return Notify(NoticeKind.ONCALL_INFO, audience=Audience.ONCALL, info=info)


def beat(watch: Watch, now: datetime) -> tuple[Watch, list[Notify]]:
    back = [_info(Info.HEARTBEAT_BACK)] if watch.lost_since is not None else []
    return Watch(last_seen_at=now), back


def check(watch: Watch, now: datetime, window: timedelta) -> tuple[Watch, list[Notify]]:
    if watch.last_seen_at is None or watch.lost_since is not None:
        return watch, []
    if now - watch.last_seen_at <= window:
        return watch, []
    return replace(watch, lost_since=now), [_info(Info.HEARTBEAT_LOST)]
