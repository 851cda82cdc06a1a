"""SIGKILL the daemon while it mails the 98 municipalities, restart it, count what arrived.

The one window in which a recipient can get a notice twice is between the relay accepting a
message (its 250 after DATA) and the daemon committing `sent` for that delivery. The first test
kills outside that window and shows exactly-once; the second kills inside it and shows that the
duplicate is that one delivery and nothing else.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from dispatcher.clock import SystemClock
from dispatcher.contacts.model import Registry
from dispatcher.core.model import Trigger
from dispatcher.incidents import service
from dispatcher.mailcatcher import CatcherHandler, MailCatcher
from dispatcher.store.tables import DeliveryStatus
from tests.support.daemon import DaemonProcess, wait_for
from tests.support.incidents import notice_addresses
from tests.support.kill import KillAfterAccepting, count, finish_sending, until_killed
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
