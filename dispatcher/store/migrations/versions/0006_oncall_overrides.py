"""Overrides of the on-call rota: `oncall_override`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import dispatcher.store.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = dispatcher.store.types.UTCDateTime(timezone=True)


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "oncall_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person", _string(320), nullable=False),
        sa.Column("replaces", _string(320), nullable=True),
        sa.Column("starts_at", _TIME, nullable=False),
        sa.Column("ends_at", _TIME, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by", _string(320), nullable=False),
        sa.Column("removed_at", _TIME, nullable=True),
        sa.Column("removed_by", _string(320), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_oncall_override_ends_at", "oncall_override", ["ends_at"])


def downgrade() -> None:
    op.drop_index("ix_oncall_override_ends_at", table_name="oncall_override")
    op.drop_table("oncall_override")
