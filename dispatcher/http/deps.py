"""What the HTTP handlers need, put on `app.state` by `create_app` and read per request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fastapi import Request

from dispatcher.clock import Clock
from dispatcher.daemon.supervise import TaskHealth
from dispatcher.runtime import Runtime


@dataclass(frozen=True)
class HttpServices:
    runtime: Runtime
    clock: Clock
    sender_alive: Callable[[], bool]
    leading: Callable[[], bool] = lambda: True
    tasks: Callable[[], Mapping[str, TaskHealth]] = dict
    # Tell the senders that something was queued (call from the event loop only).
    wake_senders: Callable[[], None] = lambda: None


def services(request: Request) -> HttpServices:
    found = request.app.state.services
    assert isinstance(found, HttpServices)
    return found
