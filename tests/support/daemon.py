"""`dispatcher serve` as a real child process, for tests that kill it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from dispatcher.mailcatcher import free_port

ROOT = Path(__file__).resolve().parents[2]


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

    def start(self) -> DaemonProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dispatcher", "serve"],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._healthy, what=f"the daemon to answer /healthz (log: {self.log})")
        return self

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
