"""The HTTP app served by `dispatcher serve`: SDS's webhook, acknowledgement links, health, and
the municipalities' status page."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import FastAPI

from dispatcher import __version__
from dispatcher.clock import Clock
from dispatcher.daemon.supervise import TaskHealth
from dispatcher.http import (
    ack,
    alertmanager,
    errors,
    health,
    maintenance_feed,
    pagerduty,
    receipts,
    sms,
    status,
    webhook,
)
from dispatcher.http.deps import HttpServices
from dispatcher.runtime import Runtime


def create_app(
    runtime: Runtime,
    clock: Clock,
    *,
    sender_alive: Callable[[], bool] = lambda: True,
    leading: Callable[[], bool] = lambda: True,
    tasks: Callable[[], Mapping[str, TaskHealth]] = dict,
    wake_senders: Callable[[], None] = lambda: None,
) -> FastAPI:
    app = FastAPI(title="FMK outage dispatcher", version=__version__)
    app.state.services = HttpServices(runtime, clock, sender_alive, leading, tasks, wake_senders)
    app.state.status_last_good = status.LastGood()
    errors.install(app)
    app.include_router(health.router)
    app.include_router(ack.router)
    app.include_router(receipts.router)
    app.include_router(webhook.router)
    app.include_router(status.router)
    app.include_router(sms.router)
    app.include_router(maintenance_feed.router)
    app.include_router(alertmanager.router)
    app.include_router(pagerduty.router)
    return app
