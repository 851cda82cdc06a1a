"""The Alembic migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import SQLModel

import dispatcher.store.tables  # noqa: F401
from dispatcher.store.db import make_engine
from dispatcher.store.migrate import current_revision, head_revision, is_current, upgrade
from tests.support.databases import BACKENDS, PgDatabases


def test_migrated_schema_matches_the_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_current(engine: Engine) -> None:
    assert is_current(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL not tested")
def test_replicas_migrating_a_fresh_postgresql_database_at_once_take_turns(
    pg_databases: PgDatabases,
) -> None:
    """Two replicas starting together on an empty database must not both create the tables."""
    url = pg_databases.new(migrated=False)
    engines = [make_engine(url) for _ in range(3)]
    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            list(pool.map(upgrade, engines))
        assert all(is_current(e) for e in engines)
    finally:
        for engine in engines:
            engine.dispose()
        pg_databases.drop(url)
