"""SIGKILL the daemon while it sends a maintenance window's reminder wave, restart it, count what
arrived: nothing lost, and at most the one delivery in flight doubled."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dispatcher.clock import SystemClock
from dispatcher.contacts.model import Registry
from dispatcher.core.maintenance import Schedule
from dispatcher.incidents.service import Dispatch
from dispatcher.mailcatcher import MailCatcher
from dispatcher.maintenance import service
from dispatcher.store.tables import DeliveryStatus
from tests.support.daemon import DaemonProcess, wait_for
from tests.support.incidents import notice_addresses
from tests.support.kill import KillAfterAccepting, count, total, until_killed
from tests.support.mail import per_recipient

pytestmark = pytest.mark.slow


def test_kill_in_the_reminder_wave(
    dispatch: Dispatch,
    engine: Engine,
    database_url: str,
    registry: Registry,
    daemons: list[DaemonProcess],
    tmp_path: Path,
) -> None:
    addresses = notice_addresses(registry)
    # The announcement goes at once, the reminder 24 hours before the start, 2 s from now.
    handler = KillAfterAccepting(kill_at=len(addresses) + 50)
    with MailCatcher(handler) as smtp:
        now = SystemClock().now()
        start = now + timedelta(hours=24, seconds=2)
        service.schedule(
            dispatch,
            Schedule("khs@medcom.dk", start, start + timedelta(hours=4), "Opgradering."),
            now,
        )
        settings = {"claim_timeout": "2"}
        first = DaemonProcess(
            database_url=database_url,
            smtp_port=smtp.port,
            log=tmp_path / "daemon.log",
            send_concurrency="1",
            **settings,
        )
        daemons.append(first)
        until_killed(first, handler)
        assert handler.killed_for, "the daemon was killed in the reminder wave"

        second = DaemonProcess(
            database_url=database_url, smtp_port=smtp.port, log=tmp_path / "daemon.log", **settings
        )
        daemons.append(second.start())
        due = len(addresses) * 2  # the announcement and the reminder; the rest is days away
        wait_for(lambda: count(engine, DeliveryStatus.SENT) == due, what="both waves sent")
        assert second.terminate() == 0
        # The reminder 60 minutes before, "started" and "ended" are still to come.
        assert total(engine) - due == len(addresses) * 3

    counts = per_recipient(smtp.received)
    assert {a: counts[(a, "maint_announced")] for a in addresses} == dict.fromkeys(addresses, 1)
    doubled = {a for a in addresses if counts[(a, "maint_reminder")] == 2}
    assert doubled == set(handler.killed_for)
    assert len(doubled) == 1
    assert all(counts[(a, "maint_reminder")] == 1 for a in addresses if a not in doubled)
