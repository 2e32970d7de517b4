"""The complaint's subject: the e-mail Subject when there is one, else the opening words.

A derived subject is the first sentence when that says something (at least a few words),
otherwise the start of the first line; either is cut on a word boundary with "…". A period
after a common Indonesian abbreviation ("Jl.", "No.", "Kec.") does not end a sentence.
"""

from __future__ import annotations

import re

from normalizer.text import one_line, shorten

MIN_SENTENCE_CHARS = 15
_REPLY_PREFIX = re.compile(r"^(?:(?:re|fwd?|aw|bls|balas|tr)\s*:\s*)+", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_ABBREVIATIONS = frozenset(
    "jl jln gg no kec kel kab kp ds dsn rt rw prov bpk pak bu ibu sdr dr drs ir hj h st "
    "dll dsb dst tgl rp km mr mrs yth".split()
)


def _first_sentence(line: str) -> str:
    for m in _SENTENCE_END.finditer(line):
        words = line[: m.start()].split()
        if words and words[-1].lower() not in _ABBREVIATIONS:
            return line[: m.end()]
    return line


def derive_subject(text: str, limit: int) -> str:
    first_line = one_line(text.split("\n", 1)[0])
    sentence = _first_sentence(first_line).rstrip(".").strip()
    if len(sentence) < MIN_SENTENCE_CHARS:
        sentence = first_line
    # SMS are often typed in lower case; a subject line reads better capitalised.
    return shorten(sentence[:1].upper() + sentence[1:], limit)


def clean_subject(subject: str | None, text: str, limit: int) -> str:
    """Given subject (reply prefixes dropped) or, when it is empty, one derived from text."""
    given = _REPLY_PREFIX.sub("", one_line(subject or "")).strip()
    return shorten(given, limit) if given else derive_subject(text, limit)
