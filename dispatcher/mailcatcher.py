"""A real SMTP server on loopback that keeps what it receives: for development, demos and tests.

Each message is kept in memory and, given a folder, saved as an `.eml` file with the envelope
recipients in an added `X-Envelope-To` header. Files are numbered on from the highest number
already in the folder, and an existing file is never overwritten, so a catcher restarted on the
same folder keeps the earlier mail. It never relays anything anywhere.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

LOOPBACK = "127.0.0.1"
_SAVED = re.compile(r"(\d+)\.eml")


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
        self._numbers = itertools.count(1)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            self._numbers = itertools.count(_highest_number(folder) + 1)

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
            if self.folder is not None:
                self._save(self.folder, item)
        return "250 2.0.0 Message accepted for delivery"

    def _save(self, folder: Path, item: Received) -> None:
        """Write the file under a temporary name, then link it to the next free number: a
        link never replaces an existing file, so nothing saved earlier is overwritten."""
        header = f"X-Envelope-To: {', '.join(item.recipients)}\r\n".encode("ascii")
        tmp = folder / f".incoming-{os.getpid()}.tmp"
        tmp.write_bytes(header + item.data)
        try:
            while True:
                try:
                    os.link(tmp, folder / f"{next(self._numbers):05d}.eml")
                    return
                except FileExistsError:
                    continue
        finally:
            tmp.unlink()


def _highest_number(folder: Path) -> int:
    numbers = (_SAVED.fullmatch(p.name) for p in folder.iterdir())
    return max((int(m.group(1)) for m in numbers if m), default=0)


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
