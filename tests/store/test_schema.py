"""The schema is found current by one query, without Alembic; only a database that is not at
this version's head loads Alembic, to migrate it or to say what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text

from dispatcher.store import schema
from dispatcher.store.db import make_engine
from dispatcher.store.migrate import alembic_config, head_revision
from dispatcher.store.schema import SchemaMismatch
from tests.support.databases import BACKENDS, PgDatabases


def test_head_is_alembics_head(engine: Engine) -> None:
    """A new migration must move `schema.HEAD` too, or every start would run Alembic (and
    a database at the new head would be taken for an old one)."""
    assert head_revision(engine) == schema.HEAD


def test_a_migrated_database_is_at_head(engine: Engine) -> None:
    assert schema.at_head(engine)
    schema.check(engine)
    assert schema.upgrade_if_behind(engine) is False


def test_an_older_schema_is_refused_by_the_check_and_migrated_by_the_daemon(
    engine: Engine,
) -> None:
    command.downgrade(alembic_config(engine), "-1")
    with engine.connect() as conn:
        older = schema.current_revision(conn) or ""
    assert older != schema.HEAD
    with pytest.raises(SchemaMismatch, match=f"at revision {older}, not the newest"):
        schema.check(engine)
    assert schema.upgrade_if_behind(engine) is True
    assert schema.at_head(engine)


def test_a_newer_schema_is_refused_and_left_alone(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaMismatch, match="9999, which this version of the dispatcher"):
        schema.check(engine)
    with pytest.raises(SchemaMismatch, match="a newer version migrated it"):
        schema.upgrade_if_behind(engine)
    with engine.connect() as conn:
        assert schema.current_revision(conn) == "9999"


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that was never migrated."""
    if request.param != "postgresql":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    databases: PgDatabases = request.getfixturevalue("pg_databases")
    url = databases.new(migrated=False)
    yield url
    databases.drop(url)


def test_a_fresh_database_has_no_revision_and_is_migrated(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            assert schema.current_revision(conn) is None
        with pytest.raises(SchemaMismatch, match="never migrated"):
            schema.check(engine)
        assert schema.upgrade_if_behind(engine) is True
        assert schema.at_head(engine)
    finally:
        engine.dispose()
