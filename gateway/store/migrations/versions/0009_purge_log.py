"""purge log: what `lapor-gateway purge` removed, one row per batch

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.store.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "purge_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("ran_at", gateway.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cutoff", gateway.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("older_than_days", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("tracking_refs", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purge_log")),
    )
    op.create_index(op.f("ix_purge_log_run_id"), "purge_log", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_purge_log_run_id"), table_name="purge_log")
    op.drop_table("purge_log")
