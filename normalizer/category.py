"""Category from the citizen's words, unless the channel already knows it (category_hint).

LAPOR's three kinds: permintaan_informasi (a question), aspirasi (a suggestion), pengaduan
(a complaint, the default). An explicit question word ("tanya", "informasi") wins over a
suggestion word ("usul", "saran", "sebaiknya"), which wins over a mere question form
("bagaimana", "?"), so that a suggestion put as a question ("sebaiknya ... bukan?") stays
a suggestion.
"""

from __future__ import annotations

import re

from normalizer.types import Category

_INFO_WORDS = re.compile(
    r"\b(?:tanya|bertanya|nanya|tanyakan|menanyakan|informasi|info|mohon\s+info)\b", re.I
)
_ASPIRATION_WORDS = re.compile(
    r"\b(?:usul|usulan|usulkan|mengusulkan|saran|sarannya|menyarankan|sebaiknya|"
    r"aspirasi|alangkah\s+baiknya)\b",
    re.I,
)
_QUESTION_FORM = re.compile(r"\b(?:bagaimana|gimana|bagaimanakah)\b|\?", re.I)


def guess_category(text: str, hint: Category | None = None) -> Category:
    if hint is not None:
        return hint
    if _INFO_WORDS.search(text):
        return Category.PERMINTAAN_INFORMASI
    if _ASPIRATION_WORDS.search(text):
        return Category.ASPIRASI
    if _QUESTION_FORM.search(text):
        return Category.PERMINTAAN_INFORMASI
    return Category.PENGADUAN
