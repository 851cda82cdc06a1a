"""Alembic migrations, run from code: `dispatcher db upgrade`, and by the daemon on start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from dispatcher.store.schema import SchemaMismatch

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x464D4B4D  # "FMKM": one migration at a time per database
UPGRADE = "run `dispatcher db upgrade` (`dispatcher serve` also migrates when it starts)"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate; on PostgreSQL under an advisory lock, so replicas starting together take turns."""
    if engine.dialect.name != "postgresql":
        _refuse_newer(engine)
        command.upgrade(alembic_config(engine), revision)
        return
    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            _refuse_newer(engine)
            command.upgrade(alembic_config(engine), revision)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision(engine)


def is_known(engine: Engine, revision: str) -> bool:
    """Whether `revision` is one of this version's migrations (else a newer version wrote it)."""
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    return any(script.revision == revision for script in scripts.walk_revisions())


def check_schema(engine: Engine) -> None:
    """Raise `SchemaMismatch` unless the schema is at this version's newest revision."""
    current, head = current_revision(engine), head_revision(engine)
    if current == head:
        return
    if current is None:
        raise SchemaMismatch(f"no schema yet (it was never migrated): {UPGRADE}")
    _refuse_newer(engine, current)
    raise SchemaMismatch(f"the schema is at revision {current}, not the newest, {head}: {UPGRADE}")


def _refuse_newer(engine: Engine, current: str | None = None) -> None:
    current = current or current_revision(engine)
    if current is not None and not is_known(engine, current):
        raise SchemaMismatch(
            f"the schema is at revision {current}, which this version of the dispatcher does "
            f"not know (its newest is {head_revision(engine)}): a newer version migrated it; "
            "run that version, or restore a backup"
        )
