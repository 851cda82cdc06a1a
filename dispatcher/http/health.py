"""Liveness, readiness and metrics for process supervisors and Prometheus.

- `/healthz`: the process answers HTTP. Nothing else is checked.
- `/readyz`: this replica can do its job: the database answers, its schema is at the Alembic
  head, the sender is running, and (in the daemon) no background task is waiting to be
  restarted; `tasks` shows each one's state, restarts and last error. 200 if all hold, else 503
  naming each failed check. It never raises, and says nothing secret (the driver's one-line
  message, passwords masked).
- `/metrics`: Prometheus text format, read from the database at scrape time
  (`dispatcher.metrics`). 503 if the database does not answer.

All handlers are plain `def`: their database work runs in the threadpool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from dispatcher import metrics
from dispatcher.daemon.supervise import TaskHealth, TaskState
from dispatcher.http.deps import HttpServices, services
from dispatcher.store import migrate

log = structlog.get_logger(__name__)

router = APIRouter(tags=["operations"])

NO_STORE = {"Cache-Control": "no-store"}
MAX_REASON = 300
NOT_CHECKED = "not checked: the database does not answer"


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Ready to serve: database up, schema current, sender running. 503 names what is not."""
    svc = services(request)
    engine = svc.runtime.engine
    checks: dict[str, dict[str, Any]] = {}
    database = _check_database(engine)
    checks["database"] = database
    checks["schema"] = _check_schema(engine) if database["ok"] else _failed(NOT_CHECKED)
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
        reason = _database_error(exc, svc.runtime.engine)
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


def _check_database(engine: Engine) -> dict[str, Any]:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return _failed(_database_error(exc, engine))
    return _passed()


def _check_schema(engine: Engine) -> dict[str, Any]:
    try:
        if migrate.is_current(engine):
            return _passed()
        current = migrate.current_revision(engine)
        head = migrate.head_revision(engine)
    except Exception as exc:
        return _failed(f"cannot read the schema revision: {_database_error(exc, engine)}")
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


def _database_error(exc: BaseException, engine: Engine) -> str:
    """The driver's first line, without SQL, parameters or the password."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    reason = f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__
    password = engine.url.password
    if password:
        reason = reason.replace(str(password), "***")
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1] + "…"
    return reason
