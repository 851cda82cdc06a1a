"""`/healthz`, `/readyz` and `/metrics`: readiness names each failed check and never raises;
the metrics are read from the database at scrape time, so they are exact and the same on every
replica."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, create_engine, func, select, update
from sqlmodel import col

from dispatcher import __version__
from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.core.enums import Release, Source
from dispatcher.core.model import Cancel
from dispatcher.http.app import create_app
from dispatcher.incidents.service import Dispatch, apply, tick_due, trigger
from dispatcher.mailcatcher import MailCatcher
from dispatcher.notices.render import NoticeRenderer
from dispatcher.outbox.sender import Sender
from dispatcher.runtime import Runtime
from dispatcher.signals.heartbeat import MONITOR
from dispatcher.store.db import make_engine, transaction
from dispatcher.store.migrate import head_revision, upgrade
from dispatcher.store.tables import (
    DeliveryRow,
    DeliveryStatus,
    MonitorRow,
    NoticeRow,
    SignalRow,
    TimelineRow,
)
from tests.conftest import CONTACTS, TEMPLATES
from tests.support.clock import FakeClock
from tests.support.incidents import fmk_down, notice_addresses

P = "fmk_dispatcher_"
ALL_READY = {
    "status": "ready",
    "leader": True,
    "checks": {"database": {"ok": True}, "schema": {"ok": True}, "sender": {"ok": True}},
    "relay": {"ok": True, "waiting": 0},
}
TEXT_FORMAT = "text/plain; version=0.0.4"
MIN = timedelta(minutes=1)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@asynccontextmanager
async def app_client(
    runtime: Runtime, clock: FakeClock, sender_alive: Callable[[], bool] = lambda: True
) -> AsyncIterator[httpx.AsyncClient]:
    """The app in process, as in tests/http/conftest.py, with the sender probe of choice."""
    transport = httpx.ASGITransport(app=create_app(runtime, clock, sender_alive=sender_alive))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def scrape(client: httpx.AsyncClient) -> Samples:
    """Every sample of `/metrics` by (name, sorted labels), after checking the format."""
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(TEXT_FORMAT)
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in samples, f"{key} appears twice"
            samples[key] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(P + name, tuple(sorted(labels.items())))]


def labelled(samples: Samples, name: str, label: str) -> dict[str, float]:
    """The samples of `name` by the value of its one label."""
    return {dict(k[1])[label]: v for k, v in samples.items() if k[0] == P + name}


def count(engine: Engine, query: Any) -> int:
    with transaction(engine) as session:
        return int(session.scalar(query) or 0)


@pytest.fixture
def offline_settings(tmp_path: Path) -> Settings:
    """Settings for apps on a database made in the test (no SMTP needed)."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        contacts_dir=CONTACTS,
        templates_dir=TEMPLATES,
    )


@pytest.fixture
def offline_runtime(
    offline_settings: Settings, registry: Registry, renderer: NoticeRenderer
) -> Callable[[Engine], Runtime]:
    def make(engine: Engine) -> Runtime:
        return Runtime(offline_settings, engine, registry, renderer)

    return make


# --- /healthz and /readyz -------------------------------------------------------------------


async def test_healthz_answers_without_looking_at_anything(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_ready_when_database_schema_and_sender_are_fine(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == ALL_READY
    assert response.headers["cache-control"] == "no-store"


async def test_not_ready_while_the_sender_is_not_running(
    runtime: Runtime, clock: FakeClock
) -> None:
    async with app_client(runtime, clock, sender_alive=lambda: False) as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "not_ready",
        "leader": True,
        "checks": {
            "database": {"ok": True},
            "schema": {"ok": True},
            "sender": {"ok": False, "reason": "the sender is not running"},
        },
        "relay": {"ok": True, "waiting": 0},
    }


async def test_a_sender_probe_that_raises_is_a_failed_check_not_a_500(
    runtime: Runtime, clock: FakeClock
) -> None:
    def broken() -> bool:
        raise RuntimeError("task handle gone")

    async with app_client(runtime, clock, sender_alive=broken) as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["sender"] == {
        "ok": False,
        "reason": "cannot tell whether the sender runs: RuntimeError",
    }


async def test_not_ready_on_an_unmigrated_database(
    tmp_path: Path, offline_runtime: Callable[[Engine], Runtime], clock: FakeClock
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        async with app_client(offline_runtime(engine), clock) as client:
            response = await client.get("/readyz")
    finally:
        engine.dispose()

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["sender"] == {"ok": True}
    schema = body["checks"]["schema"]
    assert schema["ok"] is False
    head = head_revision(engine)
    assert schema["reason"] == (
        f"the schema is not migrated (no Alembic revision), the code needs {head}; "
        "run `dispatcher db upgrade`"
    )


async def test_not_ready_on_a_schema_behind_the_code(
    tmp_path: Path, offline_runtime: Callable[[Engine], Runtime], clock: FakeClock
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0001")
        async with app_client(offline_runtime(engine), clock) as client:
            behind = await client.get("/readyz")
        upgrade(engine)
        async with app_client(offline_runtime(engine), clock) as client:
            current = await client.get("/readyz")
    finally:
        engine.dispose()

    assert behind.status_code == 503
    assert behind.json()["checks"]["schema"] == {
        "ok": False,
        "reason": f"the schema is at revision 0001, the code needs {head_revision(engine)}; "
        "run `dispatcher db upgrade`",
    }
    assert (current.status_code, current.json()) == (200, ALL_READY)


async def test_a_database_that_does_not_answer_is_a_503_with_the_drivers_message(
    tmp_path: Path, offline_runtime: Callable[[Engine], Runtime], clock: FakeClock
) -> None:
    # make_engine would create the folder; a plain engine on a folder that is not there fails.
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'dispatcher.db'}")
    try:
        async with app_client(offline_runtime(engine), clock) as client:
            ready = await client.get("/readyz")
            scraped = await client.get("/metrics")
    finally:
        engine.dispose()

    assert ready.status_code == 503
    assert ready.json() == {
        "status": "not_ready",
        "leader": True,
        "checks": {
            "database": {
                "ok": False,
                "reason": "OperationalError: unable to open database file",
            },
            "schema": {"ok": False, "reason": "not checked: the database does not answer"},
            "sender": {"ok": True},
        },
    }
    assert scraped.status_code == 503
    assert scraped.text == "metrics unavailable: OperationalError: unable to open database file\n"


async def test_an_unreachable_server_is_named_in_one_line_without_the_password(
    offline_runtime: Callable[[Engine], Runtime], clock: FakeClock
) -> None:
    password = "Hemmeligt-kodeord-42"
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    engine = create_engine(
        f"postgresql+psycopg://dispatcher:{password}@127.0.0.1:1/dispatcher",
        connect_args={"connect_timeout": 5},
    )
    try:
        async with app_client(offline_runtime(engine), clock) as client:
            ready = await client.get("/readyz")
            scraped = await client.get("/metrics")
    finally:
        engine.dispose()

    assert ready.status_code == 503
    reason = ready.json()["checks"]["database"]["reason"]
    assert reason.startswith("OperationalError: ")
    assert "127.0.0.1" in reason
    assert "\n" not in reason
    assert len(reason) <= 300
    assert ready.json()["checks"]["schema"]["ok"] is False
    assert scraped.status_code == 503
    for response in (ready, scraped):
        assert password not in response.text
        assert "SELECT" not in response.text


# --- /metrics -------------------------------------------------------------------------------


async def test_metrics_of_an_empty_database(client: httpx.AsyncClient) -> None:
    samples = await scrape(client)

    assert samples == {
        (P + "open_incidents", ()): 0,
        **{(P + "incidents_total", (("status", s),)): 0 for s in _STATUSES},
        **{(P + "deliveries", (("status", s),)): 0 for s in _DELIVERY_STATUSES},
        (P + "oldest_pending_delivery_age_seconds", ()): 0,
        (P + "heartbeat_lost", ()): 0,
        (P + "escalation_pages_total", ()): 0,
        **{(P + "notices_total", (("kind", k),)): 0 for k in _NOTICE_KINDS},
        (P + "failsafe_sends_total", ()): 0,
        (P + "leader", ()): 1,
        (P + "leader_epoch", ()): 0,
        (P + "leader_lease_valid", ()): 0,
        (P + "sender_running", ()): 1,
        (P + "relay_failing", ()): 0,
        (P + "build_info", (("version", __version__),)): 1,
    }, "no signal, no heartbeat, no relay failure yet: those series are absent, the rest 0"


_STATUSES = ("triggered", "acknowledged", "resolved", "cancelled")
_DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "bounced", "withdrawn", "scheduled")
_NOTICE_KINDS = (
    "initial",
    "update",
    "all_clear",
    "correction",
    "reminder",
    "vendor_alert",
    "page",
    "owner",
    "oncall_info",
    "maint_announced",
    "maint_reminder",
    "maint_started",
    "maint_ended",
    "maint_extended",
    "maint_changed",
    "maint_cancelled",
)


async def test_metrics_follow_a_trigger_through_the_sender(
    client: httpx.AsyncClient,
    dispatch: Dispatch,
    engine: Engine,
    registry: Registry,
    sender: Sender,
    smtp: MailCatcher,
    clock: FakeClock,
) -> None:
    queued_at = clock.now()
    trigger(dispatch, fmk_down(), queued_at)
    recipients = len(notice_addresses(registry))
    assert count(engine, select(func.count()).select_from(DeliveryRow)) == recipients

    clock.advance(timedelta(minutes=4, seconds=30))
    before = await scrape(client)

    assert value(before, "open_incidents") == 1
    assert labelled(before, "incidents_total", "status") == {
        "triggered": 1,
        "acknowledged": 0,
        "resolved": 0,
        "cancelled": 0,
    }
    assert labelled(before, "deliveries", "status") == {
        "pending": recipients,
        "sending": 0,
        "sent": 0,
        "failed": 0,
        "bounced": 0,
        "withdrawn": 0,
        "scheduled": 0,
    }
    assert value(before, "oldest_pending_delivery_age_seconds") == 270.0
    assert value(before, "notices_total", kind="initial") == 1
    assert sum(labelled(before, "notices_total", "kind").values()) == 1
    assert value(before, "escalation_pages_total") == 0

    # Three recipients fail for good (as after a 5xx); the sender sends everyone else.
    with transaction(engine) as session:
        failing = list(
            session.scalars(select(col(DeliveryRow.id)).order_by(col(DeliveryRow.id)).limit(3))
        )
        session.execute(
            update(DeliveryRow)
            .where(col(DeliveryRow.id).in_(failing))
            .values(status=DeliveryStatus.FAILED.value, last_reply="550 5.1.1 no such user")
        )
    while await sender.run_once():
        pass
    assert len(smtp.received) == recipients - 3

    after = await scrape(client)

    assert labelled(after, "deliveries", "status") == {
        "pending": 0,
        "sending": 0,
        "sent": recipients - 3,
        "failed": 3,
        "bounced": 0,
        "withdrawn": 0,
        "scheduled": 0,
    }
    assert value(after, "oldest_pending_delivery_age_seconds") == 0
    assert value(after, "open_incidents") == 1


async def test_closed_incidents_are_counted_by_status_but_not_as_open(
    client: httpx.AsyncClient, dispatch: Dispatch, clock: FakeClock
) -> None:
    first, _ = trigger(dispatch, fmk_down(), clock.now())
    apply(dispatch, first, Cancel(actor="khs@medcom.dk", reason="falsk alarm"), clock.advance(MIN))
    trigger(dispatch, fmk_down(), clock.advance(MIN))

    samples = await scrape(client)

    assert value(samples, "open_incidents") == 1
    assert labelled(samples, "incidents_total", "status") == {
        "triggered": 1,
        "acknowledged": 0,
        "resolved": 0,
        "cancelled": 1,
    }
    assert value(samples, "notices_total", kind="initial") == 2
    assert value(samples, "notices_total", kind="correction") == 1


async def test_the_oldest_pending_delivery_sets_the_age(
    client: httpx.AsyncClient, dispatch: Dispatch, engine: Engine, clock: FakeClock
) -> None:
    start = clock.now()
    trigger(dispatch, fmk_down(), start)
    with transaction(engine) as session:
        oldest = session.scalars(select(col(DeliveryRow.id)).order_by(col(DeliveryRow.id))).first()
        session.execute(
            update(DeliveryRow)
            .where(col(DeliveryRow.id) == oldest)
            .values(enqueued_at=start - timedelta(minutes=10))
        )
    clock.advance(timedelta(seconds=42))

    samples = await scrape(client)

    assert value(samples, "oldest_pending_delivery_age_seconds") == 600 + 42


async def test_escalation_pages_and_the_failsafe_are_counted(
    runtime: Runtime, engine: Engine, clock: FakeClock
) -> None:
    """SDS reports an outage, nobody acknowledges: pages every 15 minutes, and after 30 the
    municipalities are told anyway (the failsafe)."""
    start = clock.now()
    outage = fmk_down(source=Source.SDS, release=Release.AFTER_ACK)
    trigger(runtime.dispatch, outage, start)
    for minutes in (15, 30):
        clock.set(start + timedelta(minutes=minutes))
        tick_due(runtime.dispatch, clock.now())

    async with app_client(runtime, clock) as client:
        samples = await scrape(client)

    def stored(kind: str) -> int:
        return count(
            engine, select(func.count()).select_from(NoticeRow).where(col(NoticeRow.kind) == kind)
        )

    pages = stored("page")
    assert pages == 3, "a page at the signal, and a round after 15 and after 30 minutes"
    assert value(samples, "escalation_pages_total") == pages
    assert value(samples, "notices_total", kind="page") == pages
    assert value(samples, "notices_total", kind="vendor_alert") == stored("vendor_alert") == 1
    assert value(samples, "notices_total", kind="initial") == stored("initial") == 1
    failsafes = count(
        engine,
        select(func.count()).select_from(TimelineRow).where(col(TimelineRow.kind) == "failsafe"),
    )
    assert value(samples, "failsafe_sends_total") == failsafes == 1


async def test_signals_and_the_heartbeat(
    client: httpx.AsyncClient, engine: Engine, clock: FakeClock
) -> None:
    t = clock.now()
    with transaction(engine) as session:
        for event_id, kind, at in [
            ("hb-1", "heartbeat", t - timedelta(minutes=20)),
            ("hb-2", "heartbeat", t - timedelta(minutes=10)),
            ("outage-1", "outage", t - timedelta(minutes=5)),
        ]:
            session.add(
                SignalRow(event_id=event_id, kind=kind, received_at=at, body_sha256="0" * 64)
            )
        session.add(
            MonitorRow(
                name=MONITOR,
                last_seen_at=t - timedelta(minutes=10),
                lost_since=t - timedelta(minutes=2),
            )
        )

    lost = await scrape(client)

    assert labelled(lost, "last_signal_timestamp_seconds", "kind") == {
        "heartbeat": (t - timedelta(minutes=10)).timestamp(),
        "outage": (t - timedelta(minutes=5)).timestamp(),
    }, "the newest of each kind; kinds never received are absent"
    assert (
        value(lost, "last_heartbeat_timestamp_seconds") == (t - timedelta(minutes=10)).timestamp()
    )
    assert value(lost, "heartbeat_lost") == 1

    with transaction(engine) as session:
        row = session.get(MonitorRow, MONITOR)
        assert row is not None
        row.last_seen_at, row.lost_since = t, None

    back = await scrape(client)

    assert value(back, "heartbeat_lost") == 0
    assert value(back, "last_heartbeat_timestamp_seconds") == t.timestamp()


async def test_every_replica_reports_the_same_values_but_its_own_sender(
    runtime: Runtime, dispatch: Dispatch, clock: FakeClock
) -> None:
    trigger(dispatch, fmk_down(), clock.now())
    clock.advance(timedelta(seconds=5))
    async with (
        app_client(runtime, clock, sender_alive=lambda: True) as one,
        app_client(runtime, clock, sender_alive=lambda: False) as other,
    ):
        first, second = await scrape(one), await scrape(other)

    assert value(first, "sender_running") == 1
    assert value(second, "sender_running") == 0
    sender_key = (P + "sender_running", ())
    assert {k: v for k, v in first.items() if k != sender_key} == {
        k: v for k, v in second.items() if k != sender_key
    }


async def test_metrics_are_on_a_private_registry_with_their_types(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/metrics")

    types = {f.name: f.type for f in text_string_to_metric_families(response.text)}
    # Only ours: no process_* or python_* from prometheus_client's global registry, and
    # nothing of ours in that registry.
    assert types == {
        P + "open_incidents": "gauge",
        P + "incidents_total": "gauge",
        P + "deliveries": "gauge",
        P + "oldest_pending_delivery_age_seconds": "gauge",
        P + "last_signal_timestamp_seconds": "gauge",
        P + "last_heartbeat_timestamp_seconds": "gauge",
        P + "heartbeat_lost": "gauge",
        P + "escalation_pages": "counter",  # samples: fmk_dispatcher_escalation_pages_total
        P + "notices": "counter",
        P + "failsafe_sends": "counter",
        P + "leader": "gauge",
        P + "leader_epoch": "gauge",
        P + "leader_lease_valid": "gauge",
        P + "sender_running": "gauge",
        P + "relay_failing": "gauge",
        P + "relay_failing_since_timestamp_seconds": "gauge",
        P + "municipalities_confirmed": "gauge",
        P + "municipalities_not_reached": "gauge",
        P + "build_info": "gauge",
    }
    assert P.encode() not in generate_latest(REGISTRY)
