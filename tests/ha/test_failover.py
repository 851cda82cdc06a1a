"""Failover between real `dispatcher serve` replicas on one PostgreSQL database.

Replica A starts first and leads; replica B starts second and stands by. The tests SIGKILL A at
each point of a delivery that matters — before it claims, after it claims but before the SMTP
transaction, during the transaction, and after the relay's 250 but before A records it — and
check that B takes the lease over within 15 s (the lease is valid 10 s and renewed every 2 s),
finishes the notice, and that each of the 101 recipients gets it exactly once, except the one
delivery that was in the window of docs/delivery-guarantees.md. They also check that the
cadence survives a failover, that the pair rides out a PostgreSQL restart, and that SQLite
refuses a second daemon.

The kills are made deterministic as in tests/crash: the relay holds A's transactions at the
chosen point (or kills A itself) and the test waits until everything the relay accepted is
recorded before it kills, so the exact-once assertions hold strictly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from dispatcher.clock import SystemClock
from dispatcher.contacts.model import Registry
from dispatcher.core.model import Policy, PostUpdate
from dispatcher.daemon.leadership import RENEW, TTL
from dispatcher.incidents import service
from dispatcher.mailcatcher import CatcherHandler, MailCatcher, Received
from dispatcher.notices.render import NoticeRenderer, standard_guidance
from dispatcher.store.db import make_engine, transaction
from dispatcher.store.tables import DeliveryRow, IncidentRow, MessageRow, NoticeRow
from tests.conftest import TEMPLATES
from tests.support.daemon import DaemonProcess, leader_lease, wait_for
from tests.support.databases import SqliteDatabases
from tests.support.incidents import fmk_down, notice_addresses
from tests.support.mail import parse, per_recipient
from tests.support.postgres import OwnPostgres, own_postgres, server_programs

pytestmark = pytest.mark.slow

SMTP_TIMEOUT = 2
TAKEOVER_LIMIT = 15.0
# Both replicas run with these: a claim outlives any plausible failover (60 s), so only the new
# leader's shortening of foreign claims (to 2 × SMTP_TIMEOUT) lets B finish within the test.
REPLICA = {
    "smtp_timeout": str(SMTP_TIMEOUT),
    "claim_timeout": "60",
    "send_concurrency": "2",
    "tick_seconds": "0.5",
}
MID_NOTICE = 40  # messages the relay accepts before the kill
PG_DOWN = 4.0  # seconds PostgreSQL stays down in the restart test


class Relay(CatcherHandler):
    """The mail relay on loopback, which can stop A at a chosen point of a delivery.

    - `hold_at="MAIL"` or `"DATA"`: once `open_for` messages are accepted, every further
      transaction is held at MAIL FROM (the delivery is claimed, its SMTP transaction has not
      begun) or at the end of DATA (the relay has the whole message and has not answered) until
      `release` is set; a held transaction is then refused and never delivered (its client,
      the killed leader, is gone anyway).
    - `kill_at=N`: takes message N, SIGKILLs `victim` and only then answers 250, so the
      delivery is accepted but can never be recorded.

    Every accepted message is kept in `received`, with its arrival time in `arrived`.
    """

    def __init__(
        self, *, hold_at: str | None = None, open_for: int = 0, kill_at: int | None = None
    ) -> None:
        super().__init__()
        self.hold_at = hold_at
        self.open_for = open_for
        self.kill_at = kill_at
        self.release = threading.Event()
        self.held = 0
        self.victim: int | None = None
        self.killed_for: tuple[str, ...] = ()
        self.killed_at: float | None = None
        self.arrived: list[datetime] = []

    def _closed(self) -> bool:
        return len(self.received) >= self.open_for and not self.release.is_set()

    async def _hold(self) -> str:
        self.held += 1
        while not self.release.is_set():
            await asyncio.sleep(0.01)
        return "421 4.3.2 Service shutting down"

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if self.hold_at == "MAIL" and self._closed():
            return await self._hold()
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.hold_at == "DATA" and self._closed():
            return await self._hold()
        reply = await super().handle_DATA(server, session, envelope)
        if reply.startswith("250"):
            self.arrived.append(datetime.now(UTC))
        return reply

    def verdict(self, envelope_from: str, recipients: tuple[str, ...], data: bytes) -> str | None:
        due = self.kill_at is not None and len(self.received) + 1 == self.kill_at
        if due and self.victim is not None and not self.killed_for:
            self.killed_for = recipients
            self.killed_at = time.monotonic()
            os.kill(self.victim, signal.SIGKILL)
        return None

    def arrivals(self, kind: str) -> list[datetime]:
        """When each accepted message of this notice kind arrived."""
        return [
            at
            for item, at in zip(self.received, self.arrived, strict=True)
            if str(parse(item)["X-FMK-Notice"]) == kind
        ]


@dataclass
class Pair:
    """Replica A, which leads, and replica B, which is started to stand by."""

    engine: Engine
    a: DaemonProcess
    b: DaemonProcess
    a_id: str
    b_id: str = ""

    def standing_by(self) -> Pair:
        """Wait until B is up; it must have registered and stand by while A leads."""
        self.b.wait_healthy()
        b_id = self.b.replica(self.engine)
        assert b_id is not None
        assert b_id != self.a_id
        assert not self.b.leads(self.engine), "B must stand by while A leads"
        self.b_id = b_id
        return self


def start_pair(
    url: str,
    smtp_port: int,
    engine: Engine,
    tmp_path: Path,
    daemons: list[DaemonProcess],
    *,
    a_settings: dict[str, str] | None = None,
    b_settings: dict[str, str] | None = None,
) -> Pair:
    """Start A and wait until it leads; then launch B (see `Pair.standing_by`)."""
    a = DaemonProcess(
        database_url=url,
        smtp_port=smtp_port,
        log=tmp_path / "a.log",
        **{**REPLICA, **(a_settings or {})},
    )
    daemons.append(a)
    a.start()
    wait_for(lambda: a.leads(engine), timeout=TAKEOVER_LIMIT, what="replica A to lead")
    a_id = a.replica(engine)
    assert a_id is not None
    b = DaemonProcess(
        database_url=url,
        smtp_port=smtp_port,
        log=tmp_path / "b.log",
        **{**REPLICA, **(b_settings or {})},
    )
    daemons.append(b)
    b.spawn()
    return Pair(engine, a, b, a_id)


def wait_until_leads(engine: Engine, replica: str, *, since: float) -> float:
    """Seconds from `since` (monotonic) until `replica` holds the live lease."""
    deadline = since + TAKEOVER_LIMIT + 10
    while time.monotonic() < deadline:
        lease = leader_lease(engine)
        if lease.live and lease.holder == replica:
            return time.monotonic() - since
        time.sleep(0.05)
    raise AssertionError(f"{replica} did not take the lease over: {leader_lease(engine)}")


def statuses(engine: Engine, kind: str | None = None) -> Counter[str]:
    """Deliveries by status, of one notice kind or of all."""
    query = (
        select(col(DeliveryRow.status), func.count())
        .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
        .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
        .group_by(col(DeliveryRow.status))
    )
    if kind is not None:
        query = query.where(col(NoticeRow.kind) == kind)
    with transaction(engine) as session:
        return Counter({status: n for status, n in session.execute(query).all()})


def claimers(engine: Engine, kind: str) -> Counter[str | None]:
    """Deliveries of a notice kind by the replica that last claimed them."""
    query = (
        select(col(DeliveryRow.claimed_by), func.count())
        .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
        .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
        .where(col(NoticeRow.kind) == kind)
        .group_by(col(DeliveryRow.claimed_by))
    )
    with transaction(engine) as session:
        return Counter({who: n for who, n in session.execute(query).all()})


def all_sent(engine: Engine, kind: str, expected: int) -> Callable[[], bool]:
    return lambda: statuses(engine, kind) == Counter({"sent": expected})


@pytest.fixture
def dispatch(pg_engine: Engine, registry: Registry, renderer: NoticeRenderer) -> service.Dispatch:
    return _dispatch(pg_engine, registry, renderer, Policy())


def _dispatch(
    engine: Engine, registry: Registry, renderer: NoticeRenderer, policy: Policy
) -> service.Dispatch:
    return service.Dispatch(
        engine=engine,
        registry=registry,
        renderer=renderer,
        policy=policy,
        standard_guidance=standard_guidance(TEMPLATES),
    )


def assert_each_once(
    received: list[Received], addresses: list[str], kind: str, doubled: Set[str] = frozenset()
) -> None:
    counts = per_recipient(received)
    got = {a: counts[(a, kind)] for a in addresses}
    assert got == {a: 2 if a in doubled else 1 for a in addresses}
    assert sum(n for (_, k), n in counts.items() if k == kind) == len(addresses) + len(doubled)


# -- 1 and 2: kill the leader at each point of a delivery -------------------------------------


KILL_POINTS = ["before_claim", "after_claim", "during_smtp", "after_250"]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_the_leader(
    point: str,
    pg_url: str,
    pg_engine: Engine,
    dispatch: service.Dispatch,
    registry: Registry,
    daemons: list[DaemonProcess],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    """SIGKILL the leader while it mails the initial notice; the standby finishes it.

    - before_claim: A leads but is frozen (SIGSTOP) before the trigger commits, so it dies with
      every delivery `pending` (times are measured from the freeze).
    - after_claim: the relay holds A's transactions at MAIL FROM once 40 messages are in, so A
      dies with deliveries claimed (`sending`) whose SMTP transaction never began.
    - during_smtp: the relay holds them after the DATA content, before answering; A dies with
      40 recorded `sent` and several claimed whose message the relay never accepted.
    - after_250: the relay takes message 40, kills A, and answers 250 to nobody: A dies inside
      the window, with that delivery accepted and still `sending` (A sends one at a time, so
      the window holds exactly that one).
    """
    addresses = notice_addresses(registry)
    relay = Relay(
        hold_at={"after_claim": "MAIL", "during_smtp": "DATA"}.get(point),
        open_for=MID_NOTICE,
        kill_at=MID_NOTICE if point == "after_250" else None,
    )
    a_settings = {"send_concurrency": "1"} if point == "after_250" else None
    with MailCatcher(relay) as smtp:
        try:
            pair = start_pair(
                pg_url, smtp.port, pg_engine, tmp_path, daemons, a_settings=a_settings
            )
            if point == "before_claim":
                # B first: started after the freeze, B would find A's lease expired if it took
                # longer than the lease to start (a loaded machine), and lead at once.
                pair.standing_by()
                # Frozen, A neither claims nor renews its lease: it is dead from here on.
                killed = time.monotonic()
                os.kill(pair.a.pid, signal.SIGSTOP)
                service.trigger(dispatch, fmk_down(), SystemClock().now())
                before = statuses(pg_engine)
                pair.a.kill()
                assert before == Counter({"pending": len(addresses)})
            elif point == "after_250":
                # B must be up first: A would reach message 40 within a second of the trigger.
                relay.victim = pair.standing_by().a.pid
                service.trigger(dispatch, fmk_down(), SystemClock().now())
                wait_for(lambda: not pair.a.alive(), what="the relay to kill A")
                assert relay.killed_at is not None
                killed = relay.killed_at
                before = statuses(pg_engine)
                assert before["sent"] == MID_NOTICE - 1
            else:
                service.trigger(dispatch, fmk_down(), SystemClock().now())
                pair.standing_by()
                # ≥: a hold that outlasts A's 2 s SMTP timeout is retried and held again.
                wait_for(lambda: relay.held >= 2, what="both of A's connections held")
                wait_for(
                    lambda: statuses(pg_engine)["sent"] == len(relay.received),
                    what="every accepted message recorded",
                )
                before = statuses(pg_engine)
                killed = time.monotonic()
                pair.a.kill()
                assert before["sent"] >= MID_NOTICE
            relay.release.set()
            if point != "before_claim":
                assert before["sending"] > 0, "the kill must leave claimed, unfinished rows"
            assert sum(before.values()) == len(addresses)

            takeover = wait_until_leads(pg_engine, pair.b_id, since=killed)
            wait_for(all_sent(pg_engine, "initial", len(addresses)), what="the notice finished")
            finished = time.monotonic() - killed
            assert pair.b.terminate() == 0
        finally:
            relay.release.set()

    record_property("takeover_s", round(takeover, 2))
    record_property("finished_s", round(finished, 2))
    assert takeover <= TAKEOVER_LIMIT
    # A's unfinished claims (60 s) were shortened to 2 × SMTP_TIMEOUT from the takeover.
    assert finished <= takeover + 2 * SMTP_TIMEOUT + 5
    assert not leader_lease(pg_engine).live, "B gave the lease up when it stopped"
    doubled = set(relay.killed_for)
    assert len(doubled) == (1 if point == "after_250" else 0)
    assert_each_once(smtp.received, addresses, "initial", doubled)
    # A recorded what it sent before the kill; B claimed (and sent) all the rest.
    expected = Counter({pair.a_id: before["sent"], pair.b_id: len(addresses) - before["sent"]})
    assert claimers(pg_engine, "initial") == +expected


# -- 3: the cadence survives a failover ---------------------------------------------------------


def test_the_next_update_comes_on_time_after_failover(
    pg_url: str,
    pg_engine: Engine,
    registry: Registry,
    renderer: NoticeRenderer,
    daemons: list[DaemonProcess],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    """The update's due time is stored with the incident, so the new leader sends it when it
    falls due — once, and neither restarted from the takeover nor lost with the old leader.

    The interval is 30 s, not 8 s: a failover takes 8–12 s, so with 8 s the update would
    always be overdue at the takeover and the test could not tell "on time" from "at once".
    A is killed about 3 s after the trigger (later on a loaded machine: with 18 s it was
    killed too late under load, issue #16), so B leads by about 15 s.
    """
    interval = timedelta(seconds=30)
    dispatch = _dispatch(pg_engine, registry, renderer, Policy(update_interval=interval))
    addresses = notice_addresses(registry)
    relay = Relay()
    every = {"update_interval": "30s"}
    with MailCatcher(relay) as smtp:
        pair = start_pair(
            pg_url, smtp.port, pg_engine, tmp_path, daemons, a_settings=every, b_settings=every
        )
        opened = SystemClock().now()
        incident, _ = service.trigger(dispatch, fmk_down(), opened)
        pair.standing_by()
        wait_for(all_sent(pg_engine, "initial", len(addresses)), what="the initial notice")
        killed = time.monotonic()
        pair.a.kill()
        assert SystemClock().now() < opened + interval, "A must die before the update is due"
        takeover = wait_until_leads(pg_engine, pair.b_id, since=killed)
        took_over = SystemClock().now()
        wait_for(all_sent(pg_engine, "update", len(addresses)), what="the update")
        with transaction(pg_engine) as session:
            row = session.get(IncidentRow, incident)
            assert row is not None
            next_update = row.next_update_at
        assert pair.b.terminate() == 0

    arrivals = relay.arrivals("update")
    due = opened + interval
    record_property("takeover_s", round(takeover, 2))
    record_property("update_late_s", round((min(arrivals) - due).total_seconds(), 2))
    assert takeover <= TAKEOVER_LIMIT
    assert took_over < due, "B must lead before the update falls due"
    assert min(arrivals) >= due, "the update came early"
    # Rendering 98 municipal messages takes about a second, sending them another; a loaded
    # machine takes longer. Restarted from the takeover instead, it would come 15 s later.
    assert max(arrivals) <= due + timedelta(seconds=8), "the update came late"
    assert_each_once(smtp.received, addresses, "initial")
    assert_each_once(smtp.received, addresses, "update")
    assert claimers(pg_engine, "update") == Counter({pair.b_id: len(addresses)})
    # The cadence goes on from the update B sent (queued at its due time), not the takeover.
    assert next_update is not None
    assert due <= next_update - interval <= min(arrivals)


# -- 4: a PostgreSQL restart under a running pair ----------------------------------------------


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[OwnPostgres]:
    """A PostgreSQL server of this test's own, which it may stop and start."""
    programs = server_programs()
    if programs is None:
        reason = "needs PostgreSQL's server programs (initdb, pg_ctl) to run a server of its own"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; .ci/run installs Debian's postgresql package")
        pytest.skip(reason)
    with own_postgres(programs, tmp_path) as server:
        yield server


@pytest.fixture
def own_engine(own_server: OwnPostgres) -> Iterator[Engine]:
    engine = make_engine(own_server.url)
    yield engine
    engine.dispose()


class ReplicaDied(AssertionError):
    """A replica exited while it should have ridden out a database outage."""


def check_alive(*daemons: DaemonProcess) -> None:
    for daemon in daemons:
        if not daemon.alive():
            assert daemon.process is not None
            tail = daemon.log.read_text()[-2500:]
            raise ReplicaDied(
                f"replica {daemon.log.stem.upper()} exited with {daemon.process.returncode} "
                f"during the database outage; its log ends:\n{tail}"
            )


def test_the_pair_rides_out_a_postgresql_restart(
    own_server: OwnPostgres,
    own_engine: Engine,
    registry: Registry,
    renderer: NoticeRenderer,
    daemons: list[DaemonProcess],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    """Both replicas lose the database; afterwards one leads again by itself, both answer
    HTTP and are ready, and a notice sent after the restart arrives exactly once. Then the
    leader stops cleanly and hands the lease over at once.

    The server is the test's own (tests/support/postgres.py), so that the restart cuts off
    nobody else's tests. The restart is `pg_ctl stop`, 4 s, `pg_ctl start` rather than
    `pg_ctl restart`: how long the latter keeps the server away depends on the checkpoint it
    must finish, so the replicas might not notice. 4 s is longer than the sender's idle poll
    (1 s) and a lease renewal (2 s), so every replica meets the outage, and shorter than the
    lease (10 s), so the leader keeps it.
    """
    addresses = notice_addresses(registry)
    relay = Relay()
    pg_engine = own_engine
    dispatch = _dispatch(pg_engine, registry, renderer, Policy())
    with MailCatcher(relay) as smtp:
        pair = start_pair(own_server.url, smtp.port, pg_engine, tmp_path, daemons)
        incident, _ = service.trigger(dispatch, fmk_down(), SystemClock().now())
        pair.standing_by()
        wait_for(all_sent(pg_engine, "initial", len(addresses)), what="the initial notice")

        started = time.monotonic()
        own_server.stop()  # fast shutdown: every connection is cut
        time.sleep(PG_DOWN)
        own_server.start()  # waits until the server takes connections
        back, back_at = time.monotonic(), datetime.now(UTC)
        record_property("pg_down_s", round(back - started, 2))

        def leads_again() -> bool:
            """A live replica holds a lease it took or renewed after the server came back."""
            check_alive(pair.a, pair.b)
            lease = leader_lease(pg_engine)
            return (
                lease.live
                and lease.holder in {pair.a_id, pair.b_id}
                and lease.expires_at is not None
                and lease.expires_at > back_at + TTL
            )

        wait_for(leads_again, timeout=20, what="a replica to lead again after the restart")
        record_property("leader_back_s", round(time.monotonic() - back, 2))
        assert pair.a.answers("/healthz")
        assert pair.b.answers("/healthz")
        wait_for(lambda: pair.a.answers("/readyz"), timeout=10, what="A's /readyz")
        wait_for(lambda: pair.b.answers("/readyz"), timeout=10, what="B's /readyz")

        update = PostUpdate(actor="khs@medcom.dk", message="SDS forventer at FMK kører kl. 06.")
        service.apply(dispatch, incident, update, SystemClock().now())
        wait_for(all_sent(pg_engine, "update", len(addresses)), what="the update after restart")
        check_alive(pair.a, pair.b)

        # A clean stop gives the lease up: the other replica takes it at its next attempt
        # (every 2 s) instead of waiting for it to expire (8–12 s).
        a_leads = pair.a.leads(pg_engine)
        leader, standby = (pair.a, pair.b) if a_leads else (pair.b, pair.a)
        stopped = time.monotonic()
        assert leader.terminate() == 0
        handover = wait_until_leads(pg_engine, pair.b_id if a_leads else pair.a_id, since=stopped)
        record_property("handover_s", round(handover, 2))
        assert handover <= RENEW.total_seconds() + 2
        assert standby.terminate() == 0

    assert_each_once(smtp.received, addresses, "initial")
    assert_each_once(smtp.received, addresses, "update")


# -- 5: SQLite is for one daemon ----------------------------------------------------------------


def test_sqlite_refuses_a_second_daemon(
    sqlite_databases: SqliteDatabases, daemons: list[DaemonProcess], tmp_path: Path
) -> None:
    url = sqlite_databases.new()
    with MailCatcher() as smtp:
        a = DaemonProcess(database_url=url, smtp_port=smtp.port, log=tmp_path / "a.log", **REPLICA)
        daemons.append(a.start())
        b = DaemonProcess(database_url=url, smtp_port=smtp.port, log=tmp_path / "b.log", **REPLICA)
        daemons.append(b.spawn())
        assert b.process is not None
        code = b.process.wait(timeout=30)
        output = " ".join(b.log.read_text().split())
        assert code == 1
        assert f"another dispatcher daemon (pid {a.pid}) runs on this SQLite database" in output
        assert "more than one replica needs PostgreSQL" in output
        assert a.answers(), "the first daemon goes on"
        assert a.terminate() == 0
