"""A PostgreSQL server of a test's own, for a test that stops and starts its database server:
`initdb` into a temporary folder, a free loopback port, started and stopped by the test with
`pg_ctl`, so the shared server (and every test running beside it) is never touched.

PostgreSQL refuses to run as root; as root (CI) the server runs as the `postgres` user, in a
folder of its own under the system's temporary folder (pytest's are private to root).
"""

from __future__ import annotations

import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from dispatcher.store.db import make_engine
from dispatcher.store.migrate import upgrade

DATABASE = "dispatcher"


def server_programs() -> Path | None:
    """The folder with `initdb` and `pg_ctl` (Debian keeps them out of PATH), if installed."""
    found = shutil.which("initdb")
    if found is not None:
        return Path(found).parent
    folders = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name.split(".")[0])
    )
    return next((f for f in reversed(folders) if (f / "initdb").exists()), None)


def quiet_port() -> int:
    """A free loopback port below the kernel's range for ephemeral ports, so no socket the
    kernel numbers (another test's server or client) can take it while the server is down."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(100):
        port = random.randrange(10_000, low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free loopback port between 10000 and {low}")


@dataclass(frozen=True)
class OwnPostgres:
    """A stopped or running server; `url` reaches its migrated database `dispatcher`."""

    programs: Path
    folder: Path
    port: int
    user: str | None  # run the programs as this user (when the tests run as root)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def server(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.server}/{DATABASE}"

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self.programs / program), *arguments]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, f"{program} failed: {done.stdout}{done.stderr}"

    def init(self) -> None:
        # --no-sync and fsync=off: a test server need not survive a power cut, only restarts.
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": "''",
            "fsync": "off",
            "max_connections": "50",
        }
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())

    def start(self) -> None:
        log = self.folder / "server.log"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(log), "-w", "-t", "60", "start")

    def stop(self) -> None:
        """A fast shutdown: every connection is cut, as when the server restarts."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self) -> None:
        admin = create_engine(f"{self.server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
        admin.dispose()
        engine = make_engine(self.url)
        upgrade(engine)
        engine.dispose()


@contextmanager
def own_postgres(programs: Path, tmp_path: Path) -> Iterator[OwnPostgres]:
    """A running server with a migrated database, stopped and removed afterwards."""
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        owner = pwd.getpwnam(user)
        folder = Path(tempfile.mkdtemp(prefix="dispatcher-test-pg-"))
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    else:
        folder = tmp_path / "postgres"
        folder.mkdir()
    server = OwnPostgres(programs, folder, quiet_port(), user)
    try:
        server.init()
        server.start()
        server.create_database()
        yield server
    finally:
        if server.running():
            server.stop()
        if user is not None:
            log = folder / "server.log"
            if log.exists():
                shutil.copyfile(log, tmp_path / "postgres-server.log")
            shutil.rmtree(folder, ignore_errors=True)
