"""SMS keyword routing: "AGAM <aduan>" sent to the short code, with optional flags.

The keyword is the first token, compared case-insensitively. A token is the leading run of
letters and digits; whatever ends it (a space, "#", ".", ":", ",", "-", an emoji…) separates
it from the text, so "AGAM#", "agam:" and "  Agam   jalan" all match AGAM.

A keyword glued to the text ("AGAMjalan rusak") is accepted only when the split is
unambiguous, because a real word can start with a keyword ("sbyar", "agama"):
- the keyword is followed by a digit ("AGAM2 lampu mati" -> "2 lampu mati"), or
- the keyword was written in capitals and is followed by lower case ("AGAMjalan").
"Agamjalan", "agamajalan" and "AGAMJALAN" stay unrouted. When several keywords fit, the
longest wins (SURABAYA before SBY-like prefixes).

After the keyword, the flags RAHASIA (confidential) and ANONIM (anonymous) may follow in any
order and case, with the same separators; they are removed from the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from normalizer.types import RegionRules

FLAG_CONFIDENTIAL = "RAHASIA"
FLAG_ANONYMOUS = "ANONIM"
_FLAGS = (FLAG_CONFIDENTIAL, FLAG_ANONYMOUS)

_TOKEN = re.compile(r"[^\W_]+")
# What may sit between keyword, flags and text: spaces and the usual SMS punctuation.
_SEPARATORS = re.compile(r"[\s#.:,;\-/*=]*")


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    region_code: str
    keyword: str
    text: str  # what follows the keyword and the flags
    confidential: bool
    anonymous: bool


def keyword_table(regions: Sequence[RegionRules]) -> dict[str, str]:
    """KEYWORD (upper case) -> region code."""
    return {kw.strip().upper(): r.code for r in regions for kw in r.sms_keywords if kw.strip()}


def first_token(text: str) -> str:
    m = _TOKEN.match(text)
    return m.group(0) if m else ""


def _glued_keyword(token: str, table: Mapping[str, str]) -> str | None:
    """The keyword that `token` starts with, when the rule in the module docstring allows."""
    for kw in sorted(table, key=len, reverse=True):
        if len(token) <= len(kw) or token[: len(kw)].upper() != kw:
            continue
        written, rest = token[: len(kw)], token[len(kw) :]
        if rest[0].isdigit():
            return kw
        if written.isupper() and rest[0].islower():
            return kw
    return None


def _skip_separators(text: str, pos: int) -> int:
    return _SEPARATORS.match(text, pos).end()  # type: ignore[union-attr]


def match_keyword(text: str, table: Mapping[str, str]) -> KeywordMatch | None:
    """Parse cleaned SMS text; None when its first token is no region's keyword."""
    token = first_token(text)
    if not token:
        return None
    if token.upper() in table:
        keyword, pos = token.upper(), len(token)
    else:
        glued = _glued_keyword(token, table)
        if glued is None:
            return None
        keyword, pos = glued, len(glued)

    flags: set[str] = set()
    while True:
        start = _skip_separators(text, pos)
        flag = first_token(text[start:]).upper()
        if flag not in _FLAGS:
            break
        flags.add(flag)
        pos = start + len(flag)
    rest = text[_skip_separators(text, pos) :]
    return KeywordMatch(
        region_code=table[keyword],
        keyword=keyword,
        text=rest,
        confidential=FLAG_CONFIDENTIAL in flags,
        anonymous=FLAG_ANONYMOUS in flags,
    )
