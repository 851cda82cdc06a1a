"""The replica row carries its background tasks' health: `replica.tasks`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("replica") as batch:
        batch.add_column(sa.Column("tasks", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("replica") as batch:
        batch.drop_column("tasks")
