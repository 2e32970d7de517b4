"""Fuzz targets shared by the suite (hypothesis, bounded) and bench/fuzz.py (atheris).

Each target takes arbitrary bytes, derives its parser's input from them, and fails only
on what must never happen: an exception other than the parser's own clear rejection,
or an output that breaks the parser's promise (text that cannot be stored, parts out of
order). Seeds are the real payloads in tests/fixtures/.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from channels.email.mime import AttachmentLimits, MailRejection, ParsedMail, parse_mail
from channels.sms.multipart import MISSING, Multipart
from channels.sms.pdu import Encoding, PduError, decode_deliver, printable
from channels.sms.webhooks import BadRequest, SmsWebhooks, _parse_time
from gateway.store.models import SmsPart
from normalizer.normalize import normalize
from normalizer.types import Channel, Normalized, RawMessage, Rejection

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REGIONS = Path(__file__).resolve().parents[2] / "config" / "regions"
LIMITS = AttachmentLimits(max_bytes=1 << 20, allowed_types=("image/jpeg", "application/pdf"))
TZ = ZoneInfo("Asia/Jakarta")


def storable(text: str) -> None:
    """What a parser hands on must be storable text: no lone surrogates, no NUL for PG."""
    text.encode("utf-8")


# -- SMS PDU decoder ----------------------------------------------------------------------
def pdu(data: bytes) -> None:
    # Both the hex a modem prints and a declared TPDU length that may be a lie.
    length = data[0] if data else None
    for hex_pdu, tpdu_length in ((data.hex(), None), (data[1:].hex().upper(), length)):
        try:
            decoded = decode_deliver(hex_pdu, tpdu_length)
        except PduError:
            continue
        # The text keeps lone surrogates on purpose (an emoji split between parts is joined
        # from `ucs2`); what the modem reader stores is printable(text).
        storable(printable(decoded.text))
        if decoded.encoding == Encoding.UCS2:
            assert decoded.ucs2 is not None
        storable(decoded.sender)
        assert decoded.timestamp.tzinfo is not None
        if decoded.concat is not None:
            assert 1 <= decoded.concat.seq <= decoded.concat.total


# -- multipart reassembly -----------------------------------------------------------------
_ASSEMBLER = Multipart(store=None, intake=None, short_code="1708", timeout_s=600)  # type: ignore[arg-type]


def multipart(data: bytes) -> None:
    """Parts of one set in any order, with gaps, UCS-2 halves cut anywhere (odd lengths)."""
    if not data:
        return
    total = data[0] % 8 + 1
    parts: dict[int, SmsPart] = {}
    rest = data[1:]
    while len(rest) >= 2:
        head, size = rest[0], rest[1] % 24
        chunk, rest = rest[2 : 2 + size], rest[2 + size :]
        seq = head % total + 1
        ucs2 = bool(head & 0x80)
        meta = {"bits": 8, **({"ucs2": chunk.hex()} if ucs2 else {})}
        text = chunk.decode("latin-1")
        parts.setdefault(
            seq,
            SmsPart(
                group_key="g",
                digest=str(seq),
                sender="+6281234567890",
                recipient="1708",
                concat_ref=7,
                total=total,
                seq=seq,
                text=text,
                smsc_timestamp=datetime(2026, 12, 1, tzinfo=UTC),
                meta=meta,
            ),
        )
    if not parts:
        return
    ordered = [parts[s] for s in sorted(parts)]
    raw = _ASSEMBLER._assemble("g", ordered)
    storable(raw.text)
    missing = [s for s in range(1, total + 1) if s not in parts]
    assert raw.meta.get("missing_parts", []) == missing
    assert raw.text.count(MISSING) >= len(missing)
    # GSM-7 parts come out whole and in sequence order.
    position = 0
    for part in ordered:
        if "ucs2" not in part.meta and part.text:
            found = raw.text.find(part.text, position)
            assert found >= 0, (part.seq, part.text)
            position = found + len(part.text)


# -- MIME parsing -------------------------------------------------------------------------
def mime(data: bytes) -> None:
    result = parse_mail(data, LIMITS)
    assert isinstance(result, ParsedMail | MailRejection)
    if isinstance(result, ParsedMail):
        storable(result.text)
        storable(result.subject or "")
        for attachment in result.attachments:
            assert len(attachment.data) <= LIMITS.max_bytes
            assert "/" not in attachment.filename and "\0" not in attachment.filename


# -- SMS provider webhook parsers ---------------------------------------------------------
CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/plain")


def webhook(data: bytes) -> None:
    content_type = CONTENT_TYPES[data[0] % 3] if data else CONTENT_TYPES[0]
    body = data[1:]
    try:
        fields = SmsWebhooks._generic_fields(content_type, body)
    except BadRequest as e:
        assert e.field in ("body", "content-type")
    else:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
        try:
            _parse_time(fields.get("timestamp"), TZ)
        except BadRequest as e:
            assert e.field == "timestamp"
    try:
        when = _parse_time(body.decode("utf-8", "replace"), TZ)
    except BadRequest:
        return
    assert when.tzinfo is not None


# -- normalizer ---------------------------------------------------------------------------
@cache
def _rules() -> tuple:
    import tomllib

    from gateway.settings import RegionConfig

    return tuple(
        RegionConfig.model_validate(tomllib.loads(f.read_text())).rules()
        for f in sorted(REGIONS.glob("*.toml"))
    )


CHANNELS = tuple(Channel)


def normalizer(data: bytes) -> None:
    channel = CHANNELS[data[0] % len(CHANNELS)] if data else Channel.SMS
    text = data[1:].decode("utf-8", "surrogateescape")
    # Half of the inputs get a region keyword in front, so routing paths are reached too.
    if data and data[0] & 0x80:
        text = ("AGAM ", "#aduanagam ", "pdg# ", "SBY.")[data[0] % 4] + text
    sender = ("0812" + text[:12], "+628123456789", "@warga", text[:40])[len(data) % 4]
    raw = RawMessage(
        channel=channel,
        external_id="fuzz",
        sender=sender,
        recipient=("1708", "aduan@agamkab.go.id", text[:30])[len(data) % 3],
        text=text,
        received_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    result = normalize(raw, _rules(), short_code="1708")
    assert isinstance(result, Normalized | Rejection)
    if isinstance(result, Normalized):
        storable(result.text)
        assert result.region_code in {r.code for r in _rules()}


TARGETS: dict[str, Callable[[bytes], None]] = {
    "pdu": pdu,
    "multipart": multipart,
    "mime": mime,
    "webhook": webhook,
    "normalizer": normalizer,
}


def seeds(name: str) -> list[bytes]:
    """Real payloads to start from."""
    if name == "pdu":
        vectors = json.loads((FIXTURES / "sms" / "deliver_pdus.json").read_text())
        return [bytes.fromhex(v["pdu"]) for group in ("valid",) for v in vectors[group]]
    if name == "mime":
        return [p.read_bytes() for p in sorted((FIXTURES / "email").glob("*.eml"))]
    if name == "webhook":
        generic = (FIXTURES / "sms" / "generic_inbound.json").read_bytes()
        twilio = (FIXTURES / "sms" / "twilio_inbound_sms.txt").read_bytes()
        return [b"\x00" + generic, b"\x01" + twilio]
    if name == "normalizer":
        return [b"\x80jalan rusak di depan pasar", b"\x02RAHASIA ANONIM lampu mati"]
    return [b"\x03\x01\x05hello\x02\x05world\x83\x04\xd8\x3d\xde\x00"]
