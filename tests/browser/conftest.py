"""A real HTTP server with the status page and a real headless Chromium to look at it.

Chromium is Debian's `chromium` package (`.ci/run` installs it). Without it the browser tests
are skipped on a developer's machine, but fail in CI (`CI` set): there they must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine

from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.http.app import create_app
from dispatcher.mailcatcher import free_port
from dispatcher.notices.render import NoticeRenderer
from dispatcher.runtime import Runtime
from tests.support.clock import FakeClock
from tests.support.databases import SqliteDatabases
from tests.support.registry import few_municipalities

CHROMIUM_TIMEOUT = 60


@pytest.fixture
def database_url(sqlite_databases: SqliteDatabases) -> str:
    """SQLite only: what the browser sees does not depend on the backend (tests/http checks
    both)."""
    return sqlite_databases.new()


@pytest.fixture
def runtime(
    settings: Settings, engine: Engine, registry: Registry, renderer: NoticeRenderer
) -> Runtime:
    """A few municipalities instead of 98, so that each notice renders quickly."""
    return Runtime(settings, engine, few_municipalities(registry), renderer)


@pytest.fixture
def server(runtime: Runtime, clock: FakeClock) -> Iterator[str]:
    """uvicorn serving the daemon's app on a free loopback port; its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(runtime, clock),
        host="127.0.0.1",
        port=port,
        # As the daemon does: uvicorn's own log config would reconfigure the process's
        # loggers for every later test.
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="status-page-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@dataclass(frozen=True)
class Chromium:
    """`chromium --headless` as a subprocess, with a profile of its own."""

    executable: str
    profile: Path

    def run(self, url: str, *options: str) -> subprocess.CompletedProcess[bytes]:
        command = [
            self.executable,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={self.profile}",
            *options,
            url,
        ]
        done = subprocess.run(command, capture_output=True, timeout=CHROMIUM_TIMEOUT, check=False)
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
        return done

    def dom(self, url: str) -> str:
        """The DOM after loading `url`, serialised."""
        return self.run(url, "--dump-dom").stdout.decode()

    def screenshot(self, url: str, path: Path, *, width: int, height: int) -> bytes:
        """A PNG of the first `width`×`height` pixels of the page, also written to `path`."""
        self.run(url, f"--screenshot={path}", f"--window-size={width},{height}")
        return path.read_bytes()


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs these tests")
    return found


@pytest.fixture
def chromium(chromium_executable: str, tmp_path: Path) -> Chromium:
    return Chromium(chromium_executable, tmp_path / "chromium-profile")
