"""The curl and Python examples in docs/sds-integration.md, run as written against a real
`dispatcher serve` (only the port differs), and checked in the database.

Every ```bash block that calls curl and every ```python block must be marked
`<!-- example: NAME -->` so that none escapes this test. The Python example is also run behind
a relay that drops the dispatcher's first answer, as when a reused keep-alive connection is
closed under the client (issue #16): it resends, gets the first answer marked as a duplicate,
and nothing happens twice."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from dispatcher.mailcatcher import MailCatcher
from dispatcher.store.db import transaction
from dispatcher.store.tables import IncidentRow, SignalRow
from tests.support.daemon import ROOT, DaemonProcess

pytestmark = pytest.mark.slow

DOC = ROOT / "docs" / "sds-integration.md"
DOC_URL = "http://127.0.0.1:8080"
SECRET = "sds-webhook-secret-for-the-docs-test"
_MARKED = re.compile(r"<!-- example: ([\w-]+) -->\n```(\w+)\n(.*?)\n```", re.DOTALL)
_BLOCK = re.compile(r"```(\w+)\n(.*?)\n```", re.DOTALL)


def examples() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    found = {name: code for name, _lang, code in _MARKED.findall(text)}
    marked = {code for code in found.values()}
    unmarked = [
        code
        for lang, code in _BLOCK.findall(text)
        if ((lang == "bash" and "curl" in code) or lang == "python") and code not in marked
    ]
    assert not unmarked, f"examples not marked for testing: {unmarked}"
    return found


def test_the_doc_has_a_tested_example_of_each_kind() -> None:
    assert set(examples()) == {
        "curl-outage",
        "curl-update",
        "curl-resolved",
        "curl-heartbeat",
        "python",
    }
    assert all(DOC_URL in code for code in examples().values())


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    returncode: int
    stderr: str


class Runner:
    """Runs one language's examples against the daemon at `url` with the secret in the
    environment, as an SDS engineer would after `export SDS_WEBHOOK_SECRET=…`."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.code = {name: code.replace(DOC_URL, url) for name, code in examples().items()}
        self.script = folder / "sds_signal.py"
        self.script.write_text(self.code["python"], encoding="utf-8")

    def run(self, language: str, kind: str, *, secret: str = SECRET) -> Answer:
        env = {**os.environ, "SDS_WEBHOOK_SECRET": secret}
        if language == "curl":
            argv = ["bash", "-euo", "pipefail", "-c", self.code[f"curl-{kind}"]]
        else:
            argv = [sys.executable, str(self.script), kind]
        done = subprocess.run(
            argv, check=False, env=env, cwd=self.folder, capture_output=True, text=True, timeout=60
        )
        # Both print the JSON answer, then `HTTP <status>`: curl on stdout always (its own
        # complaint about an error goes to stderr), the Python example on stderr for an error.
        output = done.stdout if language == "curl" or done.returncode == 0 else done.stderr
        lines = output.strip().splitlines()
        assert len(lines) >= 2, (done.returncode, done.stdout, done.stderr)
        status = int(lines[-1].removeprefix("HTTP "))
        return Answer(status, json.loads(lines[-2]), done.returncode, done.stderr)


def incidents(engine: Engine) -> list[IncidentRow]:
    with transaction(engine) as session:
        return list(session.scalars(select(IncidentRow).order_by(col(IncidentRow.id))))


def signals(engine: Engine) -> int:
    with transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(SignalRow)) or 0


@pytest.fixture
def daemon(database_url: str, smtp: MailCatcher, tmp_path: Path) -> Iterator[DaemonProcess]:
    process = DaemonProcess(
        database_url=database_url,
        smtp_port=smtp.port,
        log=tmp_path / "daemon.log",
        webhook_secret=SECRET,
    )
    try:
        yield process.start()
        assert process.terminate() == 0
    finally:
        process.stop_quietly()


@pytest.mark.parametrize("language", ["curl", "python"])
def test_the_examples_work_against_a_real_daemon(
    language: str, daemon: DaemonProcess, engine: Engine, tmp_path: Path
) -> None:
    runner = Runner(f"http://127.0.0.1:{daemon.http_port}", tmp_path)

    outage = runner.run(language, "outage")
    assert (outage.returncode, outage.status) == (0, 201), outage
    assert outage.body == {"action": "opened", "incident": 1}
    [incident] = incidents(engine)
    assert incident.source == "sds"
    assert incident.summary == "FMK svarer ikke"
    assert incident.details == "Alle kald til FMK fejler med timeout. SDS undersøger fejlen."
    assert incident.severity == "down"
    assert incident.down_since.isoformat() == "2021-12-31T02:55:00+00:00"

    again = runner.run(language, "outage")  # as written, twice: idempotent
    assert (again.returncode, again.status) == (0, 201), again
    assert again.body == {"action": "opened", "incident": 1, "duplicate": True}
    assert len(incidents(engine)) == 1

    update = runner.run(language, "update")
    assert (update.returncode, update.status) == (0, 200), update
    assert update.body == {"action": "attached", "incident": 1}
    assert incidents(engine)[0].sds_note == (
        "Fejlen er fundet i databaseklyngen\n\n"
        "SDS genstarter databaseklyngen og forventer, at FMK kører igen kl. 06."
    )

    resolved = runner.run(language, "resolved")
    assert (resolved.returncode, resolved.status) == (0, 200), resolved
    assert resolved.body["incident"] == 1
    assert resolved.body["action"] in {"recovering", "awaiting_owner", "resolved"}

    heartbeat = runner.run(language, "heartbeat")
    assert (heartbeat.returncode, heartbeat.status) == (0, 200), heartbeat
    assert heartbeat.body["action"] == "heartbeat"

    assert signals(engine) == 4
    log = daemon.log.read_text()
    assert "sds_signal.answered" in log
    assert SECRET not in log


@pytest.mark.parametrize("language", ["curl", "python"])
def test_the_examples_fail_loudly_with_the_wrong_secret(
    language: str, daemon: DaemonProcess, engine: Engine, tmp_path: Path
) -> None:
    runner = Runner(f"http://127.0.0.1:{daemon.http_port}", tmp_path)
    answer = runner.run(language, "outage", secret="not-the-shared-secret")
    assert answer.returncode != 0
    assert answer.status == 401
    assert answer.body["error"] == "bad_signature"
    assert incidents(engine) == []
    assert signals(engine) == 0


# --- a connection closed before the answer: the Python example resends, safely -----------


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


class DroppingRelay:
    """Forwards each HTTP request to `port` and its answer back, except that it closes the
    first client connection without the answer (after the dispatcher has answered)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                request = read_request(conn)
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as upstream:
                    upstream.sendall(request)
                    answer = b"".join(iter(lambda: upstream.recv(65536), b""))
                if self.connections > 1:
                    conn.sendall(answer)

    def close(self) -> None:
        self.listener.close()


def test_the_python_example_resends_after_a_dropped_answer(
    daemon: DaemonProcess, engine: Engine, tmp_path: Path
) -> None:
    relay = DroppingRelay(daemon.http_port)
    try:
        script = tmp_path / "sds_signal.py"
        script.write_text(examples()["python"].replace(DOC_URL, relay.url), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, str(script), "outage"],
            check=False,
            env={**os.environ, "SDS_WEBHOOK_SECRET": SECRET},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        relay.close()
    assert done.returncode == 0, done.stderr
    assert "attempt 1:" in done.stderr
    assert done.stdout.splitlines() == [
        '{"action": "opened", "incident": 1, "duplicate": true}',
        "HTTP 201",
    ]
    assert relay.connections == 2
    assert len(incidents(engine)) == 1
    assert signals(engine) == 1
