"""Masking works on the normalized number, whatever its spelling (issue 11.5)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from gateway.ops.masking import mask_phone, mask_sender

NATIONAL = "81234567890"  # +62 812-3456-7890
MASKED = "+62812*****890"
SEPARATORS = st.sampled_from(["", " ", "-", ".", "  ", " - ", "/"])


@st.composite
def spellings(draw: st.DrawFn) -> str:
    """One number as people type it: trunk 0, 62 or +62, separators anywhere, brackets
    around the operator prefix."""
    prefix = draw(st.sampled_from(["0", "62", "+62", "+62 ", "+ 62", "(0", "(+62)"]))
    digits = list(NATIONAL)
    out = prefix
    for i, d in enumerate(digits):
        out += d
        if prefix.startswith("(") and not prefix.endswith(")") and i == 2:
            out += ")"
        if i < len(digits) - 1:
            out += draw(SEPARATORS)
    return out


def leaks(shown: str) -> bool:
    """Any four consecutive digits of the hidden middle part visible."""
    digits = re.sub(r"\D", "", shown)
    hidden = NATIONAL[3:-3]
    return any(hidden[i : i + 4] in digits for i in range(len(hidden) - 3))


@given(spellings())
def test_every_spelling_of_one_number_masks_the_same(spelling: str) -> None:
    assert mask_sender(spelling) == MASKED
    assert mask_phone(spelling) == MASKED
    assert not leaks(mask_sender(spelling))


@given(st.text(alphabet="0123456789 -.()+/ab", min_size=6, max_size=25))
def test_no_run_of_six_digits_survives(sender: str) -> None:
    shown = re.sub(r"[\s().\-/]", "", mask_sender(sender))
    assert not re.search(r"\d{6}", shown), shown


def test_public_handles_and_addresses() -> None:
    assert mask_sender("@wargaagam") == "@wargaagam"
    assert mask_sender("api:portal-provinsi") == "api:portal-provinsi"
    assert mask_sender("siti.aminah@example.com") == "s***@example.com"
