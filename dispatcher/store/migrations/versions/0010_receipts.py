"""Who has been told: receipt confirmations (`receipt`), the relay's health (`relay`), and the
incident's follow-up timers (`reminder_at`, `call_list_at`, `relay_alerted_for`,
`hold_nudge_at`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import dispatcher.store.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMERS = ("reminder_at", "call_list_at", "relay_alerted_for", "hold_nudge_at")


def _time(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, dispatcher.store.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "receipt",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("municipality_code", sa.Integer(), nullable=False),
        _time("confirmed_at", nullable=False),
        _time("link_issued_at", nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("incident_id", "municipality_code"),
    )
    relay = op.create_table(
        "relay",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        _time("failing_since", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _time("last_ok_at", nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(relay, [{"name": "smtp"}])
    with op.batch_alter_table("incident") as batch:
        for name in TIMERS:
            batch.add_column(_time(name, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident") as batch:
        for name in reversed(TIMERS):
            batch.drop_column(name)
    op.drop_table("relay")
    op.drop_table("receipt")
