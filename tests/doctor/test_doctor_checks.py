"""Single checks called directly: the clock against PostgreSQL's, the time zone, and a check
that breaks unexpectedly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from dispatcher.clock import SystemClock
from dispatcher.doctor import CheckResult, Status, database, safely
from dispatcher.store.db import make_engine
from tests.support.clock import FakeClock
from tests.support.databases import BACKENDS, PgDatabases

needs_pg = pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL not tested")


@pytest.fixture
def pg_engine(pg_databases: PgDatabases) -> Iterator[Engine]:
    engine = make_engine(pg_databases.new())
    yield engine
    engine.dispose()


@needs_pg
class TestClockAgainstPostgresql:
    """This host's clock must be within 2 s of the PostgreSQL server's: more fails, saying
    which way and what depends on it."""

    def test_the_real_clocks_agree(self, pg_engine: Engine) -> None:
        result = database.clock(pg_engine, SystemClock())

        assert result.status is Status.PASS
        assert "the PostgreSQL server's" in result.details[0]

    @pytest.mark.parametrize(("offset", "side"), [(10, "ahead of"), (-10, "behind")])
    def test_a_host_clock_off_by_seconds_fails(
        self, pg_engine: Engine, offset: int, side: str
    ) -> None:
        clock = FakeClock(datetime.now(UTC) + timedelta(seconds=offset))

        result = database.clock(pg_engine, clock)

        assert result.status is Status.FAIL
        assert re.match(
            rf"this host's clock is (9|10)\.\d s {side} the PostgreSQL server's \(at most 2 s\): "
            r"the leader lease \(valid 10 s\) and the expiry of acknowledgement links",
            result.message,
        ), result.message
        assert result.fix is not None
        assert "NTP" in result.fix


class TestTimeZone:
    """Copenhagen time is shown with its zone name and UTC offset, summer and winter; an
    unknown zone fails with the package to install."""

    @pytest.mark.parametrize(
        ("moment", "shown"),
        [
            (datetime(2021, 12, 31, 2, 0, tzinfo=UTC), "2021-12-31 03:00:00 CET (UTC+01:00)"),
            (datetime(2025, 7, 1, 10, 30, tzinfo=UTC), "2025-07-01 12:30:00 CEST (UTC+02:00)"),
        ],
    )
    def test_local_time_and_offset(self, moment: datetime, shown: str) -> None:
        result = database.clock(None, FakeClock(moment))

        assert result.status is Status.PASS
        assert result.message == f"Europe/Copenhagen: {shown}"
        assert result.details == ("database clock not compared: the database does not answer",)

    def test_an_unknown_zone_says_to_install_tzdata(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(database, "ZONE", "Europe/Atlantis")

        result = database.clock(None, FakeClock())

        assert result.status is Status.FAIL
        assert result.message.startswith("the time zone Europe/Atlantis is not known")
        assert result.fix is not None
        assert "tzdata" in result.fix


class TestBrokenCheck:
    """A check that raises becomes a failure of the checks it stands for, not a crash."""

    def test_an_exception_is_reported(self) -> None:
        def broken() -> list[CheckResult]:
            raise RuntimeError("disk on fire")

        results = safely(["smtp", "smtp-tls"], broken)

        assert [(r.name, r.status) for r in results] == [
            ("smtp", Status.FAIL),
            ("smtp-tls", Status.FAIL),
        ]
        assert results[0].message == "the check itself failed: RuntimeError: disk on fire"
