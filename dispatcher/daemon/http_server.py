"""The daemon's HTTP server: uvicorn, accepting connections itself so that they stay within the
process's open-file limit.

uvicorn's own accept (asyncio's) takes up to `backlog` connections per turn of the event loop
before any of them is looked at, so a burst of connections can use up every file descriptor
and make the database, SMTP and log files fail with EMFILE. Here a connection is accepted only
while it fits the cap (`DISPATCHER_HTTP_MAX_CONNECTIONS`, by default the soft open-file limit
less a reserve for everything else); beyond the cap it gets a 503, and beyond those few
refusals the rest wait in the kernel's queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import resource
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import structlog
import uvicorn

from dispatcher.config import Settings
from dispatcher.http.limits import Gate, GuardedH11Protocol, Refusal

log = structlog.get_logger(__name__)

RESERVED_FILES = 96  # database pool (2-3 files a connection on SQLite), logs, listener, Python
REFUSAL_SLOTS = 32  # connections told 503 at once; beyond them new ones wait to be accepted
MIN_CONNECTIONS = 16
UNLIMITED_FILES = 65536  # what an unlimited soft limit counts as
ACCEPT_RETRY_SECONDS = 1.0
OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


@dataclass(frozen=True)
class HttpLimits:
    max_connections: int
    header_timeout: float
    body_timeout: float
    open_file_limit: int
    configured: int | None = None  # DISPATCHER_HTTP_MAX_CONNECTIONS, if set

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        files = UNLIMITED_FILES if soft == resource.RLIM_INFINITY else soft
        room = connection_room(files, settings.send_concurrency)
        wanted = settings.http_max_connections
        return cls(
            room if wanted is None else min(wanted, room),
            settings.http_header_timeout.total_seconds(),
            settings.http_body_timeout.total_seconds(),
            files,
            wanted,
        )

    def report(self, send_concurrency: int) -> None:
        """Log what was chosen, once the server starts (not when a command merely builds it)."""
        log.info(
            "http.limits",
            max_connections=self.max_connections,
            open_file_limit=self.open_file_limit,
            configured=self.configured,
            header_timeout=self.header_timeout,
            body_timeout=self.body_timeout,
        )
        reserve = RESERVED_FILES + send_concurrency + REFUSAL_SLOTS
        if self.open_file_limit - reserve < MIN_CONNECTIONS:
            log.warning(
                "http.open_file_limit_low",
                open_file_limit=self.open_file_limit,
                needed=reserve + MIN_CONNECTIONS,
                max_connections=MIN_CONNECTIONS,
            )
        if self.configured is not None and self.configured > self.max_connections:
            log.warning(
                "http.max_connections_lowered",
                configured=self.configured,
                max_connections=self.max_connections,
                reason=f"the open-file limit is {self.open_file_limit}; raise LimitNOFILE for more",
            )


def connection_room(open_files: int, send_concurrency: int) -> int:
    """The most HTTP connections that leave the reserve free: the database pool, one file per
    SMTP connection, the 503 refusals in progress, logs and the interpreter's own."""
    reserve = RESERVED_FILES + send_concurrency + REFUSAL_SLOTS
    return max(open_files - reserve, MIN_CONNECTIONS)


class HttpServer(uvicorn.Server):
    """uvicorn with its own accept loop under `HttpLimits`, and without its signal handling
    (the daemon owns SIGTERM and SIGINT)."""

    def __init__(self, config: uvicorn.Config, limits: HttpLimits, send_concurrency: int) -> None:
        super().__init__(config)
        self.limits = limits
        self._send_concurrency = send_concurrency
        self.gate: Gate | None = None
        self._acceptors: list[asyncio.Task[None]] = []
        self._connecting: set[asyncio.Task[None]] = set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # uvicorn listens on nothing; we accept
        self.limits.report(self._send_concurrency)
        self.gate = Gate(self.limits.max_connections, REFUSAL_SLOTS)
        for listener in sockets or []:
            listener.listen(self.config.backlog)
            listener.setblocking(False)
            task = asyncio.create_task(self._accept(listener, self.gate), name="http-accept")
            self._acceptors.append(task)

    async def on_tick(self, counter: int) -> bool:
        for task in self._acceptors:
            if task.done():
                task.result()  # an accept loop that failed fails the server
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for task in self._acceptors:
            task.cancel()
        await asyncio.gather(*self._acceptors, return_exceptions=True)
        await super().shutdown(sockets=sockets)

    async def _accept(self, listener: socket.socket, gate: Gate) -> None:
        """Accept while there is room: wait for the first connection, then take those already
        queued without waiting, as asyncio does, but never more than the gate lets in."""
        loop = asyncio.get_running_loop()
        while True:
            await gate.room()
            try:
                conn, _address = await loop.sock_accept(listener)
                while True:
                    self._admit(conn, gate)
                    if not gate.has_room():
                        break
                    conn, _address = listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue
            except OSError as exc:
                if exc.errno not in OUT_OF_RESOURCES:
                    raise
                log.warning("http.accept_failed", error=exc.strerror, retry_in=ACCEPT_RETRY_SECONDS)
                await asyncio.sleep(ACCEPT_RETRY_SECONDS)

    def _admit(self, conn: socket.socket, gate: Gate) -> None:
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            # asyncio sets this only on sockets made with proto IPPROTO_TCP, and ours (from
            # socket.create_server) have proto 0: without it a keep-alive client waits ~40 ms
            # per response (Nagle holding the body for the ACK the client delays).
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        served = not gate.full()
        gate.opened(served=served)
        protocol = self._protocol(gate) if served else Refusal(gate)
        task = asyncio.create_task(self._connect(conn, protocol, served, gate))
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    async def _connect(
        self, conn: socket.socket, protocol: GuardedH11Protocol | Refusal, served: bool, gate: Gate
    ) -> None:
        connected = False
        try:
            await asyncio.get_running_loop().connect_accepted_socket(lambda: protocol, conn)
            connected = True
        except OSError as exc:
            log.debug("http.connection_failed", error=str(exc))
        finally:
            if not connected:
                conn.close()
                if not protocol.made:
                    gate.closed(served=served)

    def _protocol(self, gate: Gate) -> GuardedH11Protocol:
        return GuardedH11Protocol(
            gate=gate,
            header_timeout=self.limits.header_timeout,
            body_timeout=self.limits.body_timeout,
            config=self.config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
        )
