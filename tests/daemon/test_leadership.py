"""Leadership: one lease, taken when free or expired, renewed by its holder, fencing claims."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from dispatcher.cli.app import app
from dispatcher.clock import SystemClock
from dispatcher.core.maintenance import Schedule
from dispatcher.daemon import leadership
from dispatcher.daemon.leadership import TTL, SecondDaemon, SqliteLock
from dispatcher.daemon.replicas import register
from dispatcher.incidents import service
from dispatcher.maintenance import service as maintenance
from dispatcher.outbox import queue
from dispatcher.store.db import make_engine
from dispatcher.store.migrate import upgrade
from tests.conftest import CONTACTS, TEMPLATES
from tests.support.clock import FakeClock
from tests.support.incidents import fmk_down

KHS = "khs@medcom.dk"

SEC = timedelta(seconds=1)


class TestLease:
    def test_first_comer_leads_and_others_wait_for_expiry(
        self, engine: Engine, clock: FakeClock
    ) -> None:
        a = leadership.acquire(engine, "a", clock.now(), began=0.0)
        assert a is not None
        assert a.epoch == 1
        assert leadership.acquire(engine, "b", clock.now() + TTL - SEC, began=0.0) is None
        b = leadership.acquire(engine, "b", clock.now() + TTL, began=0.0)
        assert b is not None
        assert b.epoch == 2

    def test_renewal_keeps_it_and_a_deposed_leader_cannot_renew(
        self, engine: Engine, clock: FakeClock
    ) -> None:
        a = leadership.acquire(engine, "a", clock.now(), began=0.0)
        assert a is not None
        renewed = leadership.renew(engine, a, clock.now() + TTL - SEC, began=0.0)
        assert renewed is not None
        assert leadership.acquire(engine, "b", clock.now() + TTL + SEC, began=0.0) is None
        late = clock.now() + 3 * TTL
        assert leadership.acquire(engine, "b", late, began=0.0) is not None
        assert leadership.renew(engine, renewed, late, began=0.0) is None

    def test_resign_frees_it_at_once(self, engine: Engine, clock: FakeClock) -> None:
        a = leadership.acquire(engine, "a", clock.now(), began=0.0)
        assert a is not None
        leadership.resign(engine, a)
        b = leadership.acquire(engine, "b", clock.now(), began=0.0)
        assert b is not None
        assert b.epoch == 2

    def test_the_leaders_own_view_ends_before_the_lease(self) -> None:
        lease = leadership.Lease("a", 1, began=100.0)
        margin = (TTL - leadership.RENEW).total_seconds()
        assert lease.valid(100.0 + margin - 1)
        assert not lease.valid(100.0 + margin)

    def test_a_lease_that_ran_out_but_nobody_took_is_renewed(
        self, engine: Engine, clock: FakeClock
    ) -> None:
        a = leadership.acquire(engine, "a", clock.now(), began=0.0)
        assert a is not None
        renewed = leadership.renew(engine, a, clock.now() + 3 * TTL, began=30.0)
        assert renewed == leadership.Lease("a", a.epoch, began=30.0)
        assert leadership.acquire(engine, "b", clock.now() + 3 * TTL + SEC, began=0.0) is None


class TestFencedClaims:
    """A deposed leader claims nothing, even before it notices it was deposed."""

    def test_claims_need_the_current_epoch(
        self, engine: Engine, clock: FakeClock, dispatch: service.Dispatch
    ) -> None:
        service.trigger(dispatch, fmk_down(), clock.now())
        a = leadership.acquire(engine, "a", clock.now(), began=0.0)
        assert a is not None
        stale = queue.Fence("a", a.epoch)
        later = clock.now() + TTL
        b = leadership.acquire(engine, "b", later, began=0.0)
        assert b is not None
        assert queue.claim_due(engine, now=later, limit=5, lease=SEC * 60, fence=stale) == []
        claims = queue.claim_due(
            engine, now=later, limit=5, lease=SEC * 60, fence=queue.Fence("b", b.epoch)
        )
        assert len(claims) == 5

    def test_a_new_leader_shortens_foreign_claims(
        self, engine: Engine, clock: FakeClock, dispatch: service.Dispatch
    ) -> None:
        service.trigger(dispatch, fmk_down(), clock.now())
        a = leadership.acquire(engine, "a", clock.now(), began=0.0)
        assert a is not None
        fence = queue.Fence("a", a.epoch)
        claimed = queue.claim_due(engine, now=clock.now(), limit=3, lease=SEC * 300, fence=fence)
        until = clock.now() + SEC * 20
        assert queue.shorten_foreign_claims(engine, "b", until=until) == 3
        assert queue.shorten_foreign_claims(engine, "a", until=until) == 0
        again = queue.claim_due(engine, now=until + SEC, limit=10, lease=SEC * 60)
        assert {c.delivery_id for c in claimed} <= {c.delivery_id for c in again}


def test_sqlite_refuses_a_second_daemon(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'one.db'}")
    first, second = SqliteLock(engine), SqliteLock(engine)
    first.take()
    with pytest.raises(SecondDaemon, match="more than one replica needs PostgreSQL"):
        second.take()
    first.release()
    second.take()
    second.release()
    engine.dispose()


class TestStatusCommand:
    def _run(self, database_url: str) -> tuple[int, str]:
        env = {
            "DISPATCHER_DATABASE_URL": database_url,
            "DISPATCHER_CONTACTS_DIR": str(CONTACTS),
            "DISPATCHER_TEMPLATES_DIR": str(TEMPLATES),
        }
        result = CliRunner().invoke(app, ["status"], env=env)
        return result.exit_code, " ".join(result.output.split())

    def test_no_daemon(self, database_url: str) -> None:
        code, out = self._run(database_url)
        assert code == 1
        assert "No daemon has registered" in out
        assert "No replica leads" in out

    def test_a_leader_and_the_queue(
        self, database_url: str, engine: Engine, dispatch: service.Dispatch
    ) -> None:
        now = SystemClock().now()
        replica = register(engine, now)
        assert leadership.acquire(engine, replica, now, began=0.0) is not None
        service.trigger(dispatch, fmk_down(), now)
        code, out = self._run(database_url)
        assert code == 0
        assert f"Leader {replica[:8]} (epoch 1)" in out
        assert "leader" in out
        assert "Deliveries: 101 pending, 0 sending, 0 sent, 0 failed" in out
        assert "Open incident #1 (triggered)" in out

    def test_a_maintenance_window_ahead_is_scheduled_not_pending(
        self, database_url: str, engine: Engine, dispatch: service.Dispatch
    ) -> None:
        """Its reminders, start and end wait for their time; they are not a queue that is
        stuck, and the oldest pending age is that of what is due now."""
        now = SystemClock().now()
        start = now + timedelta(days=3)
        window = Schedule(KHS, start, start + timedelta(hours=4), "Opgradering af FMK.")
        maintenance.schedule(dispatch, window, now)
        _, out = self._run(database_url)
        assert re.search(r"Deliveries: (\d+) pending, .* (\d+) scheduled; oldest pending", out)
        pending, scheduled = map(int, re.findall(r"(\d+) (?:pending|scheduled)", out)[:2])
        assert pending > 0  # the announcement, due now
        assert scheduled == 4 * pending  # the two reminders, the start and the end
        age = int(re.findall(r"oldest pending (\d+) s", out)[0])
        assert age < 60


def test_migration_creates_the_lease_row(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    assert leadership.current(engine) is not None
    engine.dispose()
