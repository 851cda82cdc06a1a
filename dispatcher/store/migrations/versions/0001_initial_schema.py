"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 02:12:20.931157
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import dispatcher.store.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("impact", sa.Text(), nullable=False),
        sa.Column("guidance", sa.Text(), nullable=False),
        sa.Column("hold", sa.Boolean(), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("opened_by", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("updates_sent", sa.Integer(), nullable=False),
        sa.Column("down_since", dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "acknowledged_at", dispatcher.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("informed_at", dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "last_notice_at", dispatcher.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "next_update_at", dispatcher.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("closed_at", dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_next_update_at"), ["next_update_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_incident_status"), ["status"], unique=False)

    op.create_table(
        "replica",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("hostname", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "last_seen_at", dispatcher.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("created_at", dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "sequence"),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_timeline_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("rfc_message_id", sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
        sa.Column("envelope_from", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notice.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("notice_id", "audience"),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_notice_id"), ["notice_id"], unique=False)

    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("enqueued_at", dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "next_attempt_at", dispatcher.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "claimed_until", dispatcher.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("claim_token", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("finished_at", dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_reply", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", "recipient"),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_message_id"), ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_message_id"))
        batch_op.drop_index("ix_delivery_due")

    op.drop_table("delivery")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_notice_id"))

    op.drop_table("message")
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timeline_incident_id"))

    op.drop_table("timeline")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_incident_id"))

    op.drop_table("notice")
    op.drop_table("replica")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_status"))
        batch_op.drop_index(batch_op.f("ix_incident_next_update_at"))

    op.drop_table("incident")
