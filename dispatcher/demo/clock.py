"""The demo's clock: the wall clock plus an offset that the demo moves forward in jumps."""

from __future__ import annotations

from datetime import datetime, timedelta

from dispatcher.clock import Clock, SystemClock


class BackwardsJump(ValueError):
    """The demo clock was asked to move back in time."""


class DemoClock:
    """Starts `behind` the wall clock and runs at its pace; `jump_to` moves it forward at once.

    Between jumps the seconds pass as they really do, so what the daemon records while it works
    (sends, acknowledgements) gets plausible times; the jumps skip the waits of the plan. A
    demo that starts as far behind as its plan is long ends at about the real time, so the
    database it leaves shows a recent outage, not one in the future.
    """

    def __init__(self, wall: Clock | None = None, *, behind: timedelta = timedelta(0)) -> None:
        self._wall = wall or SystemClock()
        self._offset = -behind

    def now(self) -> datetime:
        return self._wall.now() + self._offset

    def jump_to(self, moment: datetime) -> datetime:
        """Move the clock to `moment`, which must not lie in its past; return the new time."""
        gap = moment - self.now()
        if gap < timedelta(0):
            raise BackwardsJump(
                f"the demo clock only moves forward: {moment.isoformat()} is before "
                f"{self.now().isoformat()}"
            )
        self._offset += gap
        return self.now()
