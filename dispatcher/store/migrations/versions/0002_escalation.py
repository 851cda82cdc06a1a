"""Escalation, SDS signals, heartbeat watch, acknowledgement links.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import dispatcher.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = dispatcher.store.types.UTCDateTime(timezone=True)


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "monitor",
        sa.Column("name", _string(40), nullable=False),
        sa.Column("last_seen_at", _TIME, nullable=True),
        sa.Column("lost_since", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "ack_link",
        sa.Column("nonce", _string(64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("person", _string(320), nullable=False),
        sa.Column("used_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("nonce"),
    )
    op.create_table(
        "signal",
        sa.Column("event_id", _string(128), nullable=False),
        sa.Column("kind", _string(20), nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("body_sha256", _string(64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_signal_received_at", "signal", ["received_at"])

    with op.batch_alter_table("incident") as batch:
        batch.add_column(sa.Column("open_key", _string(20), nullable=True))
        batch.add_column(
            sa.Column("release", _string(20), nullable=False, server_default="immediate")
        )
        batch.add_column(sa.Column("source", _string(20), nullable=False, server_default="cli"))
        batch.add_column(sa.Column("severity", _string(20), nullable=False, server_default="down"))
        batch.add_column(sa.Column("page_round", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("sent_without_ack", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("vendors_alerted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("sds_note", sa.Text(), nullable=True))
        for name in ("next_page_at", "failsafe_at", "fmk_up_since", "all_clear_at"):
            batch.add_column(sa.Column(name, _TIME, nullable=True))
    op.execute("UPDATE incident SET release = 'after_confirm' WHERE hold")
    op.execute(
        "UPDATE incident SET open_key = 'FMK' WHERE id = "
        "(SELECT max(id) FROM incident WHERE status IN ('triggered', 'acknowledged'))"
    )
    with op.batch_alter_table("incident") as batch:
        batch.drop_column("hold")
        batch.drop_column("version")
        batch.create_unique_constraint("uq_incident_open_key", ["open_key"])

    with op.batch_alter_table("notice") as batch:
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute(
        "DELETE FROM delivery WHERE message_id IN (SELECT m.id FROM message m "
        "JOIN notice n ON n.id = m.notice_id WHERE n.incident_id IS NULL)"
    )
    op.execute(
        "DELETE FROM message WHERE notice_id IN (SELECT id FROM notice WHERE incident_id IS NULL)"
    )
    op.execute("DELETE FROM notice WHERE incident_id IS NULL")
    with op.batch_alter_table("notice") as batch:
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("incident") as batch:
        batch.drop_constraint("uq_incident_open_key", type_="unique")
        batch.add_column(sa.Column("hold", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.execute("UPDATE incident SET hold = (release = 'after_confirm')")
    with op.batch_alter_table("incident") as batch:
        for name in (
            "all_clear_at",
            "fmk_up_since",
            "failsafe_at",
            "next_page_at",
            "sds_note",
            "vendors_alerted",
            "sent_without_ack",
            "page_round",
            "severity",
            "source",
            "release",
            "open_key",
        ):
            batch.drop_column(name)
    op.drop_index("ix_signal_received_at", "signal")
    op.drop_table("signal")
    op.drop_table("ack_link")
    op.drop_table("monitor")
