"""reporters: (identity field, id) indexes for the possible-duplicate check's newest rows

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# One identity's newest complaints are read by walking (field, id) backwards. With the
# field alone PostgreSQL fetched and sorted the identity's whole history each batch, so a
# number that sent thousands of messages slowed every batch it appeared in.
FIELDS = ("phone", "email", "twitter_id")


def upgrade() -> None:
    for field in FIELDS:
        op.create_index(f"ix_reporters_{field}_id", "reporters", [field, "id"], unique=False)
        op.drop_index(f"ix_reporters_{field}", table_name="reporters")


def downgrade() -> None:
    for field in reversed(FIELDS):
        op.create_index(f"ix_reporters_{field}", "reporters", [field], unique=False)
        op.drop_index(f"ix_reporters_{field}_id", table_name="reporters")
