"""What things are called for people, in Indonesian: one table per kind of code, shared by
the console, the citizen pages, reports and review errors. The stored codes stay English
and stable; only these words change. Core module: channels may import it, it imports none.
"""

from __future__ import annotations

# Every status a complaint can have, in its life-cycle order.
COMPLAINT_STATUSES = (
    "pending_review",
    "queued",
    "forwarded",
    "failed",
    "rejected_by_operator",
    "closed",
)
# For operators (console lists, charts, reports).
STATUS_LABELS = {
    "pending_review": "Perlu ditinjau",
    "queued": "Antre ke LAPOR!",
    "forwarded": "Diteruskan",
    "failed": "Gagal diteruskan",
    "rejected_by_operator": "Ditolak petugas",
    "closed": "Selesai",
}
# For citizens (the status page): what it means for them, not how the gateway works.
CITIZEN_STATUS_LABELS = {
    "pending_review": "Sedang diverifikasi petugas",
    "queued": "Menunggu diteruskan ke LAPOR!",
    "forwarded": "Sudah diteruskan ke LAPOR!",
    "failed": "Tertunda, sedang ditangani petugas",
    "rejected_by_operator": "Tidak dapat diproses",
    "closed": "Selesai",
}
# Inside an operator's sentence: "Aduan AGM-000001 sudah diteruskan ke LAPOR!; …".
STATUS_WORDS = {
    "pending_review": "sedang menunggu tinjauan",
    "queued": "sedang antre ke LAPOR!",
    "forwarded": "sudah diteruskan ke LAPOR!",
    "failed": "gagal diteruskan",
    "rejected_by_operator": "sudah ditolak petugas",
    "closed": "sudah selesai",
}

CHANNEL_LABELS = {
    "sms": "SMS",
    "twitter": "X (Twitter)",
    "email": "E-mail",
    "web": "Formulir web",
    "api": "Aplikasi daerah (API)",
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "open311": "Open311",
}
CATEGORY_LABELS = {
    "pengaduan": "Pengaduan",
    "aspirasi": "Aspirasi",
    "permintaan_informasi": "Permintaan informasi",
}

# Console accounts.
ROLE_LABELS = {"admin": "Admin", "operator": "Operator wilayah"}

# What a reply to the citizen was for (`payload.purpose`).
REPLY_PURPOSES = {
    "receipt": "tanda terima",
    "forwarded": "nomor lacak LAPOR!",
    "help": "petunjuk format",
    "rejected_by_operator": "pemberitahuan penolakan",
    "resolved": "pemberitahuan selesai",
}

# What the provider later reported about a reply (reply_statuses), for the timeline.
REPLY_STATUS_WORDS = {
    "sent": "diterima server WhatsApp",
    "delivered": "sampai di ponsel pelapor",
    "read": "dibaca pelapor",
    "failed": "gagal sampai ke pelapor",
}

# The ingestion log: event kinds, outcomes and reason codes.
KIND_LABELS = {
    "inbound": "Pesan masuk",
    "forward": "Ke LAPOR!",
    "reply": "Balasan",
    "review": "Tinjauan",
    "channel": "Kanal",
    "status": "Status LAPOR!",
}
OUTCOME_LABELS = {
    "accepted": "Diterima",
    "duplicate": "Duplikat",
    "unrouted": "Tak terarah",
    "rejected": "Ditolak",
    "forwarded": "Diteruskan",
    "retry": "Dicoba lagi",
    "dead": "Gagal",
    "sent": "Terkirim",
    "unsendable": "Tak dapat dikirim",
    "no_reply_channel": "Tanpa kanal balasan",
    "skipped": "Dilewati",
    "replayed": "Dikirim ulang",
    "recovered": "Pulih",
    "approved": "Disetujui",
    "reassigned": "Dialihkan",
    "assigned": "Dijadikan aduan",
    "dismissed": "Dibuang (spam)",
    "rejected_by_operator": "Ditolak petugas",
    "ignored": "Diabaikan",
    "failed": "Gagal sampai",
}
REASON_LABELS = {
    "unrouted": "Kata kunci atau wilayah tidak dikenali",
    "empty_text": "Isi pesan kosong",
    "too_long": "Isi pesan melebihi batas panjang",
    "too_short": "Isi pesan terlalu pendek",
    "wrong_recipient": "Dikirim ke nomor atau alamat lain",
    "unknown_region": "Wilayah tidak dikenal",
    "pending_review": "Menunggu tinjauan petugas",
    "bad_signature": "Tanda tangan webhook tidak sah",
    "malformed": "Isi kiriman tidak dapat dibaca",
    "reaction": "Reaksi emoji, bukan aduan",
    # Telegram updates that are not complaints (channels/telegram/updates.py)
    "help_command": "Perintah bantuan; dijawab dengan petunjuk format",
    "edited_message": "Pesan yang disunting; aduan aslinya tetap",
    "channel_post": "Kiriman kanal, bukan aduan warga",
    "sticker": "Stiker, bukan aduan",
    "from_bot": "Pesan dari bot lain",
    "group_chatter": "Obrolan grup tanpa /lapor",
    "unsupported_message": "Jenis pesan tidak didukung",
    "malformed_update": "Kiriman bukan Update Telegram yang sah",
    "accepted": "diterima",
    "duplicate": "duplikat",
    "rejected": "ditolak",
}


def reason_words(reason: str) -> str:
    """A reason code inside a sentence ("… tidak dapat dijadikan aduan: isi pesan kosong")."""
    label = REASON_LABELS.get(reason, "isinya tidak dapat dipakai")
    return label[:1].lower() + label[1:]
