"""SIGKILL the daemon in the middle of the reminder wave, restart it, count the reminders: none
lost, none sent to a municipality that confirmed, at most the one in flight doubled, and the
wave is queued once (its timer is cleared in the transaction that queues it)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update
from sqlmodel import col

from dispatcher.clock import SystemClock
from dispatcher.contacts.model import Registry
from dispatcher.core.model import Policy
from dispatcher.incidents import service
from dispatcher.mailcatcher import MailCatcher
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, DeliveryStatus, NoticeRow, ReceiptRow
from tests.support.daemon import DaemonProcess
from tests.support.incidents import fmk_down
from tests.support.kill import KillAfterAccepting, finish_sending, until_killed
from tests.support.mail import per_recipient

pytestmark = pytest.mark.slow


def informed_half_an_hour_ago(dispatch: service.Dispatch, registry: Registry) -> set[str]:
    """An incident whose initial notice went out 31 minutes ago and was delivered; every
    other municipality confirmed. The addresses of the silent half."""
    now = SystemClock().now()
    number, _ = service.trigger(dispatch, fmk_down(), now - timedelta(minutes=31))
    with transaction(dispatch.engine) as session:
        session.execute(update(DeliveryRow).values(status=DeliveryStatus.SENT, finished_at=now))
        for m in registry.municipalities[::2]:
            session.add(
                ReceiptRow(
                    incident_id=number,
                    municipality_code=m.code,
                    confirmed_at=now,
                    link_issued_at=now,
                )
            )
    return {e for m in registry.municipalities[1::2] for e in m.emails}


def reminder_waves(engine: Engine) -> int:
    with transaction(engine) as session:
        return (
            session.scalar(
                select(func.count()).select_from(NoticeRow).where(col(NoticeRow.kind) == "reminder")
            )
            or 0
        )


def test_kill_during_the_reminder_wave(
    dispatch: service.Dispatch,
    engine: Engine,
    database_url: str,
    registry: Registry,
    daemons: list[DaemonProcess],
    tmp_path: Path,
) -> None:
    following = service.Dispatch(
        engine=dispatch.engine,
        registry=dispatch.registry,
        renderer=dispatch.renderer,
        policy=Policy(),
        standard_guidance=dispatch.standard_guidance,
    )
    silent = informed_half_an_hour_ago(following, registry)
    handler = KillAfterAccepting(kill_at=20)
    with MailCatcher(handler) as smtp:
        first = DaemonProcess(
            database_url=database_url,
            smtp_port=smtp.port,
            log=tmp_path / "daemon.log",
            claim_timeout="2",
            send_concurrency="1",
        )
        daemons.append(first)
        until_killed(first, handler)
        assert handler.killed_for, "the kill must fall inside the reminder wave"
        finish_sending(
            daemons,
            engine,
            database_url=database_url,
            smtp_port=smtp.port,
            log=tmp_path / "daemon.log",
        )

    reminders = {
        a: n for (a, kind), n in per_recipient(smtp.received).items() if kind == "reminder"
    }
    assert set(reminders) == silent, "every silent municipality reminded, nobody else"
    doubled = {a for a, n in reminders.items() if n > 1}
    assert doubled <= set(handler.killed_for)
    assert len(doubled) <= 1
    assert reminder_waves(engine) == 1
