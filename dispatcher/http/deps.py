"""What the HTTP handlers need, put on `app.state` by `create_app` and read per request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from dispatcher.clock import Clock
from dispatcher.runtime import Runtime


@dataclass(frozen=True)
class HttpServices:
    runtime: Runtime
    clock: Clock
    sender_alive: Callable[[], bool]
    leading: Callable[[], bool] = lambda: True


def services(request: Request) -> HttpServices:
    found = request.app.state.services
    assert isinstance(found, HttpServices)
    return found
