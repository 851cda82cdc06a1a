"""A real SMTP server on loopback that keeps what it receives: for development, demos and tests.

Each message is kept in memory and, given a folder, saved as an `.eml` file with the envelope
recipients in an added `X-Envelope-To` header. It never relays anything anywhere.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    envelope_from: str
    recipients: tuple[str, ...]
    data: bytes


class CatcherHandler:
    """aiosmtpd handler. Subclasses may override `verdict` to answer with an error instead."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.received: list[Received] = []
        self._lock = threading.Lock()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def verdict(self, envelope_from: str, recipients: tuple[str, ...], data: bytes) -> str | None:
        """None to accept the message, or an SMTP reply such as '451 try later' to refuse it."""
        return None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        recipients = tuple(envelope.rcpt_tos)
        data = bytes(envelope.original_content or envelope.content)
        refusal = self.verdict(envelope.mail_from, recipients, data)
        if refusal is not None:
            return refusal
        item = Received(envelope.mail_from, recipients, data)
        with self._lock:
            self.received.append(item)
            number = len(self.received)
        if self.folder is not None:
            self._save(number, item)
        return "250 2.0.0 Message accepted for delivery"

    def _save(self, number: int, item: Received) -> None:
        assert self.folder is not None
        header = f"X-Envelope-To: {', '.join(item.recipients)}\r\n".encode("ascii")
        path = self.folder / f"{number:05d}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(header + item.data)
        os.replace(tmp, path)


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on right now (aiosmtpd cannot be given port 0)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class MailCatcher:
    """Runs a `CatcherHandler` in its own thread; use as a context manager."""

    def __init__(
        self, handler: CatcherHandler | None = None, *, host: str = LOOPBACK, port: int = 0
    ) -> None:
        self.handler = handler or CatcherHandler()
        self.host = host
        self.port = port or free_port(host)
        self._controller = Controller(
            self.handler, hostname=host, port=self.port, server_hostname="mailcatcher.localhost"
        )

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> MailCatcher:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> MailCatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
