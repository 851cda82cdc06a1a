"""The sender is woken when deliveries are queued, not found at its next look: in this process
by the commit itself, from another process by PostgreSQL's NOTIFY or SQLite's data_version.

The looks the sender would take on its own are pushed out to a minute here, so a sender that
was not woken would miss the few seconds each test allows."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from dispatcher.clock import SystemClock
from dispatcher.config import Settings
from dispatcher.incidents import service
from dispatcher.mailcatcher import MailCatcher
from dispatcher.outbox import sender as sender_module
from dispatcher.outbox import watch
from dispatcher.outbox.sender import Sender
from tests.cli.conftest import env_for
from tests.support.incidents import fmk_down

MINUTE = timedelta(minutes=1)
WOKEN_WITHIN = 5.0  # seconds, on a loaded machine; the looks it would take itself are a minute


@pytest.fixture
def slow_looks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sender_module, "IDLE_POLL", MINUTE)
    monkeypatch.setattr(sender_module, "RESCAN", MINUTE)


@pytest.fixture
async def running(engine: Engine, settings: Settings) -> AsyncIterator[Sender]:
    """A sender in its loop on the wall clock, idle: it has looked and found nothing."""
    sender = Sender(engine, settings, SystemClock())
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    await asyncio.sleep(0.5)
    yield sender
    stop.set()
    await asyncio.wait_for(task, timeout=20)


async def first_mail_within(smtp: MailCatcher, seconds: float) -> float:
    began = time.monotonic()
    while not smtp.received:
        assert time.monotonic() - began < seconds, f"no mail within {seconds} s"
        await asyncio.sleep(0.01)
    return time.monotonic() - began


@pytest.mark.usefixtures("slow_looks")
async def test_a_notice_committed_in_this_process_wakes_the_sender(
    running: Sender, dispatch: service.Dispatch, smtp: MailCatcher
) -> None:
    """As the webhook, the acknowledgement page and the scheduler's tick do: in a worker
    thread."""
    await asyncio.to_thread(service.trigger, dispatch, fmk_down(), SystemClock().now())
    await first_mail_within(smtp, WOKEN_WITHIN)


@pytest.mark.usefixtures("slow_looks")
async def test_a_notice_committed_by_the_cli_wakes_the_sender(
    running: Sender, monkeypatch: pytest.MonkeyPatch, database_url: str, smtp: MailCatcher
) -> None:
    """Another process: PostgreSQL's NOTIFY; on SQLite, the data_version poll (0.2 s)."""
    assert timedelta(seconds=1) > watch.SQLITE_POLL
    env = {k: v for k, v in {**os.environ, **env_for(database_url, smtp.port)}.items() if v}
    command = [sys.executable, "-m", "dispatcher", "incident", "trigger", "--summary", "FMK nede"]
    done = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    await first_mail_within(smtp, WOKEN_WITHIN)
