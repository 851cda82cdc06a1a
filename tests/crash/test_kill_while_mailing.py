"""SIGKILL the daemon while it mails the 98 municipalities, restart it, count what arrived.

The one window in which a recipient can get a notice twice is between the relay accepting a
message (its 250 after DATA) and the daemon committing `sent` for that delivery. The first test
kills outside that window and shows exactly-once; the second kills inside it and shows that the
duplicate is that one delivery and nothing else.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from dispatcher.clock import SystemClock
from dispatcher.contacts.model import Registry
from dispatcher.core.model import Trigger
from dispatcher.incidents import service
from dispatcher.mailcatcher import CatcherHandler, MailCatcher
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, DeliveryStatus
from tests.support.daemon import DaemonProcess, wait_for
from tests.support.incidents import notice_addresses
from tests.support.mail import per_recipient

pytestmark = pytest.mark.slow


class GatedHandler(CatcherHandler):
    """Accepts `open_for` messages, then holds every further DATA until released; held messages
    are then refused (their client is gone) and never delivered."""

    def __init__(self, open_for: int) -> None:
        super().__init__()
        self.open_for = open_for
        self.release = threading.Event()
        self.held = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if len(self.received) >= self.open_for and not self.release.is_set():
            self.held += 1
            while not self.release.is_set():
                await asyncio.sleep(0.01)
            return "421 4.3.2 Service shutting down"
        return await super().handle_DATA(server, session, envelope)


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


def enqueue_initial(dispatch: service.Dispatch) -> None:
    service.trigger(
        dispatch,
        Trigger(actor="khs@medcom.dk", summary="FMK er nede", details="", guidance="Papir."),
        SystemClock().now(),
    )


def test_kill_outside_the_window_delivers_exactly_once(
    dispatch: service.Dispatch,
    engine: Engine,
    database_url: str,
    registry: Registry,
    daemons: list[DaemonProcess],
    tmp_path: Path,
) -> None:
    handler = GatedHandler(open_for=40)
    with MailCatcher(handler) as smtp:
        enqueue_initial(dispatch)
        first = DaemonProcess(
            database_url=database_url,
            smtp_port=smtp.port,
            log=tmp_path / "daemon.log",
            claim_timeout="2",
        )
        daemons.append(first.start())
        wait_for(lambda: handler.held > 0, what="a send to be held at the relay")
        wait_for(lambda: count(engine, DeliveryStatus.SENT) == 40, what="accepted sends recorded")
        first.kill()
        assert count(engine, DeliveryStatus.SENDING) > 0, "the kill must leave claimed rows"
        handler.release.set()
        handler.open_for = 10_000

        finish_sending(
            daemons,
            engine,
            database_url=database_url,
            smtp_port=smtp.port,
            log=tmp_path / "daemon.log",
        )

    counts = per_recipient(smtp.received)
    assert {a: counts[(a, "initial")] for a in notice_addresses(registry)} == dict.fromkeys(
        notice_addresses(registry), 1
    )
    assert sum(counts.values()) == len(notice_addresses(registry))


def test_kill_inside_the_window_doubles_only_that_delivery(
    dispatch: service.Dispatch,
    engine: Engine,
    database_url: str,
    registry: Registry,
    daemons: list[DaemonProcess],
    tmp_path: Path,
) -> None:
    handler = KillAfterAccepting(kill_at=50)
    with MailCatcher(handler) as smtp:
        enqueue_initial(dispatch)
        first = DaemonProcess(
            database_url=database_url,
            smtp_port=smtp.port,
            log=tmp_path / "daemon.log",
            claim_timeout="2",
            send_concurrency="1",
        )
        daemons.append(first)
        until_killed(first, handler)

        finish_sending(
            daemons,
            engine,
            database_url=database_url,
            smtp_port=smtp.port,
            log=tmp_path / "daemon.log",
        )

    counts = per_recipient(smtp.received)
    doubled = {a for a in notice_addresses(registry) if counts[(a, "initial")] == 2}
    assert doubled == set(handler.killed_for)
    assert len(doubled) == 1
    assert all(counts[(a, "initial")] == 1 for a in notice_addresses(registry) if a not in doubled)
