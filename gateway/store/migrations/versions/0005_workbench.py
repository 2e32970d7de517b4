"""operators' workbench: notes, forwarded_at (follow-up SLA), lapor_sync_error, list indexes

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.store.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaint_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("complaint_id", sa.String(length=36), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", gateway.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_notes_complaint_id_complaints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_notes")),
    )
    with op.batch_alter_table("complaint_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_notes_complaint_id"), ["complaint_id"], unique=False
        )

    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "forwarded_at", gateway.store.models.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("lapor_sync_error", sa.Text(), nullable=True))
        batch_op.create_index("ix_complaints_received", ["received_at", "id"], unique=False)
        batch_op.create_index(
            "ix_complaints_region_received", ["region_code", "received_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_complaints_status_received", ["status", "received_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_complaints_lapor_tracking_id", ["lapor_tracking_id"], unique=False
        )
        batch_op.create_index(
            "ix_complaints_possible_duplicate_of", ["possible_duplicate_of"], unique=False
        )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_complaint", ["complaint_id", "id"], unique=False)

    # Complaints forwarded before this revision: the time of their first `forwarded` event.
    op.execute(
        """
        UPDATE complaints SET forwarded_at = (
            SELECT MIN(events.ts) FROM events
            WHERE events.complaint_id = complaints.id
              AND events.kind = 'forward' AND events.outcome = 'forwarded'
        )
        WHERE lapor_tracking_id IS NOT NULL
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_complaint")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_complaints_possible_duplicate_of")
        batch_op.drop_index("ix_complaints_lapor_tracking_id")
        batch_op.drop_index("ix_complaints_status_received")
        batch_op.drop_index("ix_complaints_region_received")
        batch_op.drop_index("ix_complaints_received")
        batch_op.drop_column("lapor_sync_error")
        batch_op.drop_column("forwarded_at")
    with op.batch_alter_table("complaint_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_notes_complaint_id"))
    op.drop_table("complaint_notes")
