"""The retry backoff: the wait never exceeds the maximum for any attempt number (issue #10, 2).

The doubling used to come before the maximum, so attempt 48 with a 1 s initial wait asked for a
timedelta of 1.6 billion days and raised OverflowError, which stopped the sender.
"""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from dispatcher.outbox.retry import RetryPolicy
from tests.support.clock import NEW_YEARS_EVE_0300

NOW = NEW_YEARS_EVE_0300
FOREVER = timedelta(days=999_999)

durations = st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=30))


def test_the_first_100_000_attempts_wait_at_most_the_maximum() -> None:
    policy = RetryPolicy(timedelta(seconds=1), timedelta(seconds=2), FOREVER)
    rng = random.Random(10)
    for attempts in range(1, 100_001):
        at = policy.next_attempt(attempts=attempts, enqueued_at=NOW, now=NOW, rng=rng)
        assert at is not None
        assert timedelta(0) < at - NOW <= timedelta(seconds=2), attempts


@given(
    initial=durations,
    maximum=durations,
    attempts=st.integers(min_value=0, max_value=10**12),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_any_attempt_waits_at_most_the_maximum(
    initial: timedelta, maximum: timedelta, attempts: int, seed: int
) -> None:
    policy = RetryPolicy(initial, maximum, FOREVER)
    at = policy.next_attempt(attempts=attempts, enqueued_at=NOW, now=NOW, rng=random.Random(seed))
    assert at is not None
    assert NOW <= at <= NOW + maximum


@given(initial=durations, maximum=durations, attempts=st.integers(min_value=1, max_value=10**6))
def test_the_ceiling_doubles_until_it_reaches_the_maximum(
    initial: timedelta, maximum: timedelta, attempts: int
) -> None:
    policy = RetryPolicy(initial, maximum, FOREVER)
    ceiling, following = policy.ceiling(attempts), policy.ceiling(attempts + 1)
    assert policy.ceiling(1) == min(initial, maximum)
    assert following == min(maximum, ceiling * 2)


def test_the_default_policy_reaches_ten_minutes_after_seven_attempts() -> None:
    policy = RetryPolicy(timedelta(seconds=10), timedelta(minutes=10), FOREVER)
    assert [policy.ceiling(n).total_seconds() for n in range(1, 9)] == [
        10,
        20,
        40,
        80,
        160,
        320,
        600,
        600,
    ]


def test_the_last_attempt_falls_on_the_deadline_and_then_it_gives_up() -> None:
    policy = RetryPolicy(timedelta(seconds=10), timedelta(minutes=10), timedelta(hours=4))
    rng = random.Random(2)
    almost = NOW + timedelta(hours=4) - timedelta(seconds=30)
    at = policy.next_attempt(attempts=40, enqueued_at=NOW, now=almost, rng=rng)
    assert at == NOW + timedelta(hours=4)
    assert policy.next_attempt(attempts=41, enqueued_at=NOW, now=at, rng=rng) is None
