"""The demo clock runs with the wall clock and jumps only forward."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatcher.demo.clock import BackwardsJump, DemoClock
from tests.support.clock import NEW_YEARS_EVE_0300, FakeClock


class TestDemoClock:
    """It starts at the wall clock's time, keeps its pace, and jumps forward by whole steps."""

    def test_starts_at_the_wall_clock_and_keeps_its_pace(self) -> None:
        wall = FakeClock()
        clock = DemoClock(wall)
        assert clock.now() == NEW_YEARS_EVE_0300
        wall.advance(timedelta(seconds=3))
        assert clock.now() == NEW_YEARS_EVE_0300 + timedelta(seconds=3)

    def test_a_jump_moves_it_ahead_and_the_seconds_go_on_from_there(self) -> None:
        wall = FakeClock()
        clock = DemoClock(wall)
        target = NEW_YEARS_EVE_0300 + timedelta(minutes=15)
        assert clock.jump_to(target) == target
        wall.advance(timedelta(seconds=2))
        assert clock.now() == target + timedelta(seconds=2)

    def test_refuses_to_go_back(self) -> None:
        clock = DemoClock(FakeClock())
        clock.jump_to(NEW_YEARS_EVE_0300 + timedelta(hours=1))
        with pytest.raises(BackwardsJump, match="only moves forward"):
            clock.jump_to(NEW_YEARS_EVE_0300)
        assert clock.now() == NEW_YEARS_EVE_0300 + timedelta(hours=1)

    def test_it_can_start_behind_the_wall_clock(self) -> None:
        wall = FakeClock()
        clock = DemoClock(wall, behind=timedelta(hours=5))
        assert clock.now() == NEW_YEARS_EVE_0300 - timedelta(hours=5)
        clock.jump_to(NEW_YEARS_EVE_0300)
        wall.advance(timedelta(seconds=1))
        assert clock.now() == NEW_YEARS_EVE_0300 + timedelta(seconds=1)
