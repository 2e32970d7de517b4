"""GET /api/v1/openapi.json: the JSON API described as OpenAPI 3.1.

Bodies and answers are the JSON Schemas of the pydantic models that validate and shape
them (channels/web/schemas.py), so the description cannot drift from the code; only the
bilingual texts live here, and a test requires one for every field.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from channels.web.api import MAX_KEY_CHARS as MAX_IDEMPOTENCY_KEY_CHARS
from channels.web.schemas import (
    ComplaintCreated,
    ComplaintIn,
    ComplaintStatus,
    ErrorAnswer,
    ErrorDetail,
    ReporterIn,
)
from gateway.settings import Settings


def both(indonesian: str, english: str) -> str:
    """Indonesian first (the readers of this API), English below."""
    return f"{indonesian}\n\n{english}"


# Model -> "" (the model itself) and field name -> description.
DOCS: dict[str, dict[str, str]] = {
    "Category": {
        "": both(
            "Kategori LAPOR!: pengaduan, aspirasi, permintaan_informasi.",
            "LAPOR! category: complaint, aspiration, information request.",
        )
    },
    "ComplaintIn": {
        "": both("Aduan baru dari aplikasi daerah.", "A new complaint from a regional app."),
        "region": both(
            "Kode wilayah tujuan, mis. PDG; harus termasuk wilayah kunci API.",
            "Region code, e.g. PDG; must be one of the API key's regions.",
        ),
        "text": both("Isi aduan dari warga.", "The citizen's complaint text."),
        "category": both(
            "Kategori LAPOR!; bila kosong ditebak dari isi aduan.",
            "LAPOR! category; guessed from the text when left out.",
        ),
        "subject": both("Judul aduan; bila kosong diambil dari isi.", "Derived if absent."),
        "anonymous": both(
            "Anonim: identitas pelapor tidak dikirim ke instansi.",
            "Anonymous: the reporter's identity is never sent to the agency.",
        ),
        "confidential": both(
            "Rahasia: isi aduan tidak dipublikasikan.",
            "Confidential: the content is not public.",
        ),
        "reporter": both("Identitas pelapor (boleh kosong).", "The reporter (optional)."),
        "external_id": both(
            "Nomor aduan di aplikasi Anda; dipakai sebagai Idempotency-Key bila header kosong.",
            "Your app's id of the complaint; the idempotency key when the header is absent.",
        ),
    },
    "ReporterIn": {
        "": both("Identitas pelapor, disimpan terpisah dari aduan.", "Kept apart from it."),
        "name": both("Nama pelapor.", "Reporter's name."),
        "phone": both("Nomor HP, mis. 0812… atau +62812….", "Phone, e.g. 0812… or +62812…."),
        "email": both("Alamat e-mail pelapor.", "Reporter's e-mail address."),
    },
    "ComplaintCreated": {
        "": both("Aduan tercatat.", "The complaint is stored."),
        "id": both("ID aduan (UUID).", "Complaint id (UUID)."),
        "tracking_ref": both("Nomor tiket untuk warga, mis. PDG-000123.", "Tracking number."),
        "region": both("Kode wilayah aduan.", "The complaint's region code."),
        "pesan": both("Pesan untuk ditampilkan ke warga.", "A message to show the citizen."),
    },
    "ComplaintStatus": {
        "": both(
            "Status aduan tanpa data pribadi dan tanpa isi.",
            "A complaint's status, without personal data or text.",
        ),
        "tracking_ref": both("Nomor tiket.", "Tracking number."),
        "region": both("Kode wilayah.", "Region code."),
        "status": both(
            "pending_review, queued, forwarded, failed, rejected_by_operator atau closed.",
            "pending_review, queued, forwarded, failed, rejected_by_operator or closed.",
        ),
        "lapor_tracking_id": both(
            "Nomor lacak di LAPOR! setelah diteruskan.", "LAPOR!'s tracking id once forwarded."
        ),
        "received_at": both("Waktu aduan diterima (UTC).", "When it was received (UTC)."),
        "updated_at": both("Waktu perubahan terakhir (UTC).", "Last change (UTC)."),
    },
    "ErrorAnswer": {
        "": both("Kesalahan; tidak ada aduan yang dibuat.", "An error; no complaint was made."),
        "error": both("Rincian kesalahan.", "What went wrong."),
    },
    "ErrorDetail": {
        "": both("Rincian kesalahan.", "Error detail."),
        "code": both("Kode mesin, mis. invalid_field.", "Machine code, e.g. invalid_field."),
        "pesan": both("Penjelasan dalam bahasa Indonesia.", "Indonesian explanation."),
        "message": both("Penjelasan dalam bahasa Inggris.", "English explanation."),
        "field": both("Kolom yang harus diperbaiki.", "The field to fix, when one is at fault."),
    },
}

# (model, mode): request bodies as validated, answers as serialised.
MODELS: tuple[tuple[type[BaseModel], str], ...] = (
    (ComplaintIn, "validation"),
    (ReporterIn, "validation"),
    (ComplaintCreated, "serialization"),
    (ComplaintStatus, "serialization"),
    (ErrorAnswer, "serialization"),
    (ErrorDetail, "serialization"),
)

ERROR_CASES = {
    "400": both(
        "JSON rusak, bukan UTF-8, atau tanpa Idempotency-Key/external_id (atau kuncinya "
        "bukan teks yang dapat dicetak).",
        "Malformed JSON, invalid UTF-8, or neither Idempotency-Key nor external_id (or a key "
        "that is not printable text).",
    ),
    "401": both("Kunci API tidak ada atau salah.", "Missing or wrong API key."),
    "403": both("Wilayah tidak diizinkan untuk kunci ini.", "Region not allowed for this key."),
    "413": both("Kiriman melebihi batas ukuran.", "Body larger than [http] max_body_bytes."),
    "415": both("Bukan application/json.", "Not application/json."),
    "422": both(
        "Isi tidak sah: kolom salah, isi kosong atau terlalu panjang, wilayah tidak dikenal "
        "(error.field menyebut kolomnya). Aduan yang sampai ke intake tetap tercatat sebagai "
        "ditolak.",
        "Invalid content: wrong field, empty or too long text, unknown region (error.field "
        "names it). One that reached intake is still stored as rejected.",
    ),
    "429": both("Terlalu banyak permintaan.", "Over the rate limit; see Retry-After."),
    "503": both(
        "Penyimpanan tidak tersedia; tidak ada yang tersimpan, coba lagi.",
        "Store unavailable; nothing was saved, retry.",
    ),
}


def _error(code: str, description: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorAnswer"}}},
    }
    if code in ("429", "503"):
        answer["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
    return answer


def _ok(model: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}},
    }


def _schemas() -> dict[str, Any]:
    _, top = models_json_schema(
        [(m, mode) for m, mode in MODELS],  # type: ignore[misc]
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = top["$defs"]
    for name, schema in schemas.items():
        docs = DOCS.get(name, {})
        if "" in docs:
            schema["description"] = docs[""]
        for field, prop in schema.get("properties", {}).items():
            if field in docs:
                prop["description"] = docs[field]
    return schemas


def build_openapi(settings: Settings) -> dict[str, Any]:
    schemas = _schemas()
    # The configured regions: what this gateway takes (codes are case-insensitive).
    schemas["ComplaintIn"]["properties"]["region"]["enum"] = sorted(settings.regions)
    create_errors = ("400", "401", "403", "413", "415", "422", "429", "503")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lapor-gateway JSON API",
            "version": "1",
            "description": both(
                "API untuk aplikasi daerah (mis. Bebeja) yang meneruskan aduan warga ke "
                "LAPOR!-SP4N. Aduan dibalas setelah tersimpan; kirim ulang dengan "
                "Idempotency-Key yang sama tidak membuat aduan kedua.",
                "The API for regional apps (e.g. Bebeja) that pass citizens' complaints on "
                "to LAPOR!-SP4N. An answer follows the commit; a resend with the same "
                "Idempotency-Key never makes a second complaint.",
            ),
        },
        "servers": [{"url": settings.http.public_url.rstrip("/")}],
        "paths": {
            "/api/v1/complaints": {
                "post": {
                    "operationId": "createComplaint",
                    "summary": "Kirim aduan / File a complaint",
                    "security": [{"apiKey": []}],
                    "parameters": [{"$ref": "#/components/parameters/Idempotency-Key"}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ComplaintIn"}
                            }
                        },
                    },
                    "responses": {
                        "201": _ok(
                            "ComplaintCreated", both("Aduan baru tercatat.", "Complaint created.")
                        ),
                        "200": _ok(
                            "ComplaintCreated",
                            both(
                                "Kiriman ulang dengan kunci yang sama: jawaban yang sama.",
                                "A resend with the same key: the same answer.",
                            ),
                        ),
                        **{code: _error(code, ERROR_CASES[code]) for code in create_errors},
                    },
                }
            },
            "/api/v1/complaints/{tracking_ref}": {
                "get": {
                    "operationId": "complaintStatus",
                    "summary": "Status aduan / Complaint status",
                    "parameters": [
                        {
                            "name": "tracking_ref",
                            "in": "path",
                            "required": True,
                            "description": both(
                                "Nomor tiket, huruf besar/kecil sama.", "Tracking number."
                            ),
                            "schema": {"type": "string", "minLength": 1, "maxLength": 32},
                        }
                    ],
                    "responses": {
                        "200": _ok(
                            "ComplaintStatus", both("Status aduan.", "The complaint's status.")
                        ),
                        "404": _error(
                            "404", both("Nomor tiket tidak ditemukan.", "No such complaint.")
                        ),
                        "503": _error("503", ERROR_CASES["503"]),
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "Deskripsi API ini / This description",
                    "responses": {
                        "200": {
                            "description": both("Dokumen OpenAPI 3.1.", "The OpenAPI document."),
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": both(
                        "Authorization: Bearer <kunci>; kunci dari [[api_clients]] gateway.toml.",
                        "Authorization: Bearer <key>, a key of [[api_clients]] in gateway.toml.",
                    ),
                }
            },
            "parameters": {
                "Idempotency-Key": {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": both(
                        "Kunci unik per aduan; kiriman ulang dengan kunci yang sama tidak "
                        "membuat aduan kedua. Wajib bila external_id tidak diisi.",
                        "Unique per complaint; a resend with the same key makes no second "
                        "complaint. Required unless external_id is given.",
                    ),
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": MAX_IDEMPOTENCY_KEY_CHARS,
                    },
                }
            },
            "headers": {
                "Retry-After": {
                    "description": both("Detik sebelum mencoba lagi.", "Seconds to wait."),
                    "schema": {"type": "integer", "minimum": 0},
                }
            },
        },
    }


def openapi_view(settings: Settings) -> web.Handler:
    document = build_openapi(settings)

    async def view(_: web.Request) -> web.Response:
        return web.json_response(document)

    return view
