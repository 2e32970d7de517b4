"""reply statuses: what a provider said about a reply we sent (WhatsApp status callbacks);
a citizen's last message per channel (the 24-hour reply window)

Revision ID: 0010
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.store.models

revision = "0010"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reply_statuses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_at", gateway.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("received_at", gateway.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_statuses")),
        sa.UniqueConstraint("channel", "external_id", "status", name="uq_reply_statuses_status"),
    )
    op.create_index(
        "ix_inbound_channel_sender",
        "inbound_messages",
        ["channel", "sender", "received_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_channel_sender", table_name="inbound_messages")
    op.drop_table("reply_statuses")
