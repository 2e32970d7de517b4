"""How long a text is as an SMS: GSM 03.38 septets, or UCS-2 when a character is not GSM.

One SMS holds 160 GSM-7 septets (an extension character such as € or [ takes two: an
escape and the character) or 70 UCS-2 code units (an emoji outside the BMP takes two).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
BASIC_SET = frozenset(BASIC) - {"\x1b"}
EXTENSION_SET = frozenset("\f^{}\\[~]|€")

GSM7_LIMIT = 160
UCS2_LIMIT = 70

# Look-alikes phones and editors produce, and what GSM-7 has for them.
_LOOKALIKES = {
    "‘": "'",
    "’": "'",
    "‚": ",",
    "“": '"',
    "”": '"',
    "„": '"',
    "–": "-",
    "—": "-",
    "−": "-",
    "…": "...",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
    "\t": " ",
    "•": "-",
    "ç": "Ç",
}


@dataclass(frozen=True, slots=True)
class SmsLength:
    encoding: str  # gsm7 | ucs2
    units: int  # septets (gsm7) or UTF-16 code units (ucs2)
    limit: int  # what one SMS holds in that encoding

    @property
    def fits(self) -> bool:
        return self.units <= self.limit


def is_gsm7(text: str) -> bool:
    return all(c in BASIC_SET or c in EXTENSION_SET for c in text)


def measure(text: str) -> SmsLength:
    if is_gsm7(text):
        return SmsLength("gsm7", sum(2 if c in EXTENSION_SET else 1 for c in text), GSM7_LIMIT)
    return SmsLength("ucs2", len(text.encode("utf-16-le")) // 2, UCS2_LIMIT)


def gsm_friendly(text: str) -> str:
    """Replace characters GSM-7 lacks by their nearest GSM-7 form where one exists
    (curly quotes, dashes, accented letters without a GSM form), so a reply is not sent
    as UCS-2 (70 characters) for the sake of one apostrophe. Others (emoji) stay."""
    out = []
    for c in text:
        if c in BASIC_SET or c in EXTENSION_SET:
            out.append(c)
            continue
        if c in _LOOKALIKES:
            out.append(_LOOKALIKES[c])
            continue
        base = "".join(b for b in unicodedata.normalize("NFKD", c) if not unicodedata.combining(b))
        out.append(base if base and is_gsm7(base) else c)
    return "".join(out)
