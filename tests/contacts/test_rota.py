"""Who is on call at an instant: the pure rota, as tables of explicit instants (UTC), across
both daylight-saving changes of 2026 and 2027 and with overrides of every kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.contacts.model import Person
from dispatcher.contacts.rota import (
    COPENHAGEN,
    Override,
    Rota,
    handover_problem,
    on_call,
    shifts,
    wall_clock_problem,
)

K = Person("Karina Hasager Hedevang", "khs@medcom.dk")
I = Person("Iben Søgaard", "ibs@medcom.dk")  # noqa: E741
S = Person("Søren Ærø", "sae@medcom.dk")
M = Person("Mette Løkke", "mel@medcom.dk")

# Handover Monday 08:00 Copenhagen time; week 1 from 2026-01-05: K+I, then S+I, then K+M.
ROTA = Rota(datetime(2026, 1, 5, 8, 0), ((K, I), (S, I), (K, M)))
# The same people on Sundays at 08:00: the handover falls on the very day of the change.
SUNDAY = Rota(datetime(2026, 1, 4, 8, 0), ((K, I), (S, M)))
HOUR = timedelta(hours=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def names(people: tuple[Person, ...]) -> set[str]:
    return {person.email for person in people}


class TestAcrossDaylightSaving:
    """A handover at 08:00 is at 08:00 Copenhagen time in winter and summer alike: 07:00 UTC
    in winter, 06:00 UTC in summer, so it moves in UTC on the Sunday of the change."""

    @pytest.mark.parametrize(
        ("instant", "expected"),
        [
            # 2026, spring (Sunday 29 March): the week K+M began at 08:00 CET = 07:00 UTC …
            ("2026-03-23 06:59", {S.email, I.email}),
            ("2026-03-23 07:00", {K.email, M.email}),
            # … and ends at 08:00 CEST = 06:00 UTC, one hour less than 7 days later.
            ("2026-03-30 05:59", {K.email, M.email}),
            ("2026-03-30 06:00", {K.email, I.email}),
            # 2026, autumn (Sunday 25 October): started 08:00 CEST, ends 08:00 CET.
            ("2026-10-19 05:59", {S.email, I.email}),
            ("2026-10-19 06:00", {K.email, M.email}),
            ("2026-10-26 06:00", {K.email, M.email}),  # 07:00 local: not yet
            ("2026-10-26 06:59", {K.email, M.email}),
            ("2026-10-26 07:00", {K.email, I.email}),
            # The night of the change itself, in both 02:xx hours: the same week.
            ("2026-10-25 00:30", {K.email, M.email}),  # 02:30 CEST
            ("2026-10-25 01:30", {K.email, M.email}),  # 02:30 CET
            # 2027, spring (Sunday 28 March).
            ("2027-03-22 06:59", {K.email, M.email}),
            ("2027-03-22 07:00", {K.email, I.email}),
            ("2027-03-29 05:59", {K.email, I.email}),
            ("2027-03-29 06:00", {S.email, I.email}),
            # 2027, autumn (Sunday 31 October).
            ("2027-10-25 05:59", {K.email, I.email}),
            ("2027-10-25 06:00", {S.email, I.email}),
            ("2027-11-01 06:59", {S.email, I.email}),
            ("2027-11-01 07:00", {K.email, M.email}),
        ],
    )
    def test_monday_handover(self, instant: str, expected: set[str]) -> None:
        assert names(on_call(ROTA, [], utc(instant))) == expected

    @pytest.mark.parametrize(
        ("instant", "expected"),
        [
            # The handover is on the day the clocks change, six hours after the change.
            ("2026-03-29 05:59", {S.email, M.email}),
            ("2026-03-29 06:00", {K.email, I.email}),
            ("2026-10-25 06:59", {S.email, M.email}),
            ("2026-10-25 07:00", {K.email, I.email}),
            ("2027-03-28 05:59", {S.email, M.email}),
            ("2027-03-28 06:00", {K.email, I.email}),
            ("2027-10-31 06:59", {K.email, I.email}),
            ("2027-10-31 07:00", {S.email, M.email}),
        ],
    )
    def test_sunday_handover_on_the_day_of_the_change(
        self, instant: str, expected: set[str]
    ) -> None:
        assert names(on_call(SUNDAY, [], utc(instant))) == expected

    def test_the_weeks_with_a_change_are_an_hour_shorter_and_longer(self) -> None:
        spring = shifts(ROTA, [], utc("2026-03-24 12:00"), utc("2026-04-01 12:00"))
        autumn = shifts(ROTA, [], utc("2026-10-20 12:00"), utc("2026-10-28 12:00"))

        assert [s.starts_at for s in spring] == [
            utc("2026-03-24 12:00"),
            utc("2026-03-30 06:00"),
        ]
        assert [s.starts_at for s in autumn] == [
            utc("2026-10-20 12:00"),
            utc("2026-10-26 07:00"),
        ]
        assert ROTA.handover(12) - ROTA.handover(11) == 167 * HOUR
        assert ROTA.handover(42) - ROTA.handover(41) == 169 * HOUR

    def test_the_cycle_repeats_before_its_first_week(self) -> None:
        # 2025-12-29 08:00 CET is one week before week 1: the cycle's last week (K+M).
        assert names(on_call(ROTA, [], utc("2025-12-29 07:00"))) == {K.email, M.email}
        assert names(on_call(ROTA, [], utc("2025-12-29 06:59"))) == {S.email, I.email}


def override(
    number: int, person: Person, start: str, end: str, replaces: Person | None = None
) -> Override:
    return Override(number, person, utc(start), utc(end), replaces)


class TestOverrides:
    """Overrides apply at the instants they cover (from inclusive, until exclusive), in the
    order they were made; one replacing someone stands in only while that person is on
    call; the newer of two for the same place wins."""

    # Week K+M ends at the handover on Monday 2026-03-30 06:00 UTC; then K+I.
    SPANNING_REPLACE = override(1, S, "2026-03-29 10:00", "2026-03-31 10:00", replaces=M)
    SPANNING_ADD = override(2, S, "2026-03-29 10:00", "2026-03-31 10:00")
    REPLACE_IBEN = override(3, M, "2026-04-01 00:00", "2026-04-02 00:00", replaces=I)

    @pytest.mark.parametrize(
        ("overrides", "instant", "expected"),
        [
            # Replacing M across the handover: S stands in for M until M goes off duty.
            ([SPANNING_REPLACE], "2026-03-29 09:59", {K.email, M.email}),
            ([SPANNING_REPLACE], "2026-03-29 10:00", {K.email, S.email}),
            ([SPANNING_REPLACE], "2026-03-30 05:59", {K.email, S.email}),
            ([SPANNING_REPLACE], "2026-03-30 06:00", {K.email, I.email}),
            ([SPANNING_REPLACE], "2026-03-31 09:59", {K.email, I.email}),
            # Adding S across the handover: S is on call in both weeks, beside the rota.
            ([SPANNING_ADD], "2026-03-30 05:59", {K.email, M.email, S.email}),
            ([SPANNING_ADD], "2026-03-30 06:00", {K.email, I.email, S.email}),
            ([SPANNING_ADD], "2026-03-31 10:00", {K.email, I.email}),
            # Replacing one person of the pair.
            ([REPLACE_IBEN], "2026-04-01 12:00", {K.email, M.email}),
            ([REPLACE_IBEN], "2026-04-02 00:00", {K.email, I.email}),
            # In the past: ended before the instant, or exactly at it.
            ([REPLACE_IBEN], "2026-04-03 12:00", {K.email, I.email}),
            (
                [override(4, S, "2026-01-01 00:00", "2026-01-02 00:00", K)],
                "2026-04-01 12:00",
                {K.email, I.email},
            ),
            # Replacing someone who is not on call at the instant changes nothing.
            (
                [override(5, M, "2026-04-01 00:00", "2026-04-02 00:00", S)],
                "2026-04-01 12:00",
                {K.email, I.email},
            ),
            # Replacing K by I, who is on call already: I alone.
            (
                [override(6, I, "2026-04-01 00:00", "2026-04-02 00:00", K)],
                "2026-04-01 12:00",
                {I.email},
            ),
            # Adding someone who is on call already: no one twice.
            (
                [override(7, K, "2026-04-01 00:00", "2026-04-02 00:00")],
                "2026-04-01 12:00",
                {K.email, I.email},
            ),
        ],
    )
    def test_override_at(self, overrides: list[Override], instant: str, expected: set[str]) -> None:
        assert names(on_call(ROTA, overrides, utc(instant))) == expected

    # In week K+I (2026-03-30 06:00 to 2026-04-06 06:00 UTC): S for K from 1 to 3 April, and
    # (made later) M for K from 2 to 4 April.
    OLDER = override(10, S, "2026-04-01 00:00", "2026-04-03 00:00", replaces=K)
    NEWER = override(11, M, "2026-04-02 00:00", "2026-04-04 00:00", replaces=K)

    @pytest.mark.parametrize(
        ("instant", "expected"),
        [
            ("2026-04-01 12:00", {S.email, I.email}),
            ("2026-04-02 12:00", {M.email, I.email}),  # both: the newer wins
            ("2026-04-03 12:00", {M.email, I.email}),
            ("2026-04-04 12:00", {K.email, I.email}),
        ],
    )
    def test_overlapping_overrides_newest_wins(self, instant: str, expected: set[str]) -> None:
        assert names(on_call(ROTA, [self.NEWER, self.OLDER], utc(instant))) == expected

    def test_older_override_made_later_does_not_win(self) -> None:
        # The same two, numbered the other way round: the one made last (S) wins.
        swapped = [
            override(11, S, "2026-04-01 00:00", "2026-04-03 00:00", replaces=K),
            override(10, M, "2026-04-02 00:00", "2026-04-04 00:00", replaces=K),
        ]
        assert names(on_call(ROTA, swapped, utc("2026-04-02 12:00"))) == {S.email, I.email}

    def test_an_override_of_an_override(self) -> None:
        first = override(1, S, "2026-04-01 00:00", "2026-04-03 00:00", replaces=K)
        then = override(2, M, "2026-04-02 00:00", "2026-04-03 00:00", replaces=S)

        assert names(on_call(ROTA, [first, then], utc("2026-04-01 12:00"))) == {S.email, I.email}
        assert names(on_call(ROTA, [first, then], utc("2026-04-02 12:00"))) == {M.email, I.email}

    def test_shifts_across_an_override_that_spans_a_handover(self) -> None:
        found = shifts(
            ROTA, [self.SPANNING_REPLACE], utc("2026-03-29 00:00"), utc("2026-04-01 00:00")
        )

        assert [
            (s.starts_at, s.ends_at, names(s.duty.people), s.duty.week, s.duty.overrides)
            for s in found
        ] == [
            (utc("2026-03-29 00:00"), utc("2026-03-29 10:00"), {K.email, M.email}, 2, ()),
            (utc("2026-03-29 10:00"), utc("2026-03-30 06:00"), {K.email, S.email}, 2, (1,)),
            # M is off duty from the handover: S stands in for nobody, and the shift runs
            # on past the override's end unchanged.
            (utc("2026-03-30 06:00"), utc("2026-04-01 00:00"), {K.email, I.email}, 0, ()),
        ]


class TestWithoutSchedule:
    """No rota.csv: every on-call person at all times, as before there was a rota."""

    ALWAYS = Rota.always((K, I))

    @pytest.mark.parametrize(
        "instant",
        [
            "2026-03-29 00:30",
            "2026-03-29 01:30",
            "2026-10-25 00:30",
            "2026-10-25 01:30",
            "2027-03-28 01:00",
            "2027-10-31 01:00",
            "1999-01-01 00:00",
            "2099-12-31 23:59",
        ],
    )
    def test_everyone_always(self, instant: str) -> None:
        assert on_call(self.ALWAYS, [], utc(instant)) == (K, I)

    def test_one_shift_however_long(self) -> None:
        found = shifts(self.ALWAYS, [], utc("2026-01-01 00:00"), utc("2026-03-01 00:00"))
        assert len(found) == 1
        assert found[0].duty.people == (K, I)

    def test_overrides_still_apply(self) -> None:
        away = override(1, S, "2026-04-01 00:00", "2026-04-02 00:00", replaces=K)
        assert on_call(self.ALWAYS, [away], utc("2026-04-01 12:00")) == (S, I)


class TestWallClock:
    """Copenhagen times that are not one instant: the hour skipped in spring, the hour that
    occurs twice in autumn."""

    @pytest.mark.parametrize(
        ("local", "problem"),
        [
            ("2027-03-28 02:30", "does not exist"),
            ("2026-03-29 02:00", "does not exist"),
            ("2026-10-25 02:30", "occurs twice"),
            ("2027-10-31 02:00", "occurs twice"),
            ("2026-10-25 03:00", None),
            ("2027-03-28 03:00", None),
            ("2026-12-24 02:30", None),
        ],
    )
    def test_wall_clock_problem(self, local: str, problem: str | None) -> None:
        found = wall_clock_problem(datetime.fromisoformat(local))
        if problem is None:
            assert found is None
        else:
            assert found is not None
            assert problem in found

    def test_a_sunday_handover_in_the_changing_hour_is_refused(self) -> None:
        problem = handover_problem(datetime(2026, 1, 4, 2, 30))
        assert problem is not None
        assert problem.startswith("2026-03-29 02:30 does not exist")

    def test_a_monday_handover_is_fine(self) -> None:
        assert handover_problem(datetime(2026, 1, 5, 8, 0)) is None


class TestProperties:
    """For any week and any set of overrides: the handover is at the same local time, and
    somebody is on call."""

    @given(st.integers(min_value=-2000, max_value=2000))
    def test_every_handover_is_monday_0800_local(self, number: int) -> None:
        local = ROTA.handover(number).astimezone(COPENHAGEN)
        assert (local.weekday(), local.hour, local.minute) == (0, 8, 0)
        assert ROTA.week_number(ROTA.handover(number)) == number
        assert ROTA.week_number(ROTA.handover(number) - timedelta(microseconds=1)) == number - 1

    @given(
        st.lists(
            st.tuples(
                st.sampled_from([K, I, S, M]),
                st.sampled_from([None, K, I, S, M]),
                st.integers(min_value=0, max_value=400),
                st.integers(min_value=1, max_value=400),
            ),
            max_size=6,
        ),
        st.integers(min_value=0, max_value=800),
    )
    def test_somebody_is_always_on_call(
        self, made: list[tuple[Person, Person | None, int, int]], hour: int
    ) -> None:
        start = utc("2026-03-20 00:00")
        overrides = [
            Override(n, person, start + begin * HOUR, start + (begin + length) * HOUR, replaces)
            for n, (person, replaces, begin, length) in enumerate(made)
        ]
        people = on_call(ROTA, overrides, start + hour * HOUR)
        assert people
        assert len({p.email for p in people}) == len(people)
