"""Times are stored in UTC and come back timezone-aware; naive times are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import StatementError

from dispatcher.store.db import transaction
from dispatcher.store.tables import ReplicaRow


def test_local_time_round_trips_as_the_same_instant_in_utc(engine: Engine) -> None:
    local = datetime(2021, 12, 31, 3, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))
    with transaction(engine) as session:
        session.add(ReplicaRow(id="r", hostname="h", pid=1, started_at=local, last_seen_at=local))
    with transaction(engine) as session:
        row = session.get(ReplicaRow, "r")
        assert row is not None
        assert row.started_at == local
        assert row.started_at.utcoffset() == timedelta(0)
        assert row.started_at.hour == 2


def test_naive_time_is_refused(engine: Engine) -> None:
    naive = datetime(2021, 12, 31, 3, 0)
    row = ReplicaRow(id="r", hostname="h", pid=1, started_at=naive, last_seen_at=naive)
    with pytest.raises(StatementError, match="naive datetime"), transaction(engine) as session:
        session.add(row)
    aware = datetime(2021, 12, 31, 3, 0, tzinfo=UTC)
    with transaction(engine) as session:
        session.add(ReplicaRow(id="r", hostname="h", pid=1, started_at=aware, last_seen_at=aware))
