"""Every number of the report, against the fixture's records worked out by hand."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dispatcher.report.figures import Spread, compute, spread
from tests.report.fixture import RECORDS, UNKNOWN, at


class TestTheHandWorkedIncident:
    """tests/report/fixture.py, by hand. The clock starts at the first SDS signal, 02:00 UTC
    (the one at 02:04 came later, though it is listed first)."""

    figures = compute(RECORDS)

    def test_the_start(self) -> None:
        assert self.figures.start == at(2, 0)
        assert self.figures.started_by_signal

    def test_to_the_first_page_and_to_the_acknowledgement(self) -> None:
        # Karina's page was accepted at 02:00:30: 0.5 min. Acknowledged at 02:12: 12 min.
        assert self.figures.to_first_page == 0.5
        assert self.figures.to_acknowledgement == 12.0

    def test_the_initial_notice(self) -> None:
        # København: the later of its two addresses, 02:14 → 14; Frederiksberg 13.5;
        # Odense 20; Læsø 45; Aarhus and Bornholm bounced. Sorted 13.5, 14, 20, 45:
        # median (14 + 20) / 2 = 17; nearest rank ⌈0.95 × 4⌉ = 4th → 45; worst 45.
        initial, _ = self.figures.notices
        assert (initial.sequence, initial.kind, initial.reached, initial.of) == (4, "initial", 4, 6)
        assert initial.spread == Spread(count=4, median=17.0, p95=45.0, worst=45.0)
        assert initial.not_reached == ("Aarhus Kommune", "Bornholms Regionskommune")

    def test_the_update(self) -> None:
        # København 04:13 (one address failed, the other took it) → 133; Frederiksberg 133;
        # Aarhus 134; Læsø 135; Odense still pending, Bornholm bounced.
        # Median (133 + 134) / 2 = 133.5; 4th of 4 → 135.
        _, update = self.figures.notices
        assert (update.reached, update.of) == (4, 6)
        assert update.spread == Spread(count=4, median=133.5, p95=135.0, worst=135.0)
        assert update.not_reached == ("Odense Kommune", "Bornholms Regionskommune")

    def test_confirmations(self) -> None:
        # 02:30, 02:40, 03:10 → 30, 40, 70 minutes: three, median 40.
        assert self.figures.confirmations == 3
        assert self.figures.to_confirmation_median == 40.0

    def test_bounces_and_refusals(self) -> None:
        assert [(b.name, b.recipient, b.said) for b in self.figures.bounces] == [
            ("Aarhus Kommune", "a@aarhus.example", UNKNOWN),
            ("Bornholms Regionskommune", "b@brk.example", UNKNOWN),
            ("Bornholms Regionskommune", "b@brk.example", UNKNOWN),
        ]
        assert [(b.name, b.said) for b in self.figures.refused] == [
            ("Københavns Kommune", "550 5.1.1 gone")
        ]

    def test_retries_and_failed_attempts(self) -> None:
        # Retries: Odense's initial 3 attempts (2), Læsø's 2 (1), Odense's update 4 (3) = 6,
        # on 3 deliveries. Failed attempts: those 2 + 1 + 4 (pending: none taken) and the
        # failed one's 1 = 8.
        assert self.figures.retries == 6
        assert self.figures.retried_deliveries == 3
        assert self.figures.failed_attempts == 8

    def test_never_reached(self) -> None:
        # Aarhus got the update, Odense the initial notice; Bornholm bounced both.
        assert self.figures.never_reached == ("Bornholms Regionskommune",)

    def test_not_confirmed(self) -> None:
        # Of the six, København, Frederiksberg and Læsø confirmed; in registry order the rest.
        assert self.figures.not_confirmed == (
            "Odense Kommune",
            "Aarhus Kommune",
            "Bornholms Regionskommune",
        )


class TestWithoutTheRecords:
    """What the report says when a record does not exist."""

    def test_nobody_confirmed(self) -> None:
        figures = compute(replace(RECORDS, receipts=()))
        assert (figures.confirmations, figures.to_confirmation_median) == (0, None)
        assert figures.not_confirmed == tuple(name for _, name in RECORDS.municipalities)

    def test_opened_from_the_command_line(self) -> None:
        figures = compute(replace(RECORDS, signals=()))
        assert figures.start == at(2, 0, 5)
        assert not figures.started_by_signal
        assert figures.to_acknowledgement == pytest.approx(11 + 55 / 60)

    def test_nobody_paged_or_acknowledged_and_nothing_sent(self) -> None:
        figures = compute(
            replace(RECORDS, deliveries=(), acknowledged_at=None, notices=(), receipts=())
        )
        assert figures.to_first_page is None
        assert figures.to_acknowledgement is None
        assert figures.notices == ()
        assert figures.never_reached == ()
        assert figures.not_confirmed == ()  # nobody was asked to confirm
        assert (figures.confirmations, figures.to_confirmation_median) == (0, None)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([5.0], Spread(1, 5.0, 5.0, 5.0)),
        ([3.0, 1.0, 2.0], Spread(3, 2.0, 3.0, 3.0)),
        ([float(v) for v in range(1, 21)], Spread(20, 10.5, 19.0, 20.0)),
        ([float(v) for v in range(1, 101)], Spread(100, 50.5, 95.0, 100.0)),
    ],
)
def test_median_and_nearest_rank_percentile(values: list[float], expected: Spread) -> None:
    assert spread(values) == expected


def test_no_values_no_spread() -> None:
    assert spread([]) is None
