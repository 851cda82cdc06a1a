"""A clock the test moves by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

NEW_YEARS_EVE_0300 = datetime(2021, 12, 31, 2, 0, tzinfo=UTC)  # 03:00 in Copenhagen


class FakeClock:
    def __init__(self, start: datetime = NEW_YEARS_EVE_0300) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment
