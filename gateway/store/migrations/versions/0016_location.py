"""location: where the problem is (coordinates, address) on inbound messages and complaints

Revision ID: 0016
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("inbound_messages", "complaints"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("location", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in ("complaints", "inbound_messages"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("location")
