"""indexes for intake's duplicate check and the console's queries at scale

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# name, table, columns: each turns a scan of a table that grows by every complaint into a
# lookup. The possible-duplicate check joins a reporter's complaints (reporter_id) of the
# last hours (created_at); complaint lists sort by created_at, per region by (region, time);
# the live log filters events by region in id order; inbound lists go by ingested_at.
INDEXES = [
    ("ix_complaints_reporter_id", "complaints", ["reporter_id"]),
    ("ix_complaints_created_at", "complaints", ["created_at"]),
    ("ix_complaints_region_created", "complaints", ["region_code", "created_at"]),
    ("ix_events_region_id", "events", ["region_code", "id"]),
    ("ix_inbound_messages_ingested_at", "inbound_messages", ["ingested_at"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
