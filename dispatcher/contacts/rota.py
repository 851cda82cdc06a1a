"""Who is on call at an instant: a weekly rotation in Copenhagen time plus overrides.

Pure: no clock, no files, no database; every function is handed its instant. A handover at
08:00 is 08:00 Copenhagen time in every week, summer or winter, so the week that contains a
daylight-saving change is an hour shorter or longer than seven days."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from dispatcher.contacts.model import Person

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
WEEK = timedelta(days=7)
HANDOVERS_CHECKED = 2 * 53  # two years of handovers: both daylight-saving changes, twice
# Any Monday at midnight, naive Copenhagen time like every `Rota.first`: the week boundaries
# of a schedule that has just one week.
_ALWAYS_FROM = datetime(2001, 1, 1)  # noqa: DTZ001


@dataclass(frozen=True)
class Rota:
    """Week `i` of the cycle starts at `first` plus `i` weeks of Copenhagen wall-clock time
    (`first` is naive local time); after the last week the first comes again, forwards and
    backwards in time."""

    first: datetime
    weeks: tuple[tuple[Person, ...], ...]

    @classmethod
    def always(cls, people: tuple[Person, ...]) -> Rota:
        """No schedule: the same people in every week, at all times."""
        return cls(_ALWAYS_FROM, (people,))

    def week_number(self, at: datetime) -> int:
        """How many handovers lie between the first one and `at` (negative before it)."""
        return (_local(at) - self.first) // WEEK

    def week(self, number: int) -> int:
        """The week of the cycle (0-based) that week `number` is."""
        return number % len(self.weeks)

    def handover(self, number: int) -> datetime:
        """When week `number` starts, in UTC."""
        return (self.first + number * WEEK).replace(tzinfo=COPENHAGEN).astimezone(UTC)


@dataclass(frozen=True)
class Override:
    """`person` is on call from `starts_at` until `ends_at`: in addition to those the schedule
    names, or with `replaces`, in that person's place while that person would be on call.
    A later override (higher `number`) wins over an earlier one for the same place."""

    number: int
    person: Person
    starts_at: datetime
    ends_at: datetime
    replaces: Person | None = None

    def active(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


@dataclass(frozen=True)
class Duty:
    """Who is on call, which week of the cycle that is, and the overrides that changed it."""

    people: tuple[Person, ...]
    week: int
    overrides: tuple[int, ...] = ()


@dataclass(frozen=True)
class Shift:
    """A stretch of time in which the same people are on call for the same reasons."""

    starts_at: datetime
    ends_at: datetime
    duty: Duty


@dataclass
class _Place:
    scheduled: Person | None  # None: a place an override added
    holder: Person


def _place_of(places: list[_Place], person: Person) -> _Place | None:
    """The place `person` holds, else the place the schedule gave `person` (which a newer
    override then takes over from an older one)."""
    held = next((p for p in places if _same(p.holder, person)), None)
    if held is not None:
        return held
    return next((p for p in places if p.scheduled and _same(p.scheduled, person)), None)


def duty(rota: Rota, overrides: Sequence[Override], at: datetime) -> Duty:
    """Who is on call at `at`: the week's people, then each override active at `at` in the
    order they were made. An override that replaces someone who is not on call at `at` has
    no effect then; everyone is named once."""
    number = rota.week_number(at)
    places = [_Place(person, person) for person in rota.weeks[rota.week(number)]]
    applied: list[int] = []
    for override in sorted((o for o in overrides if o.active(at)), key=lambda o: o.number):
        if override.replaces is None:
            places.append(_Place(None, override.person))
            applied.append(override.number)
            continue
        place = _place_of(places, override.replaces)
        if place is not None:
            place.holder = override.person
            applied.append(override.number)
    people = {p.holder.email.casefold(): p.holder for p in places}
    return Duty(tuple(people.values()), rota.week(number), tuple(applied))


def on_call(rota: Rota, overrides: Sequence[Override], at: datetime) -> tuple[Person, ...]:
    """The people on call at instant `at`."""
    return duty(rota, overrides, at).people


def shifts(
    rota: Rota, overrides: Sequence[Override], start: datetime, end: datetime
) -> list[Shift]:
    """Who is on call from `start` until `end`, as consecutive shifts: a new one begins at
    each handover and wherever an override starts or ends, if that changes anything."""
    edges = {start, end}
    for number in range(rota.week_number(start) + 1, rota.week_number(end) + 1):
        edges.add(rota.handover(number))
    for override in overrides:
        edges.update(t for t in (override.starts_at, override.ends_at) if start < t < end)
    times = sorted(t for t in edges if start <= t <= end)
    found: list[Shift] = []
    for begin, finish in pairwise(times):
        current = duty(rota, overrides, begin)
        if found and found[-1].duty == current:
            found[-1] = Shift(found[-1].starts_at, finish, current)
        else:
            found.append(Shift(begin, finish, current))
    return found


def wall_clock_problem(moment: datetime) -> str | None:
    """Why naive Copenhagen time `moment` is not one instant (None if it is one)."""
    aware = moment.replace(tzinfo=COPENHAGEN)
    if _local(aware.astimezone(UTC)) != moment:
        return (
            "does not exist in Copenhagen time: the clocks go forward an hour that night "
            "(daylight-saving time begins)"
        )
    later = moment.replace(tzinfo=COPENHAGEN, fold=1)
    if later.utcoffset() != aware.utcoffset():
        return (
            "occurs twice in Copenhagen time: the clocks go back an hour that night; add the "
            f"offset: {aware.isoformat(' ', 'minutes')} for the first, "
            f"{later.isoformat(' ', 'minutes')} for the second"
        )
    return None


def handover_problem(first: datetime) -> str | None:
    """Why a weekly handover at `first`'s weekday and time would not happen exactly once a
    week (a Sunday between 02:00 and 03:00 once a year does not exist, once occurs twice)."""
    for number in range(HANDOVERS_CHECKED):
        moment = first + number * WEEK
        problem = wall_clock_problem(moment)
        if problem is not None:
            return f"{moment:%Y-%m-%d %H:%M} {problem}"
    return None


def _local(at: datetime) -> datetime:
    return at.astimezone(COPENHAGEN).replace(tzinfo=None)


def _same(one: Person, other: Person) -> bool:
    return one.email.casefold() == other.email.casefold()
