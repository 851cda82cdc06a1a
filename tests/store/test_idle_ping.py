"""A PostgreSQL connection that waited in the pool is pinged at checkout and replaced if the
server cut it off (store.db); one in use a moment ago is not pinged, so a stream of requests
pays no round trip for it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import Engine, text

from dispatcher.store import db
from tests.signals.test_one_statement import make_other_engine, terminate_others


@pytest.fixture
def pg(engine: Engine) -> Engine:
    if db.is_sqlite(engine):
        pytest.skip("the SQLite engine has no server to lose")
    return engine


class Pings:
    def __init__(self, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        ping = engine.dialect.do_ping

        def counted(dbapi_connection: Any) -> bool:
            self.count += 1
            return ping(dbapi_connection)

        monkeypatch.setattr(engine.dialect, "do_ping", counted)


def select_one(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT 1")).scalar_one())


def test_a_connection_in_steady_use_is_not_pinged(
    pg: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = Pings(pg, monkeypatch)
    for _ in range(20):
        assert select_one(pg) == 1
    assert pings.count == 0


def test_an_idle_connection_cut_off_by_the_server_is_replaced_at_checkout(
    pg: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert select_one(pg) == 1
    other = make_other_engine(pg)
    try:
        assert terminate_others(other) >= 1
    finally:
        other.dispose()
    pings = Pings(pg, monkeypatch)
    time.sleep(db.PING_AFTER_IDLE.total_seconds() + 0.1)
    assert select_one(pg) == 1
    assert pings.count == 1
