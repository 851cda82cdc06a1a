"""A heartbeat on PostgreSQL in one statement (signals.one_statement): the usual beat and its
repeats are one round trip, commit lazily, and answer as the general path does; every other
case writes nothing and goes the general path. A connection that the server cut off between
two heartbeats costs a retry, not an error (store.db, signals.service)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from dispatcher.config import Settings
from dispatcher.incidents.service import Dispatch
from dispatcher.signals import heartbeat, one_statement
from dispatcher.signals.model import Severity, Signal, SignalConflict, SignalKind, SignalOutcome
from dispatcher.signals.service import receive_signal
from dispatcher.store.db import is_sqlite, make_engine, transaction
from dispatcher.store.tables import MonitorRow, SignalRow
from tests.support.clock import FakeClock

WINDOW = timedelta(minutes=10)


@pytest.fixture
def pg(engine: Engine) -> Engine:
    if is_sqlite(engine):
        pytest.skip("the one-statement heartbeat is PostgreSQL's")
    return engine


class Statements:
    """The SQL statements the engine sends while it is counting."""

    def __init__(self, engine: Engine) -> None:
        self.sent: list[str] = []
        self.engine = engine

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.sent.append(statement)

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def receive(dispatch: Dispatch, settings: Settings, signal: Signal, body: str) -> SignalOutcome:
    return receive_signal(dispatch, signal, body_sha256=body, now=CLOCK.now(), settings=settings)


CLOCK = FakeClock()  # where each test's signals arrive; only moves forward


def beat(event_id: str) -> Signal:
    return Signal(event_id=event_id, kind=SignalKind.HEARTBEAT)


def records(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.execute(select(func.count()).select_from(SignalRow)).scalar_one())


@pytest.fixture
def watched(pg: Engine, dispatch: Dispatch, settings: Settings) -> Engine:
    """A running watch: the first beat ever created it, through the general path."""
    assert receive(dispatch, settings, beat("hb-0"), "b0").body == {
        "action": "heartbeat",
        "resumed": False,
    }
    return pg


def test_a_beat_and_its_repeat_are_one_statement_each(
    watched: Engine, dispatch: Dispatch, settings: Settings
) -> None:
    CLOCK.advance(timedelta(minutes=1))
    with Statements(watched) as statements:
        first = receive(dispatch, settings, beat("hb-1"), "b1")
        repeat = receive(dispatch, settings, beat("hb-1"), "b1")
    assert len(statements.sent) == 2, statements.sent
    assert (first.status_code, first.body) == (200, {"action": "heartbeat", "resumed": False})
    assert (repeat.status_code, repeat.body) == (
        200,
        {"action": "heartbeat", "resumed": False, "duplicate": True},
    )
    assert records(watched) == 2
    with transaction(watched) as session:
        row = session.get(MonitorRow, heartbeat.MONITOR)
        assert row is not None
        assert row.last_seen_at == CLOCK.now()


def test_a_repeat_moves_nothing_and_another_body_is_a_conflict(
    watched: Engine, dispatch: Dispatch, settings: Settings
) -> None:
    at = CLOCK.now()
    CLOCK.advance(timedelta(minutes=1))
    assert receive(dispatch, settings, beat("hb-0"), "b0").body["duplicate"] is True
    with pytest.raises(SignalConflict, match="hb-0"):
        receive(dispatch, settings, beat("hb-0"), "another body")
    with transaction(watched) as session:
        row = session.get(MonitorRow, heartbeat.MONITOR)
        assert row is not None
        assert row.last_seen_at == at
    assert records(watched) == 1


def test_the_statement_commits_without_waiting_for_the_disk(watched: Engine) -> None:
    """Inside a transaction opened around it, the statement leaves `synchronous_commit` off
    for that transaction; run in autocommit, the transaction is the statement's own."""
    with watched.connect() as connection:
        connection.execute(
            one_statement.STATEMENT,
            {
                "event_id": "hb-x",
                "kind": "heartbeat",
                "now": FakeClock().now(),
                "body_sha256": "x",
                "response": "{}",
                "monitor": heartbeat.MONITOR,
            },
        )
        assert connection.execute(text("SHOW synchronous_commit")).scalar() == "off"
        connection.rollback()
        assert connection.execute(text("SHOW synchronous_commit")).scalar() == "on"


def test_after_a_reported_loss_the_general_path_ends_it(
    watched: Engine, dispatch: Dispatch, settings: Settings
) -> None:
    clock = CLOCK
    clock.advance(WINDOW + timedelta(minutes=1))
    assert heartbeat.check(dispatch, clock.now(), WINDOW)
    assert (
        one_statement.receive_heartbeat(watched, "hb-2", "b2", clock.now(), "sds-heartbeat") is None
    )
    assert records(watched) == 1  # nothing written by the statement that declined
    back = receive(dispatch, settings, beat("hb-2"), "b2")
    assert back.body == {"action": "heartbeat", "resumed": True}
    assert records(watched) == 2


def terminate_others(engine: Engine) -> int:
    """Cut off every other connection to this database, as a server restart does."""
    with engine.connect() as connection:
        cut = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
        connection.commit()
    return int(cut)


@pytest.mark.parametrize("kind", [SignalKind.HEARTBEAT, SignalKind.OUTAGE])
def test_a_connection_cut_off_between_two_signals_costs_a_retry_not_an_error(
    watched: Engine, dispatch: Dispatch, settings: Settings, kind: SignalKind
) -> None:
    """The pool does not ping a connection that was in use a moment ago (store.db): the next
    signal meets the dead connection, and is tried again on a new one."""
    other = make_other_engine(watched)
    try:
        assert terminate_others(other) >= 1
    finally:
        other.dispose()
    signal = Signal("e-1", kind, severity=Severity.DOWN, summary="FMK nede")
    answer = receive(dispatch, settings, signal, "e1")
    assert answer.status_code in (200, 201)
    assert "duplicate" not in answer.body
    assert records(watched) == 2


def make_other_engine(engine: Engine) -> Engine:
    return make_engine(engine.url.render_as_string(hide_password=False))
