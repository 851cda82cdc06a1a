"""A heartbeat's answer and its record (signals.durability, docs/delivery-guarantees.md, "SDS
signals"): committed and visible before the answer, so a repeat is a duplicate at once and
ever after; a beat that pages nobody commits without waiting for the disk and is flushed
within the stated window; everything else is on disk before its answer, as before."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from dispatcher.config import Settings
from dispatcher.incidents.service import Dispatch
from dispatcher.signals import durability, heartbeat
from dispatcher.signals.model import Severity, Signal, SignalKind, SignalOutcome
from dispatcher.signals.service import receive_signal
from dispatcher.store.db import is_sqlite, transaction
from dispatcher.store.tables import MonitorRow
from tests.support.clock import FakeClock

WINDOW = timedelta(minutes=10)
FLUSHED = durability.SQLITE_FLUSH_WITHIN.total_seconds() + 0.5


def beat(event_id: str) -> Signal:
    return Signal(event_id=event_id, kind=SignalKind.HEARTBEAT)


class Commits:
    """How the transaction of each signal handled now would commit, seen from inside it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, session: Session, _outcome: SignalOutcome) -> None:
        if is_sqlite(session.get_bind().engine):
            level = session.execute(text("PRAGMA synchronous")).scalar()
            self.seen.append({1: "normal", 2: "full"}[int(level or 0)])
        else:
            self.seen.append(str(session.execute(text("SHOW synchronous_commit")).scalar()))


def receive(
    dispatch: Dispatch, settings: Settings, signal: Signal, now: datetime, commits: Commits
) -> SignalOutcome:
    return receive_signal(
        dispatch, signal, body_sha256=signal.event_id, now=now, settings=settings, also=commits
    )


def last_seen(engine: Engine) -> datetime | None:
    with transaction(engine) as session:
        row = session.get(MonitorRow, heartbeat.MONITOR)
        return row.last_seen_at if row is not None else None


class TestAPlainBeat:
    """A beat on a running watch that ended no loss moves the watch, and only its wait for the
    disk is gone."""

    def test_a_repeat_is_a_duplicate_at_once_and_after_the_flush(
        self, dispatch: Dispatch, settings: Settings, clock: FakeClock
    ) -> None:
        commits = Commits()
        receive(dispatch, settings, beat("hb-1"), clock.now(), commits)
        first = receive(dispatch, settings, beat("hb-2"), clock.now(), commits)
        assert (first.status_code, first.body) == (200, {"action": "heartbeat", "resumed": False})
        at_once = receive(dispatch, settings, beat("hb-2"), clock.now(), commits)
        assert at_once.body == {"action": "heartbeat", "resumed": False, "duplicate": True}
        time.sleep(FLUSHED)
        later = receive(dispatch, settings, beat("hb-2"), clock.now(), commits)
        assert later == at_once

    def test_it_commits_lazily_and_is_flushed_within_the_window(
        self, dispatch: Dispatch, settings: Settings, clock: FakeClock, engine: Engine
    ) -> None:
        commits = Commits()
        receive(dispatch, settings, beat("hb-1"), clock.now(), commits)
        flusher = durability.flusher(engine)
        flushed = flusher.flushes
        receive(dispatch, settings, beat("hb-2"), clock.now(), commits)
        if not is_sqlite(engine):  # PostgreSQL's WAL writer flushes it
            assert commits.seen == ["on", "off"]
            return
        assert commits.seen == ["normal", "normal"]
        assert flusher.pending
        time.sleep(FLUSHED)
        assert not flusher.pending
        assert flusher.flushes == flushed + 1

    def test_it_moves_the_watch(
        self, dispatch: Dispatch, settings: Settings, clock: FakeClock, engine: Engine
    ) -> None:
        commits = Commits()
        receive(dispatch, settings, beat("hb-1"), clock.now(), commits)
        clock.advance(timedelta(minutes=8))
        receive(dispatch, settings, beat("hb-2"), clock.now(), commits)
        assert last_seen(engine) == clock.now()
        clock.advance(timedelta(minutes=4))
        assert not heartbeat.check(dispatch, clock.now(), WINDOW)


class TestWhatMustBeOnDiskFirst:
    """An outage, and a beat that queues a page, are on disk before their answer."""

    def test_an_outage_commits_durably(
        self, dispatch: Dispatch, settings: Settings, clock: FakeClock
    ) -> None:
        commits = Commits()
        outage = Signal(
            event_id="down-1", kind=SignalKind.OUTAGE, severity=Severity.DOWN, summary="FMK nede"
        )
        opened = receive(dispatch, settings, outage, clock.now(), commits)
        assert opened.status_code == 201
        assert commits.seen == ["full" if is_sqlite(dispatch.engine) else "on"]

    def test_the_beat_that_ends_a_loss_is_synced_before_its_answer(
        self, dispatch: Dispatch, settings: Settings, clock: FakeClock, engine: Engine
    ) -> None:
        commits = Commits()
        receive(dispatch, settings, beat("hb-1"), clock.now(), commits)
        clock.advance(WINDOW + timedelta(minutes=1))
        assert heartbeat.check(dispatch, clock.now(), WINDOW)
        flusher = durability.flusher(engine)
        time.sleep(FLUSHED)
        flushed = flusher.flushes
        back = receive(dispatch, settings, beat("hb-2"), clock.now(), commits)
        assert back.body == {"action": "heartbeat", "resumed": True}
        if not is_sqlite(engine):
            assert commits.seen[-1] == "on"
            return
        assert flusher.flushes == flushed + 1
        assert not flusher.pending


@pytest.mark.parametrize("kind", [SignalKind.UPDATE, SignalKind.RESOLVED])
def test_other_signals_commit_durably(
    dispatch: Dispatch, settings: Settings, clock: FakeClock, kind: SignalKind
) -> None:
    commits = Commits()
    ignored = receive(dispatch, settings, Signal("e-1", kind, summary="x"), clock.now(), commits)
    assert ignored.status_code == 202
    assert commits.seen == ["full" if is_sqlite(dispatch.engine) else "on"]
