"""Reading and refusing a request body, for every endpoint that takes signals from another
system: the size limit (declared and actually read), the JSON media type, strict JSON (no key
twice, no NaN), and `Rejection`, the 4xx (or 503) with a JSON body that names the problem."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from fastapi import Request
from fastapi.responses import JSONResponse

JSON_MEDIA_TYPE = "application/json"


class Rejection(Exception):
    """A request an intake endpoint refuses: a 4xx (or 503) with a JSON body naming the problem."""

    def __init__(
        self,
        status_code: int,
        error: str,
        detail: str,
        *,
        event_id: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(f"{error}: {detail}")
        self.status_code = status_code
        self.error = error
        self.detail = detail
        self.event_id = event_id
        self.headers = headers
        self.extra = extra

    def response(self) -> JSONResponse:
        body = {"error": self.error, "detail": self.detail, **self.extra}
        return JSONResponse(body, self.status_code, headers=self.headers)


def reject(status_code: int, error: str, detail: str, **kw: Any) -> NoReturn:
    raise Rejection(status_code, error, detail, **kw)


def too_large(limit: int) -> NoReturn:
    reject(
        413,
        "body_too_large",
        f"the body is larger than {limit} bytes",
        headers={"Connection": "close"},
        limit=limit,
    )


def check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        too_large(limit)


async def read_body(request: Request, limit: int) -> bytes:
    """Read at most `limit` bytes, whatever Content-Length said (or whether it was sent)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            too_large(limit)
    return bytes(body)


def check_content_type(request: Request) -> None:
    value = request.headers.get("content-type", "")
    media_type, *params = (part.strip() for part in value.split(";"))
    problem = None
    if media_type.lower() != JSON_MEDIA_TYPE:
        problem = f"Content-Type must be {JSON_MEDIA_TYPE}, not {media_type or 'missing'!r}"
    for param in params:
        name, _, charset = param.partition("=")
        if name.strip().lower() == "charset" and charset.strip('" ').lower() not in {
            "utf-8",
            "utf8",
        }:
            problem = f"the body must be UTF-8, not {charset.strip()!r}"
    if problem:
        reject(415, "unsupported_media_type", problem)


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKey(key)
        found[key] = value
    return found


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> Any:
    """The body as JSON, or a rejection with the parser's position.

    Stricter than RFC 8259 requires, as a signed body should be unambiguous: a key given twice
    is refused (422), as are NaN and Infinity (400)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        reject(
            400,
            "malformed_json",
            f"the body is not UTF-8: {exc.reason} at byte {exc.start}",
            position=exc.start,
        )
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        reject(
            400,
            "malformed_json",
            f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno} "
            f"(character {exc.pos})",
            line=exc.lineno,
            column=exc.colno,
            position=exc.pos,
        )
    except ValueError as exc:
        reject(400, "malformed_json", f"the body is not JSON: {exc}")
    except _DuplicateKey as exc:
        reject(
            422,
            "invalid_signal",
            f"{exc.key}: appears more than once",
            problems=[{"field": exc.key, "problem": "appears more than once"}],
        )
    except RecursionError:
        reject(400, "malformed_json", "the body is nested too deeply")
