"""SMS paging: `delivery.channel`, `person`, `report` and `report_outcome`; reply codes
(`page_code`), the gateway's callbacks seen (`sms_callback`) and pages whose every channel
failed (`page_exhaustion`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import dispatcher.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = dispatcher.store.types.UTCDateTime(timezone=True)


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("channel", _string(10), nullable=False, server_default="email"))
        batch.add_column(sa.Column("person", _string(320), nullable=True))
        batch.add_column(sa.Column("report", _string(20), nullable=True))
        batch.add_column(sa.Column("report_outcome", _string(10), nullable=True))
    op.create_table(
        "page_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("person", _string(320), nullable=False),
        sa.Column("phone", _string(20), nullable=False),
        sa.Column("code", _string(12), nullable=False),
        sa.Column("link_key", _string(32), nullable=False),
        sa.Column("ack_url", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("used_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("link_key"),
    )
    op.create_index("ix_page_code_incident_id", "page_code", ["incident_id"])
    op.create_index("ix_page_code_phone", "page_code", ["phone"])
    op.create_table(
        "sms_callback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _string(20), nullable=False),
        sa.Column("provider_id", _string(64), nullable=False),
        sa.Column("status", _string(20), nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "provider_id", "status"),
    )
    op.create_table(
        "page_exhaustion",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("person", _string(320), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"]),
        sa.PrimaryKeyConstraint("notice_id", "person"),
    )


def downgrade() -> None:
    op.drop_table("page_exhaustion")
    op.drop_table("sms_callback")
    op.drop_index("ix_page_code_phone", table_name="page_code")
    op.drop_index("ix_page_code_incident_id", table_name="page_code")
    op.drop_table("page_code")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("report_outcome")
        batch.drop_column("report")
        batch.drop_column("person")
        batch.drop_column("channel")
