"""What a client gets when the database fails under a route: never an unhandled 500.

A database that does not answer (connection refused or lost, locked, a pool that is used up)
is a 503 with `Retry-After`: retrying later can help. Any other database error is a fault in
the dispatcher: a 500 that says so. Either is logged once, with the driver's one-line message
and without SQL, parameters or the password; a browser gets a Danish page, anyone else JSON.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from dispatcher.http.deps import services

log = structlog.get_logger(__name__)

RETRY_AFTER_S = 30
MAX_REASON = 300
UNAVAILABLE_HTML = """<!DOCTYPE html>
<html lang="da">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Midlertidigt utilgængelig – FMK-beredskab</title></head>
<body>
<h1>Midlertidigt utilgængelig</h1>
<p>Tjenesten kan ikke nå sin database lige nu. Prøv igen om et øjeblik.</p>
</body>
</html>
"""
FAULT_HTML = """<!DOCTYPE html>
<html lang="da">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fejl – FMK-beredskab</title></head>
<body>
<h1>Der opstod en fejl</h1>
<p>Tjenesten kunne ikke behandle forespørgslen. Kontakt MedCom, hvis fejlen bliver ved.</p>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Answer every database error that reaches the app as described above."""
    app.add_exception_handler(SQLAlchemyError, _store_error)


def transient(exc: BaseException) -> bool:
    """Whether the error says the database could not be reached or was busy, so that the same
    request may well work a little later."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError | PoolTimeout | DisconnectionError)


def database_error(exc: BaseException, engine: Engine) -> str:
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


def unavailable_headers() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_S), "Cache-Control": "no-store"}


def _store_error(request: Request, exc: Exception) -> Response:
    reason = database_error(exc, services(request).runtime.engine)
    fields = {"method": request.method, "path": request.url.path, "reason": reason}
    if transient(exc):
        log.warning("http.database_unavailable", **fields)
        body = {
            "error": "database_unavailable",
            "detail": f"the database does not answer ({reason}); retry in a while",
        }
        return _answer(request, 503, body, UNAVAILABLE_HTML, unavailable_headers())
    log.error("http.database_fault", **fields, exc_info=exc)
    body = {"error": "internal_error", "detail": f"a database error in the dispatcher: {reason}"}
    return _answer(request, 500, body, FAULT_HTML, {"Cache-Control": "no-store"})


def _answer(
    request: Request, status: int, body: dict[str, str], html: str, headers: dict[str, str]
) -> Response:
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(html, status, headers=headers)
    return JSONResponse(body, status, headers=headers)
