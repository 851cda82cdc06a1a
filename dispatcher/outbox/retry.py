"""When to try a temporarily failed delivery again: exponential backoff with full jitter.

A library's in-process retry loop (tenacity, backoff) would forget its state when the process
dies; the schedule lives in the `delivery.next_attempt_at` column instead, and this is the pure
function that computes it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class RetryPolicy:
    initial: timedelta
    maximum: timedelta
    deadline: timedelta

    def ceiling(self, attempts: int) -> timedelta:
        """The longest wait after `attempts` failed attempts: `initial` doubled per attempt, at
        most `maximum`. The doubling stops once it has passed the maximum, so no attempt count,
        however large, makes a number too big for a timedelta."""
        initial = self.initial // _MICROSECOND
        maximum = self.maximum // _MICROSECOND
        doublings = min(max(attempts - 1, 0), maximum.bit_length())
        return timedelta(microseconds=min(maximum, initial << doublings))

    def next_attempt(
        self, *, attempts: int, enqueued_at: datetime, now: datetime, rng: random.Random
    ) -> datetime | None:
        """The time of the next attempt after `attempts` failed ones, or None past the deadline.
        A wait that would pass the deadline is cut short so the last attempt falls on it."""
        at = now + self.ceiling(attempts) * rng.uniform(0.5, 1.0)
        give_up_at = enqueued_at + self.deadline
        if at <= give_up_at:
            return at
        return give_up_at if now < give_up_at else None
