"""Sentences the workbench pages build from codes: a complaint's timeline and outbox errors
(the words for single codes are in gateway/labels.py)."""

from __future__ import annotations

import re
from typing import Any

from gateway.labels import (
    CHANNEL_LABELS,
    KIND_LABELS,
    OUTCOME_LABELS,
    REPLY_PURPOSES,
    REPLY_STATUS_WORDS,
)
from gateway.store.models import Event


def describe_reply_status(channel: str, purpose: str | None, status: str, errors: list[Any]) -> str:
    """One timeline line for a delivery status of a reply, e.g. "dibaca pelapor"."""
    what = REPLY_PURPOSES.get(str(purpose), "balasan")
    label = CHANNEL_LABELS.get(channel, channel)
    words = REPLY_STATUS_WORDS.get(status, status)
    text = f"Balasan {label} ({what}) {words}"
    details = [
        f"kode {e.get('code')}: {e.get('title') or e.get('details') or '-'}"
        for e in errors
        if isinstance(e, dict)
    ]
    return text + (f" ({'; '.join(details)})" if details else "")


# Errors as the outbox and the adapters store them (English, for logs), said for an operator.
_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^timeout after"), "LAPOR! tidak menjawab tepat waktu (batas waktu habis)"),
    (re.compile(r"^cannot connect to"), "Tidak dapat tersambung ke server LAPOR!"),
    (re.compile(r"^connection failed"), "Sambungan ke LAPOR! terputus"),
    (re.compile(r"^HTTP 401"), "LAPOR! menolak token akses (HTTP 401): periksa [lapor] token"),
    (re.compile(r"^HTTP 403"), "LAPOR! menolak akses (HTTP 403): periksa token dan instansi"),
    (re.compile(r"^HTTP 404"), "LAPOR! tidak mengenal laporan atau alamat ini (HTTP 404)"),
    (re.compile(r"^HTTP 4(09|22)"), "LAPOR! menolak isi laporan (data tidak lengkap/tidak sah)"),
    (re.compile(r"^HTTP 429"), "LAPOR! meminta pengiriman diperlambat (HTTP 429)"),
    (re.compile(r"^HTTP 5\d\d"), "Server LAPOR! sedang bermasalah (galat 5xx)"),
    (re.compile(r"^HTTP \d+"), "LAPOR! menjawab dengan galat"),
    (re.compile(r"not JSON|not valid XML|answer has no"), "Jawaban LAPOR! tidak dapat dibaca"),
    (re.compile(r"^unreadable status"), "Status dari LAPOR! tidak dapat dibaca"),
    (re.compile(r"^complaint not found"), "Aduannya tidak ada lagi di basis data"),
    (re.compile(r"^no sender"), "Kanal ini belum disetel untuk mengirim balasan"),
    (
        re.compile(r"^outside the 24-hour window and no reply_template"),
        "Pelapor terakhir menulis lebih dari 24 jam lalu; WhatsApp hanya mengizinkan templat "
        "yang disetujui, dan [channels.whatsapp] reply_template belum diisi",
    ),
    (
        re.compile(r"^bad_token: Graph API"),
        "Graph API menolak access_token WhatsApp (kode 190): pasang token baru",
    ),
    (
        re.compile(r"^rate_limited: \d+ replies per number per hour"),
        "Batas balasan ke nomor ini per jam tercapai (mencegah saling balas dengan mesin "
        "penjawab otomatis); tidak dicoba lagi",
    ),
    (
        re.compile(r"^rate_limited: Graph API"),
        "WhatsApp meminta pengiriman diperlambat (batas kiriman), dicoba lagi nanti",
    ),
    (re.compile(r"^Graph API HTTP 0"), "Tidak dapat tersambung ke Graph API WhatsApp"),
    (re.compile(r"^Graph API HTTP"), "Graph API WhatsApp menolak pesan ini"),
    (re.compile(r"^internal error"), "Galat internal gateway (lihat log server)"),
]


def error_words(error: str | None) -> str:
    """An outbox error in words; the original follows for whoever calls the vendor."""
    if not error:
        return "-"
    for pattern, words in _ERRORS:
        if pattern.search(error):
            end = "" if words.endswith(("!", ".")) else "."
            return f"{words}{end} Rincian: {error}"
    return f"Gagal terkirim. Rincian: {error}"


def _by(detail: dict[str, Any]) -> str:
    by = detail.get("by")
    return f" oleh {by}" if by else ""


def describe_event(e: Event) -> str:
    """One line of a complaint's timeline."""
    d = e.detail or {}
    attempt = f" (percobaan ke-{d['attempts']})" if d.get("attempts") else ""
    purpose = REPLY_PURPOSES.get(str(d.get("purpose")), str(d.get("purpose") or "balasan"))
    match (e.kind, e.outcome):
        case ("inbound", "accepted"):
            return f"Diterima lewat {CHANNEL_LABELS.get(e.channel or '', e.channel)}"
        case ("inbound", "duplicate"):
            return "Pesan yang sama diterima lagi; tidak dibuat aduan baru"
        case ("inbound", _):
            return f"Pesan masuk: {_outcome(e.outcome)}"
        case ("review", "approved"):
            return f"Disetujui{_by(d)} dan diantrekan ke LAPOR!"
        case ("review", "rejected"):
            return f"Ditolak{_by(d)}"
        case ("review", "reassigned"):
            return f"Dialihkan dari wilayah {d.get('from_region', '?')}{_by(d)}"
        case ("review", "assigned"):
            return f"Dijadikan aduan dari pesan masuk #{d.get('inbound_id', '?')}{_by(d)}"
        case ("review", "closed"):
            old = d.get("previous_lapor_tracking_id", "?")
            return f"Ditutup{_by(d)}: no. lacak {old} tidak dikenal LAPOR!"
        case ("review", "resent"):
            old = d.get("previous_lapor_tracking_id", "?")
            return f"Dikirim ulang ke LAPOR!{_by(d)}: no. lacak {old} tidak dikenal LAPOR!"
        case ("forward", "forwarded"):
            return f"Diteruskan ke LAPOR!, no. lacak {d.get('lapor_tracking_id', '?')}{attempt}"
        case ("forward", "retry"):
            return f"Gagal meneruskan{attempt}, dicoba lagi: {error_words(e.reason)}"
        case ("forward", "dead"):
            return f"Gagal meneruskan{attempt}, berhenti mencoba: {error_words(e.reason)}"
        case ("forward", "replayed") | ("reply", "replayed"):
            return f"Pengiriman diulang oleh petugas{_by(d)}"
        case ("forward", "skipped"):
            return "Tidak dikirim: status aduan sudah diubah petugas"
        case ("reply", "sent"):
            return f"Balasan ke pelapor terkirim ({purpose})"
        case ("reply", "retry"):
            return f"Balasan ({purpose}) gagal{attempt}, dicoba lagi: {error_words(e.reason)}"
        case ("reply", "dead"):
            return f"Balasan ({purpose}) gagal, berhenti mencoba: {error_words(e.reason)}"
        case ("reply", "unsendable"):
            return f"Balasan ({purpose}) tidak dapat dikirim: kanal tanpa pengirim balasan"
        case ("status", "refused"):
            return f"LAPOR! tidak memberi status laporan ini: {error_words(e.reason)}"
        case ("status", _):
            closed = "; aduan ditutup" if d.get("closed") else ""
            return f"Status di LAPOR! menjadi “{e.outcome}”{closed}"
    return f"{KIND_LABELS.get(e.kind, e.kind)}: {_outcome(e.outcome)}"


def _outcome(outcome: str) -> str:
    return OUTCOME_LABELS.get(outcome, outcome)
