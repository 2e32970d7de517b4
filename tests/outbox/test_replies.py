"""SMS length counting and fitting replies into one SMS (table tests)."""

from __future__ import annotations

import pytest

from gateway.gsm7 import gsm_friendly, measure
from gateway.replies import fit_sms


@pytest.mark.parametrize(
    ("text", "encoding", "units"),
    [
        ("", "gsm7", 0),
        ("Aduan diterima", "gsm7", 14),
        ("a" * 160, "gsm7", 160),
        ("[AGM-000001]", "gsm7", 14),  # [ and ] are extension characters: two septets each
        ("Biaya €5", "gsm7", 9),
        ("{}|~^\\", "gsm7", 12),
        ("è é ù ì ò Ç Ø å Δ Ω ß É Ä Ö Ñ Ü § ¿ ä ö ñ ü à @ £ $ ¥", "gsm7", 53),
        ("baris1\nbaris2", "gsm7", 13),
        ("Jalan rusak 😡", "ucs2", 14),  # the emoji is a surrogate pair
        ("Lampu mati á la café", "ucs2", 20),  # á is not GSM-7 (à and é are)
        ("ç", "ucs2", 1),  # GSM-7 has only the capital Ç
        ("日本", "ucs2", 2),
    ],
)
def test_measure(text: str, encoding: str, units: int) -> None:
    m = measure(text)
    assert (m.encoding, m.units) == (encoding, units)
    assert m.limit == (160 if encoding == "gsm7" else 70)


@pytest.mark.parametrize(
    ("text", "friendly"),
    [
        ("Jum’at “pagi” – selesai…", 'Jum\'at "pagi" - selesai...'),
        ("Café Ñandú", "Café Ñandu"),
        ("tab\there", "tab here"),
        ("emoji 😡 stays", "emoji 😡 stays"),
    ],
)
def test_gsm_friendly(text: str, friendly: str) -> None:
    assert gsm_friendly(text) == friendly


RECEIPT = "Aduan Anda diterima {region}. No. tiket {ref}. Terima kasih."
REJECTED = "Mohon maaf, aduan {ref} tidak dapat diproses: {reason}"


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        (
            RECEIPT,
            {"region": "Kabupaten Agam", "ref": "AGM-000123"},
            "Aduan Anda diterima Kab. Agam. No. tiket AGM-000123. Terima kasih.",
        ),
        (
            REJECTED,
            {"ref": "AGM-000123", "reason": "bukan wewenang pemerintah kabupaten, " * 5},
            "Mohon maaf, aduan AGM-000123 tidak dapat diproses: bukan wewenang pemerintah "
            "kabupaten, bukan wewenang pemerintah kabupaten, bukan wewenang pemerintah..",
        ),
        (  # an emoji in the operator's reason would force UCS-2 (70): shortened to fit that
            REJECTED,
            {"ref": "PDG-000007", "reason": "dobel 🙏 sudah dilaporkan lewat aplikasi Bebeja"},
            "Mohon maaf, aduan PDG-000007 tidak dapat diproses: dobel 🙏 sudah..",
        ),
        (  # a template that is too long by itself is cut at a word boundary
            "Terima kasih " * 15 + "{ref}",
            {"ref": "AGM-000001"},
            ("Terima kasih " * 12).strip() + "..",
        ),
    ],
)
def test_fit_sms(template: str, values: dict[str, str], expected: str) -> None:
    text = fit_sms(template, values)
    assert text == expected
    assert measure(text).fits
