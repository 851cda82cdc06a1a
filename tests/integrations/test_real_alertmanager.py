"""The real Alertmanager (Debian's `prometheus-alertmanager`) fires and resolves a test alert
into a running `dispatcher serve`: loopback only, a throw-away config and data folder, no
cluster listener."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from dispatcher.mailcatcher import MailCatcher, free_port
from dispatcher.store.db import transaction
from dispatcher.store.tables import AlertGroupRow, IncidentRow, SignalRow
from tests.support.daemon import DaemonProcess, wait_for

pytestmark = pytest.mark.slow

BINARY = shutil.which("prometheus-alertmanager")
TOKEN = "alertmanager-test-token-0123456789abcdef"


class Alertmanager:
    def __init__(self, folder: Path, webhook: str) -> None:
        self.port = free_port()
        config = folder / "alertmanager.yml"
        config.write_text(
            "route:\n"
            "  receiver: fmk\n"
            "  group_by: [alertname]\n"
            "  group_wait: 1s\n"
            "  group_interval: 1s\n"
            "  repeat_interval: 2s\n"
            "receivers:\n"
            "  - name: fmk\n"
            "    webhook_configs:\n"
            f"      - url: {webhook}\n"
            "        send_resolved: true\n"
            "        http_config:\n"
            "          authorization:\n"
            "            type: Bearer\n"
            f"            credentials: {TOKEN}\n",
            encoding="utf-8",
        )
        assert BINARY is not None
        self.log = folder / "alertmanager.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    BINARY,
                    f"--config.file={config}",
                    f"--storage.path={folder / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--cluster.listen-address=",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._ready, what=f"Alertmanager to be ready (log: {self.log})")

    def _ready(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1):
                return True
        except OSError:
            return False

    def post(self, alerts: list[dict[str, object]]) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def alert(name: str, *, service: str, ends: datetime | None = None) -> dict[str, object]:
    started = datetime.now(UTC) - timedelta(minutes=1)
    body: dict[str, object] = {
        "labels": {"alertname": name, "service": service, "severity": "critical"},
        "annotations": {"summary": "FMK svarer ikke på opslag", "description": "Probe fejler."},
        "startsAt": started.isoformat(),
    }
    if ends is not None:
        body["endsAt"] = ends.isoformat()
    return body


def count(engine: Engine, table: type[IncidentRow] | type[SignalRow]) -> int:
    with transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def status(engine: Engine) -> list[str]:
    with transaction(engine) as session:
        return list(session.scalars(select(col(IncidentRow.status)).order_by(col(IncidentRow.id))))


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[DaemonProcess | Alertmanager]]:
    started: list[DaemonProcess | Alertmanager] = []
    yield started
    for process in started:
        if isinstance(process, Alertmanager):
            process.stop()
        else:
            process.stop_quietly()


@pytest.mark.skipif(
    BINARY is None and not os.environ.get("CI"),
    reason="prometheus-alertmanager is not installed (.ci/run installs it; in CI this fails)",
)
def test_firing_and_resolving_into_a_running_daemon(
    engine: Engine, database_url: str, tmp_path: Path, processes: list[object]
) -> None:
    with MailCatcher() as smtp:
        daemon = DaemonProcess(
            database_url=database_url,
            smtp_port=smtp.port,
            log=tmp_path / "daemon.log",
            alertmanager_token=TOKEN,
            recovery_window="0",
        )
        processes.append(daemon.start())
        webhook = f"http://127.0.0.1:{daemon.http_port}/api/alertmanager"
        manager = Alertmanager(tmp_path, webhook)
        processes.append(manager)

        manager.post([alert("DiskFull", service="other")])
        log = tmp_path / "daemon.log"
        wait_for(lambda: "alertmanager.ignored" in log.read_text(), what="the other alert")
        assert count(engine, IncidentRow) == 0

        manager.post([alert("FmkProbeFailure", service="FMK")])
        wait_for(lambda: count(engine, IncidentRow) == 1, what="one incident")
        # Repeats (repeat_interval 2 s) and the other group's notifications open nothing more.
        wait_for(lambda: count(engine, SignalRow) >= 1, what="the signal stored")
        first = count(engine, SignalRow)
        deadline = datetime.now(UTC) + timedelta(seconds=6)
        wait_for(lambda: datetime.now(UTC) > deadline, timeout=10, what="repeats")
        assert count(engine, IncidentRow) == 1
        assert count(engine, SignalRow) == first  # repeats are the same event: handled once
        assert status(engine) == ["triggered"]
        with transaction(engine) as session:
            groups = list(session.scalars(select(AlertGroupRow)))
        assert [g.incident_id for g in groups] == [1]

        manager.post(
            [alert("FmkProbeFailure", service="FMK", ends=datetime.now(UTC) - timedelta(seconds=1))]
        )
        wait_for(lambda: status(engine) == ["resolved"], what="the incident resolved")
        assert count(engine, IncidentRow) == 1
