"""Properties that hold for any input: normalize never raises, cleaned text is clean and stable."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from normalizer import Channel, Normalized, RawMessage, normalize
from normalizer.keywords import first_token
from normalizer.text import _strip_invisible, _strip_invisible_chars, clean_text
from tests.normalizer.cases import RECEIVED, REGIONS, SHORT_CODE, api, sms

# Text that mixes what real messages carry with what breaks naive code: controls, NUL,
# zero-width chars, combining marks, lone surrogates, emoji, CR/LF.
TRICKY = st.sampled_from(
    ["\x00", "\r\n", "\r", "\u200b", "\ufeff", "\u200d", "\u0301", "\ud83d", "😡", "🙏🏽",
     "#", ":", "#aduanagam", "#AduanSurabaya", "@bupati", "https://t.co/x1", "AGAM",
     "RAHASIA", "anonim", " ", "\t", "\u2028", "\x85", "é"]
)  # fmt: skip
MESSY_TEXT = st.lists(st.one_of(st.text(max_size=20), TRICKY), max_size=12).map("".join)
ALLOWED_CONTROLS = {"\n"}


def _is_clean(text: str) -> bool:
    return all(
        ch in ALLOWED_CONTROLS or unicodedata.category(ch) not in ("Cc", "Cs")
        for ch in text
    ) and "\u200b" not in text and "\ufeff" not in text  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    channel=st.sampled_from(list(Channel)),
    text=MESSY_TEXT,
    sender=st.one_of(st.text(max_size=30), st.sampled_from(["0812", "+62 812-3456-7890"])),
    recipient=st.one_of(st.text(max_size=40), st.just("Aduan <aduan@agamkab.go.id>")),
    hint=st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["AGAM", "sby"])),
    hashtags=st.one_of(st.none(), st.lists(st.one_of(st.text(max_size=10), st.integers()))),
)
def test_never_raises_and_output_is_clean(channel, text, sender, recipient, hint, hashtags):
    meta = {} if hashtags is None else {"hashtags": hashtags}
    raw = RawMessage(channel, "x", sender, recipient, text, RECEIVED, meta=meta, region_hint=hint)
    got = normalize(raw, REGIONS, short_code=SHORT_CODE)
    assert _is_clean(got.text)
    if isinstance(got, Normalized):
        assert got.text and got.text == got.text.strip()
        assert _is_clean(got.subject) and "\n" not in got.subject


@settings(max_examples=150, deadline=None)
@given(MESSY_TEXT)
def test_clean_text_is_idempotent_and_nfc(text):
    once = clean_text(text)
    assert clean_text(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert _is_clean(once)


@settings(max_examples=100, deadline=None)
@given(MESSY_TEXT)
def test_normalized_text_passes_through_unchanged(text):
    first = normalize(api(text), REGIONS)
    if isinstance(first, Normalized):
        again = normalize(api(first.text), REGIONS)
        assert isinstance(again, Normalized) and again.text == first.text


@settings(max_examples=100, deadline=None)
@given(
    keyword=st.sampled_from(["AGAM", "agam", "Agam", "BEBEJA", "sby", "Surabaya"]),
    separator=st.sampled_from([" ", "  ", "#", ". ", ":", ", ", "-", "\r\n"]),
    body=st.from_regex(r"[a-z][a-z0-9]{2}[a-z0-9 ,.]{0,40}", fullmatch=True),
)
def test_any_keyword_spelling_routes(keyword, separator, body):
    got = normalize(sms(f" {keyword}{separator}{body}"), REGIONS, short_code=SHORT_CODE)
    region = {"AGAM": "AGAM", "BEBEJA": "PDG", "SBY": "SBY", "SURABAYA": "SBY"}[keyword.upper()]
    assert got.region_code == region
    if first_token(body).upper() not in ("RAHASIA", "ANONIM"):
        assert isinstance(got, Normalized) and got.text == clean_text(body)


@settings(max_examples=300, deadline=None)
@given(text=MESSY_TEXT)
def test_strip_invisible_fast_path_changes_nothing(text: str) -> None:
    # The isprintable() shortcut must keep exactly what the character loop keeps.
    assert _strip_invisible(text) == _strip_invisible_chars(text)
