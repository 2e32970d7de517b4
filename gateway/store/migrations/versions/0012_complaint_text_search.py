"""complaint text search: a trigram index over complaints' text and subject

SQLite: an FTS5 table with the trigram tokenizer (substring search, case-insensitive),
kept by triggers from `complaints` (external content, so the text is stored once).
PostgreSQL: pg_trgm GIN indexes, which `ILIKE '%…%'` uses. Without the pg_trgm extension
(a server that does not ship it), the indexes are left out with a warning: search still
works, by scanning.

Also the indexes "overdue" needs, per region and for the admin's all-regions count: both
halves (waiting since `received_at`, forwarded since `forwarded_at`) as index ranges. The
(region, status, received_at, id) index replaces (region, status), its prefix.

Revision ID: 0012
Revises: 0015
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0015"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

INDEXES = {
    "ix_complaints_status_forwarded": ["status", "forwarded_at"],
    "ix_complaints_region_status_received": ["region_code", "status", "received_at", "id"],
    "ix_complaints_region_status_forwarded": ["region_code", "status", "forwarded_at"],
}
SQLITE_UP = [
    "CREATE VIRTUAL TABLE complaints_fts USING fts5("
    "subject, text, content='complaints', content_rowid='rowid', tokenize='trigram')",
    "CREATE TRIGGER complaints_fts_insert AFTER INSERT ON complaints BEGIN "
    "INSERT INTO complaints_fts(rowid, subject, text) VALUES (new.rowid, new.subject, new.text); "
    "END",
    "CREATE TRIGGER complaints_fts_delete AFTER DELETE ON complaints BEGIN "
    "INSERT INTO complaints_fts(complaints_fts, rowid, subject, text) "
    "VALUES ('delete', old.rowid, old.subject, old.text); END",
    "CREATE TRIGGER complaints_fts_update AFTER UPDATE OF subject, text ON complaints BEGIN "
    "INSERT INTO complaints_fts(complaints_fts, rowid, subject, text) "
    "VALUES ('delete', old.rowid, old.subject, old.text); "
    "INSERT INTO complaints_fts(rowid, subject, text) VALUES (new.rowid, new.subject, new.text); "
    "END",
    "INSERT INTO complaints_fts(complaints_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "complaints", columns)
    op.drop_index("ix_complaints_region_status", table_name="complaints")
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as e:
        log.warning("pg_trgm unavailable (%s): complaint search will scan", e.orig)
        return
    for column in ("text", "subject"):
        op.execute(
            f"CREATE INDEX ix_complaints_{column}_trgm ON complaints "
            f"USING gin ({column} gin_trgm_ops)"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS complaints_fts_{name}")
        op.execute("DROP TABLE IF EXISTS complaints_fts")
    else:
        for column in ("text", "subject"):
            op.execute(f"DROP INDEX IF EXISTS ix_complaints_{column}_trgm")
    op.create_index("ix_complaints_region_status", "complaints", ["region_code", "status"])
    for name in INDEXES:
        op.drop_index(name, table_name="complaints")
