"""Leadership and steps of the wall clock (issue #16).

NTP stepping the clock, a VM resumed from suspend, or a test moving its injected clock by
minutes must not depose a leader that nobody else could replace: the leader times its own view
of the lease on the steady clock and renews under its holder and epoch alone. A real takeover
still deposes it: a standby whose clock says the lease expired takes it with a new epoch, the
old leader can claim nothing from then on, and it stops leading at its next renewal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from dispatcher.daemon.leader import Leader
from dispatcher.daemon.leadership import RENEW, TTL
from dispatcher.incidents import service
from dispatcher.outbox import queue
from tests.support.clock import FakeClock
from tests.support.incidents import fmk_down


class SteadyClock:
    """A steady clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def leader(
    engine: Engine,
    clock: FakeClock,
    steady: SteadyClock,
    replica: str,
    on_promotion: Callable[[], None] = lambda: None,
) -> Leader:
    return Leader(
        engine,
        clock,
        replica,
        claim_grace=timedelta(seconds=60),
        on_promotion=on_promotion,
        steady_clock=steady,
    )


def claimable(engine: Engine, clock: FakeClock, lead: Leader) -> int:
    """How many deliveries `lead` may claim now (handed back at once)."""
    fence = lead.fence()
    assert fence is not None
    claims = queue.claim_due(
        engine, now=clock.now(), limit=5, lease=timedelta(minutes=1), fence=fence
    )
    if claims:
        queue.release(engine, claims)
    return len(claims)


@pytest.mark.parametrize("step", [timedelta(minutes=30), -timedelta(minutes=30)])
async def test_a_step_of_the_wall_clock_keeps_a_lone_leader_leading(
    engine: Engine, clock: FakeClock, dispatch: service.Dispatch, step: timedelta
) -> None:
    # Queued before both times, so its deliveries are due whichever way the clock steps.
    service.trigger(dispatch, fmk_down(), clock.now() - abs(step))
    steady = SteadyClock()
    lone = leader(engine, clock, steady, "a")
    await lone.step()
    assert lone.lease is not None
    epoch = lone.lease.epoch

    clock.advance(step)
    assert lone.leading
    assert claimable(engine, clock, lone) == 5
    steady.seconds += RENEW.total_seconds()
    await lone.step()
    assert lone.lease is not None
    assert lone.lease.epoch == epoch
    assert lone.leading
    assert claimable(engine, clock, lone) == 5


async def test_the_leader_stops_when_renewals_stop_whatever_the_wall_clock_says(
    engine: Engine, clock: FakeClock
) -> None:
    steady = SteadyClock()
    lone = leader(engine, clock, steady, "a")
    await lone.step()
    steady.seconds += (TTL - RENEW).total_seconds() - 0.1
    assert lone.leading
    steady.seconds += 0.1
    assert not lone.leading


async def test_a_leader_that_stood_aside_and_renews_catches_up_at_once(
    engine: Engine, clock: FakeClock
) -> None:
    """A blocked event loop outlasts the leader's own view of its lease: what fell due
    meanwhile (a cadence wake-up, a claim) was skipped. When the renewal then succeeds, the
    leader asks for the catch-up it would get on promotion; before this (a CI run, issue #16)
    a 2-hourly update waited for the next slow tick."""
    promotions: list[str] = []
    steady = SteadyClock()
    lone = leader(engine, clock, steady, "a", lambda: promotions.append("tick"))
    await lone.step()
    assert promotions == ["tick"]
    steady.seconds += RENEW.total_seconds()
    await lone.step()
    assert promotions == ["tick"], "an ordinary renewal asks for nothing"

    steady.seconds += (TTL - RENEW).total_seconds() + 0.5
    assert not lone.leading
    await lone.step()
    assert lone.leading
    assert promotions == ["tick", "tick"]


async def test_a_takeover_still_deposes_the_old_leader(
    engine: Engine, clock: FakeClock, dispatch: service.Dispatch
) -> None:
    service.trigger(dispatch, fmk_down(), clock.now())
    steady_a, steady_b = SteadyClock(), SteadyClock()
    a, b = leader(engine, clock, steady_a, "a"), leader(engine, clock, steady_b, "b")
    await a.step()
    await b.step()
    assert a.leading
    assert not b.leading

    clock.advance(TTL)  # by the standby's clock the lease has expired (a was slow, or frozen)
    await b.step()
    assert b.lease is not None
    assert a.lease is not None
    assert b.lease.epoch == a.lease.epoch + 1
    assert a.leading  # by its own steady clock; but fenced out of the outbox:
    assert (
        queue.claim_due(
            engine, now=clock.now(), limit=5, lease=timedelta(minutes=1), fence=a.fence()
        )
        == []
    )
    assert claimable(engine, clock, b) == 5

    steady_a.seconds += RENEW.total_seconds()
    await a.step()
    assert a.lease is None
    assert not a.leading
    assert b.leading
