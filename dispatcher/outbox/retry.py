"""When to try a temporarily failed delivery again: exponential backoff with full jitter.

A library's in-process retry loop (tenacity, backoff) would forget its state when the process
dies; the schedule lives in the `delivery.next_attempt_at` column instead, and this is the pure
function that computes it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    initial: timedelta
    maximum: timedelta
    deadline: timedelta

    def next_attempt(
        self, *, attempts: int, enqueued_at: datetime, now: datetime, rng: random.Random
    ) -> datetime | None:
        """The time of the next attempt after `attempts` failed ones, or None past the deadline."""
        ceiling = min(self.maximum, self.initial * (2 ** max(attempts - 1, 0)))
        wait: timedelta = ceiling * rng.uniform(0.5, 1.0)
        at = now + wait
        if at > enqueued_at + self.deadline:
            return None
        return at
