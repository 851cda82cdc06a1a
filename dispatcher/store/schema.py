"""Is the schema current? Answered by one query, without Alembic, for the common case.

`HEAD` is the newest migration this version ships (tests/store/test_schema.py keeps it equal
to Alembic's head). A database whose `alembic_version` holds exactly `HEAD` is current; only
otherwise does a caller load Alembic (`dispatcher.store.migrate`), to migrate or to explain
what is wrong. Importing Alembic and reading its scripts takes longer than everything else a
read-only command does, and `dispatcher serve` would pay it at every start.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, inspect, text

from dispatcher.store.engine import READ_ONLY

HEAD = "0011"
VERSION_TABLE = "alembic_version"


class SchemaMismatch(Exception):
    """The database's schema is not the one this version of the dispatcher works with; the
    message says which and what to do."""


def current_revision(conn: Connection) -> str | None:
    """The revision in the version table, or None if it is missing or empty (never migrated).
    More than one row (Alembic branches, which this project does not use) is an error."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()  # noqa: S608
    if len(rows) > 1:
        raise ValueError(f"{VERSION_TABLE} holds {len(rows)} revisions: {', '.join(rows)}")
    return rows[0] if rows else None


def at_head(engine: Engine) -> bool:
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        return current_revision(conn) == HEAD


def check(engine: Engine) -> None:
    """Return if the schema is current; else raise `SchemaMismatch`, saying why."""
    if at_head(engine):
        return
    from dispatcher.store.migrate import check_schema

    check_schema(engine)


def upgrade_if_behind(engine: Engine) -> bool:
    """Migrate unless the schema is already current (`migrate.upgrade` refuses a newer one);
    whether Alembic ran."""
    if at_head(engine):
        return False
    from dispatcher.store.migrate import upgrade

    upgrade(engine)
    return True
