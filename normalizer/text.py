"""Text cleanup shared by every channel: one canonical form of what a citizen wrote.

Rules (applied in this order, so that a second pass changes nothing):
1. Line ends: CRLF, CR, NEL, U+2028/U+2029 become "\\n"; tabs become spaces.
2. Invisible characters go: control chars (NUL included), lone surrogates, zero-width
   spaces, BOM (U+FEFF), soft hyphens and other format chars. A zero-width joiner and emoji
   tag characters stay when they follow an emoji, because they glue emoji sequences
   (👨‍👩‍👧, subdivision flags).
3. Unicode NFC, so "e" + combining acute and "é" compare equal. Done after step 2 because
   removing an invisible char can bring a base letter and its combining mark together.
4. Whitespace: runs of spaces inside a line collapse to one space, lines are stripped, and
   at most one blank line separates paragraphs (e-mail keeps its shape; SMS has none).
"""

from __future__ import annotations

import re
import unicodedata

ZWJ = "\u200d"
_NEWLINES = re.compile(r"\r\n|[\r\x85\u2028\u2029\v\f]")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _is_tag(ch: str) -> bool:
    return "\U000e0020" <= ch <= "\U000e007f"


def _glues_emoji(prev: str) -> bool:
    """True after a char that can continue an emoji sequence (symbol, modifier, VS16, tag)."""
    if not prev:
        return False
    cat = unicodedata.category(prev)
    return cat in ("So", "Sk") or prev == "\ufe0f" or prev == ZWJ or _is_tag(prev)


def _strip_invisible(text: str) -> str:
    # Most messages have nothing to strip: isprintable() is False for every Cc, Cf and Cs
    # character, and one C-level pass is far cheaper than the loop below.
    if text.replace("\n", "").replace("\t", "").isprintable():
        return text
    return _strip_invisible_chars(text)


def _strip_invisible_chars(text: str) -> str:
    kept: list[str] = []
    for ch in text:
        if ch == "\n" or ch == "\t":
            kept.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs"):
            continue
        if cat == "Cf":
            if (ch == ZWJ or _is_tag(ch)) and _glues_emoji(kept[-1] if kept else ""):
                kept.append(ch)
            continue
        kept.append(ch)
    return "".join(kept)


def clean_text(text: str) -> str:
    """The canonical text of a message (see the module docstring for the rules)."""
    text = _NEWLINES.sub("\n", text).replace("\t", " ")
    text = unicodedata.normalize("NFC", _strip_invisible(text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def one_line(text: str) -> str:
    """Cleaned text on a single line, for names and subjects."""
    return " ".join(clean_text(text).split())


def shorten(text: str, limit: int) -> str:
    """At most `limit` chars, cut on a word boundary where there is one, ending in "…"."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 1)]
    boundary = cut.rfind(" ")
    if boundary >= limit // 2:
        cut = cut[:boundary]
    return cut.rstrip(" ,;:-") + "…"
