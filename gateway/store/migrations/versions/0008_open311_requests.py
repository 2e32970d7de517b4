"""open311 requests: service, location, media link, attributes and token of Open311 POSTs

Revision ID: 0008
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.store.models

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open311_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("client", sa.String(length=255), nullable=False),
        sa.Column("region_code", sa.String(length=8), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=255), nullable=True),
        sa.Column("description_digest", sa.String(length=64), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("long", sa.Float(), nullable=True),
        sa.Column("address_string", sa.Text(), nullable=True),
        sa.Column("address_id", sa.String(length=255), nullable=True),
        sa.Column("media_url", sa.Text(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("created_at", gateway.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbound_messages.id"],
            name=op.f("fk_open311_requests_inbound_id_inbound_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_requests")),
        sa.UniqueConstraint("inbound_id", name=op.f("uq_open311_requests_inbound_id")),
        sa.UniqueConstraint("token", name=op.f("uq_open311_requests_token")),
    )
    with op.batch_alter_table("open311_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_open311_requests_device",
            ["client", "device_id", "description_digest"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_open311_requests_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("open311_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_open311_requests_created_at"))
        batch_op.drop_index("ix_open311_requests_device")
    op.drop_table("open311_requests")
