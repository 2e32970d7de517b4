"""Search queries for the regions' hashtags: ORed, `-is:retweet`, within X's length limit."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

SUFFIX = " -is:retweet"


def build_queries(hashtags: Iterable[str], max_chars: int) -> list[str]:
    """`(#a OR #b OR ...) -is:retweet`, split into several queries when one would be too long.

    Hashtags keep their order (regions in config order) so that queries, and with them the
    cursors keyed by them, stay the same from one start to the next.
    """
    tags = list(dict.fromkeys(t.lower().lstrip("#") for t in hashtags if t.strip("# ")))
    queries: list[str] = []
    group: list[str] = []
    for tag in tags:
        if len(_query([f"#{tag}"])) > max_chars:
            raise ValueError(f"hashtag #{tag} alone makes a query longer than {max_chars}")
        if group and len(_query([*group, f"#{tag}"])) > max_chars:
            queries.append(_query(group))
            group = []
        group.append(f"#{tag}")
    if group:
        queries.append(_query(group))
    return queries


def _query(terms: list[str]) -> str:
    body = terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"
    return body + SUFFIX


def cursor_key(query: str) -> str:
    """The Cursor row of a query: a changed hashtag set starts a new cursor."""
    return "twitter:since_id:" + hashlib.sha256(query.encode()).hexdigest()[:24]
