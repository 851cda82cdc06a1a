"""Danish times in Copenhagen local time, across both DST changes, and Danish durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.notices.timefmt import format_clock, format_duration, format_local


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_local_time_in_winter() -> None:
    assert format_local(utc(2021, 12, 31, 2, 0)) == "fredag 31. december 2021 kl. 03:00"


def test_local_time_in_summer() -> None:
    assert format_local(utc(2025, 7, 14, 12, 5)) == "mandag 14. juli 2025 kl. 14:05"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Sunday 30 March 2025: the clocks jump from 02:00 CET to 03:00 CEST.
        (utc(2025, 3, 30, 0, 59), "søndag 30. marts 2025 kl. 01:59"),
        (utc(2025, 3, 30, 1, 0), "søndag 30. marts 2025 kl. 03:00"),
        # Sunday 26 October 2025: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice.
        (utc(2025, 10, 26, 0, 30), "søndag 26. oktober 2025 kl. 02:30"),
        (utc(2025, 10, 26, 1, 30), "søndag 26. oktober 2025 kl. 02:30"),
        (utc(2025, 10, 26, 2, 30), "søndag 26. oktober 2025 kl. 03:30"),
    ],
)
def test_local_time_across_dst_changes(moment: datetime, expected: str) -> None:
    assert format_local(moment) == expected


def test_clock_on_the_same_local_day_is_just_the_time() -> None:
    issued = utc(2025, 3, 30, 0, 30)  # 01:30 CET
    assert format_clock(utc(2025, 3, 30, 2, 30), issued) == "kl. 04:30"  # CEST by then


def test_clock_on_another_local_day_has_the_date() -> None:
    # The same UTC day, but after local midnight.
    issued = utc(2021, 12, 31, 20, 0)
    assert format_clock(utc(2021, 12, 31, 23, 30), issued) == "lørdag 1. januar 2022 kl. 00:30"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        format_local(datetime(2021, 12, 31, 3, 0))


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (timedelta(hours=2, minutes=15), "2 timer og 15 minutter"),
        (timedelta(minutes=45), "45 minutter"),
        (timedelta(hours=1), "1 time"),
        (timedelta(hours=1, minutes=1), "1 time og 1 minut"),
        (timedelta(hours=26, minutes=59, seconds=59), "26 timer og 59 minutter"),
        (timedelta(seconds=59), "under 1 minut"),
        (timedelta(minutes=-5), "under 1 minut"),
    ],
)
def test_danish_durations(duration: timedelta, expected: str) -> None:
    assert format_duration(duration) == expected
