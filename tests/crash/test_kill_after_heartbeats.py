"""SIGKILL `dispatcher serve` the moment it has answered a stream of heartbeats, whose commits
do not wait for the disk (signals.durability): every answered heartbeat is still recorded, the
watch has the last one, and after a restart each repeat is answered as a duplicate."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from dispatcher.mailcatcher import MailCatcher
from dispatcher.signals import heartbeat
from dispatcher.signals.auth import sign
from dispatcher.store.db import transaction
from dispatcher.store.tables import MonitorRow, SignalRow
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.slow

SECRET = "sds-webhook-secret-for-kill-tests-0123456789"
BEATS = 200


def post(connection: http.client.HTTPConnection, event_id: str) -> tuple[int, dict[str, Any]]:
    body = json.dumps({"event_id": event_id, "service": "FMK", "kind": "heartbeat"}).encode()
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-SDS-Timestamp": str(stamp),
        "X-SDS-Signature": sign(SECRET.encode(), stamp, body),
    }
    connection.request("POST", "/api/sds/signals", body, headers)
    response = connection.getresponse()
    answer: dict[str, Any] = json.loads(response.read())
    return response.status, answer


def recorded(engine: Engine) -> int:
    with transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(SignalRow)) or 0


def test_every_answered_heartbeat_survives_a_kill(
    engine: Engine,
    database_url: str,
    smtp: MailCatcher,
    daemons: list[DaemonProcess],
    tmp_path: Path,
) -> None:
    def daemon(log: str) -> DaemonProcess:
        started = DaemonProcess(
            database_url=database_url,
            smtp_port=smtp.port,
            log=tmp_path / log,
            webhook_secret=SECRET,
        )
        daemons.append(started)
        return started.start()

    first = daemon("one.log")
    connection = http.client.HTTPConnection("127.0.0.1", first.http_port, timeout=10)
    for n in range(BEATS):
        assert post(connection, f"hb-{n}") == (200, {"action": "heartbeat", "resumed": False})
    answered_by = time.time()
    first.kill()  # at once: the last commits are within the flush window
    connection.close()

    assert recorded(engine) == BEATS
    with transaction(engine) as session:
        watch = session.get(MonitorRow, heartbeat.MONITOR)
        assert watch is not None
        assert watch.last_seen_at is not None
        last = session.scalar(
            select(col(SignalRow.received_at)).where(col(SignalRow.event_id) == f"hb-{BEATS - 1}")
        )
    assert last is not None
    assert watch.last_seen_at == last
    assert last.timestamp() <= answered_by

    second = daemon("two.log")
    connection = http.client.HTTPConnection("127.0.0.1", second.http_port, timeout=10)
    for n in (0, BEATS // 2, BEATS - 1):
        status, answer = post(connection, f"hb-{n}")
        assert (status, answer.get("duplicate")) == (200, True)
    connection.close()
    assert recorded(engine) == BEATS
