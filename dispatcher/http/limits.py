"""Limits that keep slow, idle and too many clients from exhausting the process.

uvicorn has no deadline for reading a request and counts connections only once a request's
headers have arrived (`limit_concurrency`), after the file descriptor is taken. Here:

- `Gate` counts open connections (from accept to close); the server accepts the next one only
  while there is room.
- `GuardedH11Protocol` is uvicorn's h11 protocol with a deadline for each request's headers:
  late headers get a 408 and the connection is closed (an idle connection is just closed).
- `Refusal` answers a connection beyond the cap with a 503 at once and lets it go.
- `BodyDeadline` (ASGI) gives the whole request body a deadline once the headers are in: late,
  the client gets a 408 and the connection is closed. A client gone before its body arrived
  is not reported as an error of the application (nobody is left to answer).
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any

import h11
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

log = structlog.get_logger(__name__)

REFUSAL_LINGER = 0.25  # seconds a refused client has to read the 503 before it is closed
CLEARED_BELOW = 0.9  # the cap counts as cleared again below this share of it
RETRY_AFTER_SECONDS = 5


def canned_response(
    status: HTTPStatus, error: str, detail: str, headers: tuple[str, ...] = ()
) -> bytes:
    """A complete HTTP/1.1 response that closes the connection, with a JSON error body."""
    body = json.dumps({"error": error, "detail": detail}).encode()
    head = [
        f"HTTP/1.1 {status.value} {status.phrase}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        *headers,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body


class Gate:
    """Open connections: `served` up to `cap`, then `refusing` (being told 503) up to `spare`."""

    def __init__(self, cap: int, spare: int) -> None:
        self.cap = cap
        self.spare = spare
        self.served = 0
        self.refusing = 0
        self.refused = 0  # since the cap was last reached
        self._freed = asyncio.Event()

    def full(self) -> bool:
        return self.served >= self.cap

    def has_room(self) -> bool:
        """Whether one more connection, served or refused, fits."""
        return self.served + self.refusing < self.cap + self.spare

    async def room(self) -> None:
        """Return once one more connection fits."""
        while not self.has_room():
            self._freed.clear()
            await self._freed.wait()

    def opened(self, *, served: bool) -> None:
        if served:
            self.served += 1
            return
        self.refusing += 1
        self.refused += 1
        if self.refused == 1:
            log.warning("http.connection_cap_reached", cap=self.cap)

    def closed(self, *, served: bool) -> None:
        if served:
            self.served -= 1
        else:
            self.refusing -= 1
        self._freed.set()
        if self.refused and self.served < self.cap * CLEARED_BELOW:
            log.info("http.connection_cap_cleared", cap=self.cap, refused=self.refused)
            self.refused = 0


class Refusal(asyncio.Protocol):
    """A connection beyond the cap: a 503 now, input read and dropped, closed when the client
    closes or after `REFUSAL_LINGER` (closing with unread input would reset the connection and
    could destroy the 503 before the client reads it)."""

    RESPONSE = canned_response(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "too_many_connections",
        "the dispatcher has as many connections open as it allows; retry shortly",
        (f"retry-after: {RETRY_AFTER_SECONDS}",),
    )

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.made = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.made = True
        transport.write(self.RESPONSE)
        if transport.is_closing():  # the client has gone already
            return
        try:
            transport.write_eof()
        except OSError:
            transport.close()
            return
        self._timer = asyncio.get_running_loop().call_later(REFUSAL_LINGER, transport.close)

    def data_received(self, data: bytes) -> None:
        return

    def eof_received(self) -> bool:
        return False  # the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.gate.closed(served=False)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, counted by the gate, with a deadline for each request's headers.

    The deadline runs from the connection's start, and on a kept-alive connection from the
    first byte of each further request, until an application call for that request is under
    way (its body then has `BodyDeadline`). A client that sent part of a request by then gets
    a 408; a new connection that sent nothing is just closed. Between requests the connection
    is idle, and uvicorn's keep-alive timeout (`DISPATCHER_HTTP_KEEPALIVE`) closes it: were the
    header deadline to close idle connections, it would be a keep-alive timeout of its own,
    shorter than the clients', and they would meet the close (issue #16).
    """

    REQUEST_TIMEOUT = canned_response(
        HTTPStatus.REQUEST_TIMEOUT,
        "request_timeout",
        "the request headers did not arrive in time; send the whole request at once",
    )

    def __init__(
        self,
        *,
        gate: Gate,
        header_timeout: float,
        body_timeout: float,
        **uvicorn_arguments: Any,
    ) -> None:
        super().__init__(**uvicorn_arguments)
        self.app = BodyDeadline(self.app, body_timeout)
        self.gate = gate
        self.made = False
        self.header_timeout = header_timeout
        self._deadline: asyncio.TimerHandle | None = None
        self._heard = False  # some bytes of the awaited request have arrived
        self._idle = False  # kept alive between requests: the next byte starts the deadline

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.made = True
        self._await_request()

    def data_received(self, data: bytes) -> None:
        if self._idle:
            self._idle = False
            self._await_request()
        if self._deadline is not None:
            self._heard = True
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        running = self.cycle is not None and not self.cycle.response_complete
        if self._deadline is not None and running and self.conn.their_state is not h11.IDLE:
            self._cancel_deadline()

    def on_response_complete(self) -> None:
        self._cancel_deadline()
        self._idle = True
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)
        self.gate.closed(served=True)

    def _await_request(self) -> None:
        self._cancel_deadline()
        self._heard = False
        self._deadline = self.loop.call_later(self.header_timeout, self._too_late)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_late(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        partial = self._heard and self.conn.their_state is h11.IDLE
        if partial:
            self.transport.write(self.REQUEST_TIMEOUT)
        log.debug("http.header_timeout", client=self.client, partial=partial)
        self.transport.close()


class BodyDeadline:
    """ASGI middleware: the whole request body must arrive within `timeout` seconds of the
    call. Late, the client gets a 408 (if no response has started) and the connection closes.
    Either way, once the body cannot come the application sees the client disconnect, and the
    exception it raises about that is not reported."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _TimedBody(receive, send, asyncio.get_running_loop().time() + self.timeout)
        try:
            await self.app(scope, body.receive, body.send)
        except Exception as exc:
            if not (body.timed_out or body.abandoned):
                raise
            log.debug("http.request_abandoned", timed_out=body.timed_out, error=repr(exc))


class _TimedBody:
    RESPONSE_HEADERS = ((b"content-type", b"application/json"), (b"connection", b"close"))
    RESPONSE_BODY = json.dumps(
        {
            "error": "request_timeout",
            "detail": "the request body did not arrive in time; send the whole request at once",
        }
    ).encode()

    def __init__(self, receive: Receive, send: Send, deadline: float) -> None:
        self._receive = receive
        self._send = send
        self.deadline = deadline
        self.complete = False
        self.responded = False
        self.timed_out = False
        self.abandoned = False  # the client went away before its body had come

    async def receive(self) -> Message:
        if self.complete or self.timed_out:
            return await self._receive()
        try:
            async with asyncio.timeout_at(self.deadline):
                message = await self._receive()
        except TimeoutError:
            self.timed_out = True
            log.debug("http.body_timeout")
            if not self.responded:
                await self._respond()
            return {"type": "http.disconnect"}
        if message["type"] == "http.request" and not message.get("more_body", False):
            self.complete = True
        elif message["type"] == "http.disconnect":
            self.abandoned = True
        return message

    async def send(self, message: Message) -> None:
        if self.timed_out:
            return
        if message["type"] == "http.response.start":
            self.responded = True
        await self._send(message)

    async def _respond(self) -> None:
        self.responded = True
        status = HTTPStatus.REQUEST_TIMEOUT.value
        headers = [*self.RESPONSE_HEADERS, (b"content-length", b"%d" % len(self.RESPONSE_BODY))]
        await self._send({"type": "http.response.start", "status": status, "headers": headers})
        await self._send({"type": "http.response.body", "body": self.RESPONSE_BODY})
