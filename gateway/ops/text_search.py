"""Free text in the complaints list (text and subject, case-insensitive substring), fast at
a million complaints.

PostgreSQL: `ILIKE '%…%'`, which the pg_trgm indexes of migration 0012 serve; its planner
weighs them against the date-ordered scan. SQLite has no such planner choice, so it is made
here: the FTS5 trigram table (0012) is asked for at most CANDIDATES matches first. A rare
text (fewer than that) becomes `rowid IN (…)`: a handful of lookups and a small sort. A
common one keeps `LIKE` on the newest-first scan, which fills a page after a short walk —
the text is on many rows. Under three characters (no trigram) it is `LIKE` either way.
"""

from __future__ import annotations

from sqlalchemy import literal_column, or_, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from gateway.store.models import Complaint

CANDIDATES = 2000
TRIGRAM = 3
_FTS_MATCHES = text("SELECT rowid FROM complaints_fts WHERE complaints_fts MATCH :phrase LIMIT :n")


def _like(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def like_condition(q: str) -> ColumnElement[bool]:
    pattern = _like(q)
    return or_(
        Complaint.text.ilike(pattern, escape="\\"),
        Complaint.subject.ilike(pattern, escape="\\"),
    )


async def text_condition(session: AsyncSession, q: str, *, sqlite: bool) -> ColumnElement[bool]:
    if not sqlite or len(q) < TRIGRAM:
        return like_condition(q)
    # One FTS5 phrase: the trigram tokenizer matches it as a substring of either column.
    phrase = '"' + q.replace('"', '""') + '"'
    rows = (await session.execute(_FTS_MATCHES, {"phrase": phrase, "n": CANDIDATES + 1})).all()
    if len(rows) > CANDIDATES:
        return like_condition(q)
    return literal_column("complaints.rowid").in_([r[0] for r in rows])
