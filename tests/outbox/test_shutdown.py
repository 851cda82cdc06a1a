"""On SIGTERM the sender finishes the transaction under way and hands back what it had claimed
but not started, so a restart (or another replica) sends it at once instead of after the claim
timeout."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import structlog
from sqlalchemy import Engine, func, select
from sqlmodel import col

from dispatcher.config import Settings
from dispatcher.incidents import service
from dispatcher.mailcatcher import CatcherHandler, MailCatcher
from dispatcher.outbox.sender import Sender
from dispatcher.store.db import make_engine, transaction
from dispatcher.store.tables import DeliveryRow, DeliveryStatus
from tests.support.clock import FakeClock
from tests.support.incidents import fmk_down


class SlowRelay(CatcherHandler):
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(0.2)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp_handler() -> CatcherHandler:
    return SlowRelay()


def by_status(engine: Engine) -> dict[str, int]:
    with transaction(engine) as session:
        rows = session.execute(
            select(col(DeliveryRow.status), func.count()).group_by(col(DeliveryRow.status))
        ).all()
    return {status: count for status, count in rows}


def attempts_of_pending(engine: Engine) -> set[int]:
    with transaction(engine) as session:
        return set(
            session.scalars(
                select(col(DeliveryRow.attempts)).where(
                    col(DeliveryRow.status) == DeliveryStatus.PENDING
                )
            )
        )


async def test_stop_hands_back_unstarted_claims(
    dispatch: service.Dispatch,
    engine: Engine,
    settings: Settings,
    clock: FakeClock,
    smtp: MailCatcher,
) -> None:
    service.trigger(dispatch, fmk_down(), clock.now())
    sender = Sender(engine, settings.model_copy(update={"send_concurrency": 1}), clock)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    while not smtp.received:
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(running, timeout=10)

    counts = by_status(engine)
    sent = len(smtp.received)
    assert counts == {"sent": sent, "pending": 101 - sent}
    assert 1 <= sent <= 2
    assert attempts_of_pending(engine) == {0}


async def test_the_sender_waits_out_a_database_that_is_away(settings: Settings) -> None:
    """A database restart or failover must not kill the sender (and with it the daemon)."""
    away = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    sender = Sender(away, settings, FakeClock())
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    with structlog.testing.capture_logs() as logs:
        await asyncio.sleep(0.5)
        assert not running.done()
        stop.set()
        await asyncio.wait_for(running, timeout=10)
    away.dispose()
    assert any(e["event"] == "sender.database_unavailable" for e in logs)
