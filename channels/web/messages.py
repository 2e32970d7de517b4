"""What citizens and app developers read when something is refused: Indonesian prose.

The API keeps the machine-readable code beside it (`error.code`); a citizen only ever sees
the sentence.
"""

from __future__ import annotations

from typing import Any

from normalizer.types import Limits

# Normalizer reasons -> the field to fix.
REASON_FIELD = {
    "empty_text": "text",
    "too_short": "text",
    "too_long": "text",
    "unknown_region": "region",
    "unrouted": "region",
}
PHONE_INVALID = (
    "Nomor HP tidak valid sehingga tidak disimpan; petugas tidak dapat menghubungi pelapor "
    "lewat nomor itu. Contoh yang benar: 081234567890."
)
PHONE_INVALID_EN = "reporter.phone is not a valid phone number; it was not stored."


def number(n: int) -> str:
    """10000 -> "10.000", as Indonesians write it."""
    return f"{n:,}".replace(",", ".")


def rejection(reason: str | None, limits: Limits, text_chars: int) -> str:
    """Why intake refused a complaint, with the limit named where there is one."""
    match reason:
        case "empty_text":
            return "Isi aduan masih kosong."
        case "too_short":
            return (
                f"Isi aduan terlalu pendek (paling sedikit {number(limits.min_text_chars)} "
                "karakter). Mohon jelaskan lebih lengkap."
            )
        case "too_long":
            return (
                f"Isi aduan terlalu panjang: {number(text_chars)} karakter, paling banyak "
                f"{number(limits.max_text_chars)} karakter. Mohon diringkas; aduan belum "
                "dikirim."
            )
        case "unknown_region":
            return "Wilayah yang dipilih tidak dikenal."
        case "unrouted":
            return "Wilayah tujuan tidak ditemukan."
        case _:
            return "Aduan belum dapat diterima."


def field_error(error: Any) -> tuple[str, str]:
    """(field, Indonesian sentence) for the first pydantic error of a request body."""
    field = ".".join(str(p) for p in error["loc"]) or "(body)"
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "string_too_long":
        text = f"terlalu panjang (paling banyak {number(ctx['max_length'])} karakter)"
    elif kind == "string_too_short":
        text = "tidak boleh kosong"
    elif kind == "string_type":
        text = "harus berupa teks"
    elif kind in ("bool_type", "bool_parsing"):
        text = "harus bernilai true atau false"
    elif kind == "missing":
        text = "wajib diisi"
    elif kind == "extra_forbidden":
        text = "tidak dikenal"
    elif kind == "enum":
        text = f"harus salah satu dari: {ctx.get('expected', '')}"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        text = "harus berupa objek JSON"
    else:
        text = "tidak valid"
    return field, f"Kolom '{field}' {text}."
