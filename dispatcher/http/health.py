"""Liveness, readiness and metrics for process supervisors and Prometheus.

- `/healthz`: the process answers HTTP. Nothing else is checked.
- `/readyz`: this replica can do its job: the database answers, its schema is at the Alembic
  head, the sender is running, and (in the daemon) no background task is waiting to be
  restarted; `tasks` shows each one's state, restarts and last error. 200 if all hold, else 503
  naming each failed check. `relay` says whether the mail relay takes mail (since when it
  fails, its last reply, the deliveries waiting); a failing relay does not make the replica
  unready: it keeps taking SDS's signals and queues what cannot be sent yet. It never
  raises, and says nothing secret (the driver's one-line message, passwords masked). It
  answers within a second: its queries are read-only (no wait for another process's write
  lock) and give up after `PROBE_TIMEOUT_MS`, and a database that has not answered by
  `READY_DEADLINE_S` (a pool that is used up, a server that does not answer the connection)
  is reported as such.
- `/metrics`: Prometheus text format, read from the database at scrape time
  (`dispatcher.metrics`). 503 if the database does not answer.

The handlers' database work runs in the threadpool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import anyio
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from dispatcher.daemon.supervise import TaskHealth, TaskState
from dispatcher.http.deps import HttpServices, services
from dispatcher.http.errors import database_error
from dispatcher.metrics import collector as metrics
from dispatcher.outbox import relay
from dispatcher.store import schema
from dispatcher.store.db import probe

log = structlog.get_logger(__name__)

router = APIRouter(tags=["operations"])

NO_STORE = {"Cache-Control": "no-store"}
NOT_CHECKED = "not checked: the database does not answer"
PROBE_TIMEOUT_MS = 500
READY_DEADLINE_S = 0.8


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: database up, schema current, sender running. 503 names what is not."""
    svc = services(request)
    checks, mail_relay = await _check_store(svc.runtime.engine)
    checks["sender"] = _check_sender(svc.sender_alive)
    tasks = svc.tasks()
    if tasks:
        checks["tasks"] = _check_tasks(tasks)
    ready = all(check["ok"] for check in checks.values())
    body: dict[str, Any] = {
        "status": "ready" if ready else "not_ready",
        "leader": _leading(svc),
        "checks": checks,
    }
    if mail_relay is not None:
        body["relay"] = mail_relay
    if tasks:
        body["tasks"] = {name: health.as_json() for name, health in tasks.items()}
    return JSONResponse(
        body,
        status_code=200 if ready else 503,
        headers=NO_STORE,
    )


@router.get("/metrics")
def metrics_endpoint(request: Request) -> Response:
    """Prometheus metrics; every replica reports the same values, read from the database."""
    svc = services(request)
    registry = metrics.make_registry(
        svc.runtime.engine, svc.clock, svc.sender_alive, lambda: _leading(svc), svc.tasks
    )
    try:
        body = metrics.exposition(registry)
    except SQLAlchemyError as exc:
        reason = database_error(exc, svc.runtime.engine)
        log.warning(
            "metrics.unavailable",
            database=svc.runtime.engine.url.render_as_string(hide_password=True),
            reason=reason,
        )
        return Response(
            f"metrics unavailable: {reason}\n",
            status_code=503,
            media_type="text/plain; charset=utf-8",
            headers=NO_STORE,
        )
    return Response(body, media_type=metrics.CONTENT_TYPE, headers=NO_STORE)


def _leading(svc: HttpServices) -> bool:
    """Whether this replica leads; a standby is ready to serve HTTP all the same."""
    try:
        return bool(svc.leading())
    except Exception:
        return False


def _passed() -> dict[str, Any]:
    return {"ok": True}


def _failed(reason: str) -> dict[str, Any]:
    return {"ok": False, "reason": reason}


Checks = dict[str, dict[str, Any]]


async def _check_store(engine: Engine) -> tuple[Checks, dict[str, object] | None]:
    """The `database` and `schema` checks and the relay's health (None if it cannot be
    read), given up on after `READY_DEADLINE_S`. The worker thread is left to finish on its
    own: its queries end within `PROBE_TIMEOUT_MS`."""
    with anyio.move_on_after(READY_DEADLINE_S):
        return await anyio.to_thread.run_sync(_probe_store, engine, abandon_on_cancel=True)
    reason = f"no answer within {READY_DEADLINE_S:g} s"
    return {"database": _failed(reason), "schema": _failed(NOT_CHECKED)}, None


def _probe_store(engine: Engine) -> tuple[Checks, dict[str, object] | None]:
    checks = {"database": _passed(), "schema": _failed(NOT_CHECKED)}
    try:
        with probe(engine, PROBE_TIMEOUT_MS) as conn:
            conn.execute(text("SELECT 1"))
            try:
                current = schema.current_revision(conn)
            except Exception as exc:
                reason = f"cannot read the schema revision: {database_error(exc, engine)}"
                checks["schema"] = _failed(reason)
                return checks, None
            checks["schema"] = _check_schema(current)
            found = relay.read(conn).as_json() if checks["schema"]["ok"] else None
    except Exception as exc:
        checks["database"] = _failed(database_error(exc, engine))
        return checks, None
    return checks, found


def _check_schema(current: str | None) -> dict[str, Any]:
    head = schema.HEAD
    if current == head:
        return _passed()
    found = f"at revision {current}" if current else "not migrated (no Alembic revision)"
    return _failed(f"the schema is {found}, the code needs {head}; run `dispatcher db upgrade`")


def _check_sender(sender_alive: Callable[[], bool]) -> dict[str, Any]:
    try:
        alive = bool(sender_alive())
    except Exception as exc:
        return _failed(f"cannot tell whether the sender runs: {type(exc).__name__}")
    return _passed() if alive else _failed("the sender is not running")


def _check_tasks(tasks: Mapping[str, TaskHealth]) -> dict[str, Any]:
    restarting = [
        f"{name} restarting since {health.since.isoformat()} after {health.last_error}"
        for name, health in tasks.items()
        if health.state is TaskState.RESTARTING
    ]
    return _failed("; ".join(restarting)) if restarting else _passed()
