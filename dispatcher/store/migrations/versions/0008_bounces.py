"""Bounces: `delivery.bounced_at`, `dsn_status` and `dsn_diagnostic` (status `bounced`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dispatcher.store.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("bounced_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("dsn_status", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("dsn_diagnostic", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("dsn_diagnostic")
        batch.drop_column("dsn_status")
        batch.drop_column("bounced_at")
