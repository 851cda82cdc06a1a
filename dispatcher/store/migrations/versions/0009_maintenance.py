"""Planned maintenance windows: `maintenance`, `maintenance_event`, and notices about a window
(`notice.maintenance_id`, `due_at`, `withdrawn_at`); `alert_group` for Alertmanager's and
PagerDuty's alerts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import dispatcher.store.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, dispatcher.store.types.UTCDateTime(timezone=True), nullable=nullable)


def _string(name: str, length: int, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "maintenance",
        sa.Column("id", sa.Integer(), nullable=False),
        _string("uid", 36, nullable=False),
        _string("reference", 128),
        _string("status", 20, nullable=False),
        _time("starts_at", nullable=False),
        _time("ends_at", nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("scope_label", sa.Text(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        _time("created_at", nullable=False),
        _string("created_by", 320, nullable=False),
        _time("down_since", nullable=True),
        _string("down_summary", 200),
        sa.Column("down_details", sa.Text(), nullable=True),
        _string("down_severity", 20),
        sa.Column("down_scope", sa.Text(), nullable=True),
        sa.Column("down_scope_label", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
        sa.UniqueConstraint("reference"),
    )
    with op.batch_alter_table("maintenance") as batch:
        batch.create_index(batch.f("ix_maintenance_ends_at"), ["ends_at"], unique=False)
    op.create_table(
        "maintenance_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("maintenance_id", sa.Integer(), nullable=False),
        _time("at", nullable=False),
        _string("actor", 320, nullable=False),
        _string("kind", 40, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["maintenance_id"], ["maintenance.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("maintenance_event") as batch:
        batch.create_index(
            batch.f("ix_maintenance_event_maintenance_id"), ["maintenance_id"], unique=False
        )
    op.create_table(
        "alert_group",
        _string("key", 80, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("truncated_alerts", sa.Integer(), nullable=False),
        _time("updated_at", nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("notice") as batch:
        batch.add_column(sa.Column("maintenance_id", sa.Integer(), nullable=True))
        batch.add_column(_time("due_at", nullable=True))
        batch.add_column(_time("withdrawn_at", nullable=True))
        batch.create_foreign_key(
            "fk_notice_maintenance_id", "maintenance", ["maintenance_id"], ["id"]
        )
        batch.create_unique_constraint(
            "uq_notice_maintenance_sequence", ["maintenance_id", "sequence"]
        )
        batch.create_index(batch.f("ix_notice_maintenance_id"), ["maintenance_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notice") as batch:
        batch.drop_index(batch.f("ix_notice_maintenance_id"))
        batch.drop_constraint("uq_notice_maintenance_sequence", type_="unique")
        batch.drop_constraint("fk_notice_maintenance_id", type_="foreignkey")
        batch.drop_column("withdrawn_at")
        batch.drop_column("due_at")
        batch.drop_column("maintenance_id")
    op.drop_table("alert_group")
    op.drop_table("maintenance_event")
    op.drop_table("maintenance")
