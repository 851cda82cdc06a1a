"""What the kill tests share: a relay that SIGKILLs the daemon as it accepts message N, the
daemon started until that kill, a second daemon that finishes the sending, and counts."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import col

from dispatcher.mailcatcher import CatcherHandler
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, DeliveryStatus
from tests.support.daemon import DaemonProcess, wait_for


class KillAfterAccepting(CatcherHandler):
    """Records message number `kill_at`, then SIGKILLs the daemon before answering 250."""

    def __init__(self, kill_at: int) -> None:
        super().__init__()
        self.kill_at = kill_at
        self.pid: int | None = None
        self.killed_for: tuple[str, ...] = ()

    def verdict(self, envelope_from: str, recipients: tuple[str, ...], data: bytes) -> str | None:
        if len(self.received) + 1 == self.kill_at and self.pid is not None and not self.killed_for:
            self.killed_for = recipients
            os.kill(self.pid, signal.SIGKILL)
        return None


def count(engine: Engine, status: DeliveryStatus) -> int:
    with transaction(engine) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(DeliveryRow)
                .where(col(DeliveryRow.status) == status)
            )
            or 0
        )


def total(engine: Engine) -> int:
    with transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(DeliveryRow)) or 0


def until_killed(first: DaemonProcess, handler: KillAfterAccepting) -> None:
    """Start `first` and wait until `handler` has killed it in the middle of a send."""
    handler.pid = None
    started = threading.Thread(target=first.start)
    started.start()
    wait_for(lambda: first.process is not None, what="the daemon process")
    handler.pid = first.pid
    wait_for(
        lambda: first.process is not None and first.process.poll() is not None, what="the kill"
    )
    started.join()


def finish_sending(
    daemons: list[DaemonProcess], engine: Engine, *, database_url: str, smtp_port: int, log: Path
) -> None:
    """Start a second daemon, let it send every delivery, stop it cleanly."""
    second = DaemonProcess(
        database_url=database_url, smtp_port=smtp_port, log=log, claim_timeout="2"
    )
    daemons.append(second.start())
    wait_for(lambda: count(engine, DeliveryStatus.SENT) == total(engine), what="all sent")
    assert second.terminate() == 0
