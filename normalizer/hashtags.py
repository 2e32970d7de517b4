"""Tweet routing by hashtag (#aduanagam) and tweet cleanup.

Hashtags compare case-insensitively. The X API's entities.hashtags (passed by the channel as
raw.meta["hashtags"], either tags or {"tag", "start"} objects) are used when present, since X
decides what counts as a hashtag; otherwise they are parsed from the text. A tweet carrying
several regions' hashtags goes to the first one; the others are reported in a note.

Cleanup removes the routing region's hashtags, the leading @mentions of a reply and t.co
links (X's own wrappers, meaningless outside X). Other hashtags and mentions stay: they are
part of what the citizen wrote.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from normalizer.types import RegionRules

_HASHTAG = re.compile(r"(?<![\w&/])[#＃](\w+)")
_LEADING_MENTIONS = re.compile(r"^(?:\s*[@＠]\w+)+\s*")
_TCO_LINK = re.compile(r"https?://t\.co/\w+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class HashtagMatch:
    region_code: str
    hashtag: str  # lower case, without "#"
    others: tuple[tuple[str, str], ...]  # (hashtag, region code) of other regions, in order


def hashtag_table(regions: Sequence[RegionRules]) -> dict[str, str]:
    """hashtag (lower case, no "#") -> region code."""
    return {
        tag.strip().lstrip("#").lower(): r.code
        for r in regions
        for tag in r.hashtags
        if tag.strip().lstrip("#")
    }


def _meta_hashtags(meta: Mapping[str, Any]) -> list[str] | None:
    entries = meta.get("hashtags")
    if not isinstance(entries, list):
        return None
    tagged: list[tuple[int, str]] = []
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            tagged.append((i, entry))
        elif isinstance(entry, Mapping) and isinstance(entry.get("tag"), str):
            start = entry.get("start")
            tagged.append((start if isinstance(start, int) else i, entry["tag"]))
    return [tag for _, tag in sorted(tagged, key=lambda t: t[0])]


def hashtags_in(text: str, meta: Mapping[str, Any]) -> list[str]:
    """The tweet's hashtags in order, lower case, without "#"."""
    tags = _meta_hashtags(meta)
    if tags is None:
        tags = _HASHTAG.findall(text)
    return [t.lstrip("#＃").lower() for t in tags]


def match_hashtag(
    text: str, meta: Mapping[str, Any], table: Mapping[str, str]
) -> HashtagMatch | None:
    routed: list[tuple[str, str]] = []
    for tag in hashtags_in(text, meta):
        region = table.get(tag)
        if region and all(tag != seen for seen, _ in routed):
            routed.append((tag, region))
    if not routed:
        return None
    (tag, region), rest = routed[0], routed[1:]
    return HashtagMatch(
        region_code=region,
        hashtag=tag,
        others=tuple((t, r) for t, r in rest if r != region),
    )


def clean_tweet(text: str, strip_tags: Sequence[str]) -> str:
    """Remove leading mentions, t.co links and the given hashtags (case-insensitive)."""
    text = _LEADING_MENTIONS.sub("", text)
    text = _TCO_LINK.sub(" ", text)
    drop = {t.lower() for t in strip_tags}
    return _HASHTAG.sub(lambda m: " " if m.group(1).lower() in drop else m.group(0), text)
