"""The one place the wall clock is read (everything else is handed `now`), and the steady clock
that times the leader lease."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Protocol

_STEADY = time.CLOCK_BOOTTIME if sys.platform == "linux" else time.CLOCK_MONOTONIC


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def steady() -> float:
    """Seconds on a clock that never steps, whatever happens to the wall clock (NTP, an
    administrator, a VM resumed from suspend), for measuring how long something took. On Linux
    it counts the time spent suspended (CLOCK_BOOTTIME): a lease timed with it runs out during
    a suspend as it does for everyone else."""
    return time.clock_gettime(_STEADY)
