"""A POST requests.[format] form -> a checked ServiceRequestIn, or every problem found.

Pure: no I/O. Problems are phrased for the app maker's user, Indonesian then English.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from gateway.region_services import LIST_DATATYPES, AttributeConfig, ServiceConfig

# Lengths the store keeps; longer values are refused, never cut.
FIELD_LIMITS = {
    "email": 320,
    "phone": 32,
    "first_name": 100,
    "last_name": 100,
    "device_id": 255,
    "account_id": 255,
    "address_string": 1000,
    "address_id": 255,
    "media_url": 2048,
}
_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
# C0 controls but tab, LF, CR: no client has a reason to send them.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ServiceRequestIn:
    service: ServiceConfig
    description: str
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    media_url: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    attributes: dict[str, str | list[str]] = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or None

    @property
    def description_digest(self) -> str:
        folded = " ".join(self.description.casefold().split())
        return hashlib.sha256(folded.encode()).hexdigest()


def content_digest(region_code: str, fields: Sequence[tuple[str, str]]) -> str:
    """The same client sending the same fields again is a resend (api_key left out)."""
    items = sorted((k, v) for k, v in fields if k != "api_key" and k != "jurisdiction_id")
    blob = json.dumps([region_code, items], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _problem(pesan: str, message: str) -> str:
    return f"{pesan} ({message})"


def _float(value: str, name: str, bound: float, problems: list[str]) -> float | None:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or abs(number) > bound:
        problems.append(
            _problem(
                f"{name} harus angka antara -{bound:g} dan {bound:g}",
                f"{name} must be a number from -{bound:g} to {bound:g}",
            )
        )
        return None
    return number


def _check_attribute(attr: AttributeConfig, values: list[str], problems: list[str]) -> None:
    code = attr.code
    if attr.datatype != "multivaluelist" and len(values) > 1:
        problems.append(
            _problem(f"atribut {code} hanya boleh satu nilai", f"attribute {code} takes one value")
        )
        return
    if attr.datatype in LIST_DATATYPES:
        keys = {v.key for v in attr.values}
        for v in values:
            if v not in keys:
                problems.append(
                    _problem(
                        f"nilai {v!r} tidak ada dalam pilihan atribut {code}",
                        f"{v!r} is not one of attribute {code}'s values: " + ", ".join(keys),
                    )
                )
        return
    value = values[0]
    if attr.datatype == "number":
        try:
            ok = math.isfinite(float(value))
        except ValueError:
            ok = False
        if not ok:
            problems.append(
                _problem(f"atribut {code} harus angka", f"attribute {code} must be a number")
            )
    elif attr.datatype == "datetime":
        try:
            ok = datetime.fromisoformat(value).tzinfo is not None
        except ValueError:
            ok = False
        if not ok:
            problems.append(
                _problem(
                    f"atribut {code} harus tanggal-waktu W3C, mis. 2026-01-31T08:00:00+07:00",
                    f"attribute {code} must be a W3C datetime with a zone",
                )
            )
    elif attr.datatype == "string" and ("\n" in value or "\r" in value):
        problems.append(
            _problem(
                f"atribut {code} tidak boleh berisi baris baru",
                f"attribute {code} is a string without line breaks",
            )
        )


def _attributes(
    service: ServiceConfig, fields: Sequence[tuple[str, str]], problems: list[str]
) -> dict[str, str | list[str]]:
    given: dict[str, list[str]] = {}
    for key, value in fields:
        match = _ATTRIBUTE_KEY.match(key)
        if match and value.strip():
            given.setdefault(match.group(1), []).append(value.strip())
    by_code = {a.code: a for a in service.attributes if a.variable}
    for code in given:
        if code not in by_code:
            problems.append(
                _problem(
                    f"layanan {service.code} tidak punya atribut {code}",
                    f"service {service.code} has no attribute {code}",
                )
            )
    out: dict[str, str | list[str]] = {}
    for code, attr in by_code.items():
        values = given.get(code)
        if not values:
            if attr.required:
                problems.append(
                    _problem(
                        f"atribut {code} wajib diisi ({attr.description})",
                        f"attribute {code} is required",
                    )
                )
            continue
        _check_attribute(attr, values, problems)
        out[code] = values if attr.datatype == "multivaluelist" else values[0]
    return out


def parse_request(
    fields: Sequence[tuple[str, str]],
    service: ServiceConfig,
    *,
    max_text_chars: int,
) -> ServiceRequestIn | list[str]:
    """Every problem of the form at once, so a client fixes them in one round."""
    problems: list[str] = []
    first: dict[str, str] = {}
    for key, value in fields:
        if CONTROL_CHARS.search(value):
            problems.append(
                _problem(
                    f"kolom {key} berisi karakter kontrol",
                    f"field {key} contains control characters",
                )
            )
        first.setdefault(key, value)
    if problems:
        return problems

    def opt(name: str) -> str | None:
        value = first.get(name, "").strip()
        limit = FIELD_LIMITS.get(name)
        if limit and len(value) > limit:
            problems.append(
                _problem(
                    f"kolom {name} terlalu panjang (maks. {limit} karakter)",
                    f"{name} is longer than {limit} characters",
                )
            )
            return None
        return value or None

    lat_s, long_s = opt("lat"), opt("long")
    address_string, address_id = opt("address_string"), opt("address_id")
    lat = long = None
    if (lat_s is None) != (long_s is None):
        problems.append(
            _problem("lat dan long harus dikirim berdua", "send both lat and long, or neither")
        )
    elif lat_s is not None and long_s is not None:
        lat = _float(lat_s, "lat", 90, problems)
        long = _float(long_s, "long", 180, problems)
    if lat_s is None and long_s is None and not address_string and not address_id:
        problems.append(
            _problem(
                "lokasi wajib: lat dan long, address_string, atau address_id",
                "a location is required: lat & long, address_string or address_id",
            )
        )

    media_url = opt("media_url")
    if media_url is not None:
        parts = urlsplit(media_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(
                _problem("media_url harus alamat http(s)", "media_url must be an http(s) URL")
            )

    description = first.get("description", "").strip()
    if not description:
        problems.append(
            _problem(
                "description wajib diisi: isi aduan diteruskan ke LAPOR!",
                "description is required: it is the complaint forwarded to LAPOR!",
            )
        )
    elif len(description) > max_text_chars:
        problems.append(
            _problem(
                f"description terlalu panjang (maks. {max_text_chars} karakter)",
                f"description is longer than {max_text_chars} characters",
            )
        )

    attributes = _attributes(service, fields, problems)
    request = ServiceRequestIn(
        service=service,
        description=description,
        lat=lat,
        long=long,
        address_string=address_string,
        address_id=address_id,
        media_url=media_url,
        email=opt("email"),
        phone=opt("phone"),
        first_name=opt("first_name"),
        last_name=opt("last_name"),
        device_id=opt("device_id"),
        account_id=opt("account_id"),
        attributes=attributes,
    )
    return problems or request
