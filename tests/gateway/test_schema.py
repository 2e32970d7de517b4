"""The migrated schema is the models' schema: no model change without its migration."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gateway.store.db import Store
from gateway.store.models import Base


async def test_migrations_build_what_the_models_declare(store: Store) -> None:
    def differences(connection) -> list:  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return [d for d in compare_metadata(context, Base.metadata) if not _ignored(d)]

    async with store.engine.connect() as conn:
        found = await conn.run_sync(differences)
    assert found == []


def _ignored(diff: object) -> bool:
    # Alembic's own bookkeeping table is not a model, nor is the text index of migration 0012
    # (SQLite: the FTS5 table and its shadow tables; PostgreSQL: pg_trgm GIN indexes).
    if not isinstance(diff, tuple):
        return False
    if diff[0] == "remove_table":
        return diff[1].name == "alembic_version" or diff[1].name.startswith("complaints_fts")
    return diff[0] == "remove_index" and diff[1].name in TEXT_INDEXES


TEXT_INDEXES = {"ix_complaints_text_trgm", "ix_complaints_subject_trgm"}
