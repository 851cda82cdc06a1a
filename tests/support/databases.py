"""Fresh, migrated databases for tests: a SQLite file, or a PostgreSQL database cloned from a
migrated template on the local server."""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from dispatcher.store.db import make_engine
from dispatcher.store.migrate import upgrade

PG_SERVER = os.environ.get("DISPATCHER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
BACKENDS = tuple(
    b.strip() for b in os.environ.get("DISPATCHER_TEST_BACKENDS", "sqlite,postgresql").split(",")
)


class PgDatabases:
    """Creates `<prefix>_<n>` databases from one migrated template; drops them all at the end."""

    def __init__(self) -> None:
        self._prefix = f"dispatcher_test_{uuid.uuid4().hex[:8]}"
        self._admin = create_engine(
            f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT", pool_pre_ping=True
        )
        self._counter = itertools.count()
        self._template = f"{self._prefix}_template"
        self._execute(f'CREATE DATABASE "{self._template}"')
        engine = make_engine(f"{PG_SERVER}/{self._template}")
        upgrade(engine)
        engine.dispose()
        self._created: list[str] = []

    def _execute(self, sql: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(sql))

    def new(self) -> str:
        name = f"{self._prefix}_{next(self._counter)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        self._created.append(name)
        return f"{PG_SERVER}/{name}"

    def drop_all(self) -> None:
        for name in [*self._created, self._template]:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin.dispose()


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
