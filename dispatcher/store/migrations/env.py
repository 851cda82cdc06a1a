"""Alembic environment: runs against the engine the caller put in `config.attributes`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine
from sqlmodel import SQLModel

import dispatcher.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

engine = context.config.attributes["engine"]
assert isinstance(engine, Engine)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
