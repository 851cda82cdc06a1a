"""`dispatcher serve` as a real child process, for tests that kill it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import col

from dispatcher.mailcatcher import free_port
from dispatcher.store.db import transaction
from dispatcher.store.tables import LEADER_LEASE, LeaderLeaseRow, ReplicaRow

ROOT = Path(__file__).resolve().parents[2]
PORT_TAKEN = "cannot listen on 127.0.0.1:{port}: Address already in use"
PORT_ATTEMPTS = 3


def wait_for(
    condition: Callable[[], bool], *, timeout: float = 30.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class DaemonProcess:
    def __init__(self, *, database_url: str, smtp_port: int, log: Path, **settings: str) -> None:
        self.http_port = free_port()
        self.log = log
        self.env = {
            **os.environ,
            "DISPATCHER_DATABASE_URL": database_url,
            "DISPATCHER_SMTP_HOST": "127.0.0.1",
            "DISPATCHER_SMTP_PORT": str(smtp_port),
            "DISPATCHER_HTTP_PORT": str(self.http_port),
            "DISPATCHER_CONTACTS_DIR": str(ROOT / "contacts"),
            "DISPATCHER_TEMPLATES_DIR": str(ROOT / "templates"),
            "DISPATCHER_TICK_SECONDS": "0.5",
            **{f"DISPATCHER_{k.upper()}": v for k, v in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> DaemonProcess:
        """Start the process without waiting for it (see `start`, `wait_healthy`)."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dispatcher", "serve"],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_healthy(self, timeout: float = 30.0) -> DaemonProcess:
        wait_for(
            self._healthy,
            timeout=timeout,
            what=f"the daemon to answer /healthz (log: {self.log})",
        )
        return self

    def start(self) -> DaemonProcess:
        """Spawn and wait until healthy. The port is picked free before the process binds it,
        so a test in another worker may take it meanwhile: then the daemon is started again on
        another port (and its log is as if the attempt had never been)."""
        for _ in range(PORT_ATTEMPTS - 1):
            logged = self.log.stat().st_size if self.log.exists() else 0
            try:
                return self.spawn().wait_healthy()
            except AssertionError:
                if not self._lost_its_port(since=logged):
                    raise
            with self.log.open("r+b") as log:
                log.truncate(logged)
            self.http_port = free_port()
            self.env["DISPATCHER_HTTP_PORT"] = str(self.http_port)
        return self.spawn().wait_healthy()

    def _lost_its_port(self, *, since: int) -> bool:
        """Whether the process exited because its port was taken (its log after `since`)."""
        if self.alive():
            return False
        with self.log.open("rb") as log:
            log.seek(since)
            return PORT_TAKEN.format(port=self.http_port) in log.read().decode(errors="replace")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def answers(self, path: str = "/healthz") -> bool:
        """Whether `path` answers 200 now (False, not an error, if the process has exited)."""
        if not self.alive():
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=1):
                return True
        except OSError:  # refused, timed out, or an HTTP error status
            return False

    def replica(self, engine: Engine) -> str | None:
        """This process's replica id (its row in `replica`), once it has registered."""
        with transaction(engine) as session:
            return session.scalar(
                select(col(ReplicaRow.id))
                .where(col(ReplicaRow.pid) == self.pid)
                .order_by(col(ReplicaRow.started_at).desc())
                .limit(1)
            )

    def leads(self, engine: Engine) -> bool:
        """Whether this process holds the unexpired leader lease."""
        lease = leader_lease(engine)
        return lease.live and lease.holder is not None and lease.holder == self.replica(engine)

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(
                f"daemon exited with {self.process.returncode}: {self.log.read_text()}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/healthz", timeout=1):
                return True
        except OSError:
            return False

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, as when the host loses power."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop_quietly(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass(frozen=True)
class LeaseState:
    holder: str | None
    epoch: int
    expires_at: datetime | None

    @property
    def live(self) -> bool:
        """Held and not yet expired (by this host's clock)."""
        return (
            self.holder is not None
            and self.expires_at is not None
            and self.expires_at > datetime.now(UTC)
        )


def leader_lease(engine: Engine) -> LeaseState:
    """The `leader_lease` row as it is now."""
    with transaction(engine) as session:
        row = session.get(LeaderLeaseRow, LEADER_LEASE)
        assert row is not None, "the migrations create the lease row"
        return LeaseState(row.holder, row.epoch, row.expires_at)
