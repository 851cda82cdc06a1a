"""Fresh, migrated databases for tests: a SQLite file, or a PostgreSQL database cloned from a
migrated template on the local server.

Under pytest-xdist each worker has its own `PgDatabases` (a session fixture is per worker), with
the worker's name and a random part in its prefix, so workers and other test runs on the same
server never meet. A test's database is dropped in the background as soon as the test is done:
PostgreSQL checkpoints for every DROP DATABASE (seconds on a loaded machine), and drops that
wait at once share one checkpoint (here 12 drops took 18 s one after another, 1.3 s at once), so
up to `DROPPERS` threads drop while the suite goes on, instead of one after another at the end.
The threads connect only while they drop, so that idle workers hold no connections.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from dispatcher.store.db import make_engine
from dispatcher.store.migrate import upgrade

PG_SERVER = os.environ.get("DISPATCHER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
BACKENDS = tuple(
    b.strip() for b in os.environ.get("DISPATCHER_TEST_BACKENDS", "sqlite,postgresql").split(",")
)
DROPPERS = 8


def worker() -> str:
    """This process's pytest-xdist worker ("gw0", "gw1", …), or "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


class PgDatabases:
    """Creates `<prefix>_<n>` databases, migrated from one template or empty; drops each when
    its test gives it back (`drop`), and whatever is left at the end (`drop_all`)."""

    def __init__(self) -> None:
        self._prefix = f"dispatcher_test_{worker()}_{uuid.uuid4().hex[:8]}"
        self._admin = create_engine(
            f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        self._counter = itertools.count()
        self._created: set[str] = set()
        self._drops: list[Future[None]] = []
        self._droppers = ThreadPoolExecutor(DROPPERS, thread_name_prefix="drop-test-database")
        self._template = f"{self._prefix}_template"
        self._execute(f'CREATE DATABASE "{self._template}"')
        engine = make_engine(f"{PG_SERVER}/{self._template}")
        upgrade(engine)
        engine.dispose()

    def _execute(self, sql: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(sql))

    def new(self, *, migrated: bool = True) -> str:
        """The URL of a fresh database: a copy of the migrated template, or one never migrated."""
        name = f"{self._prefix}_{next(self._counter)}"
        template = self._template if migrated else "template0"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self._created.add(name)
        return f"{PG_SERVER}/{name}"

    def drop(self, url: str) -> None:
        """Drop the database of `url` (made by `new`) in the background; its test is done."""
        name = make_url(url).database
        assert name in self._created, f"{url} was not made here"
        self._created.discard(name)
        self._drops.append(self._droppers.submit(self._drop, name))

    def _drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_all(self) -> None:
        """Drop every database still there and the template, and wait for all the drops."""
        self._drops += [self._droppers.submit(self._drop, name) for name in self._created]
        self._created.clear()
        wait(self._drops)
        self._drop(self._template)
        self._droppers.shutdown()
        self._admin.dispose()
        for done in self._drops:
            done.result()


class SqliteDatabases:
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._template = folder / "template.db"
        engine = make_engine(f"sqlite:///{self._template}")
        upgrade(engine)
        engine.dispose()
        self._counter = itertools.count()

    def new(self) -> str:
        path = self._folder / f"test-{next(self._counter)}.db"
        shutil.copyfile(self._template, path)
        return f"sqlite:///{path}"
