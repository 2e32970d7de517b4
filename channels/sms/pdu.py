"""SMS PDUs (3GPP TS 23.040 / 23.038): decode SMS-DELIVER, encode SMS-SUBMIT.

We decode ourselves instead of trusting python-gsmmodem-new: it loses the first character of
GSM-7 parts behind a 7-octet UDH (16-bit concat reference: wrong fill bits), returns lone
surrogates for UCS-2 emoji and silently drops PDUs it cannot read. Every malformed input here
raises PduError with a short machine-readable `reason`, so the reader can log and record it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

from gateway.gsm7 import BASIC as GSM7_BASIC

GSM7_EXTENSION = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
ESCAPE = 0x1B
_GSM7_ENCODE = {ch: (i,) for i, ch in enumerate(GSM7_BASIC) if i != ESCAPE}
_GSM7_ENCODE["ç"] = (0x09,)  # 23.038 lists 0x09 as the cedilla C; map both cases there
_GSM7_ENCODE.update({ch: (ESCAPE, code) for code, ch in GSM7_EXTENSION.items()})

IEI_CONCAT_8 = 0x00
IEI_CONCAT_16 = 0x08


class Encoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


class PduError(ValueError):
    """A PDU we cannot turn into text. `reason` is short and stable (used in events)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Concat:
    """A concatenated-SMS information element: part `seq` of `total`, reference `ref`."""

    ref: int
    total: int
    seq: int
    ref_bits: int  # 8 or 16


@dataclass(frozen=True, slots=True)
class DeliverPdu:
    smsc: str | None
    sender: str
    sender_alphanumeric: bool
    timestamp: datetime  # SMSC time stamp, tz-aware
    pid: int
    dcs: int
    encoding: Encoding
    text: str  # lone surrogates (an emoji split between parts) are kept; see ucs2
    concat: Concat | None
    # UCS-2 user data without the header: parts are joined as bytes, so an emoji split
    # between two parts comes out whole (design §7).
    ucs2: bytes | None = None


@dataclass(frozen=True, slots=True)
class SubmitPdu:
    hex: str  # with a zero-length SMSC field: the modem uses its default SMSC
    tpdu_length: int  # what AT+CMGS=<n> needs: octets without the SMSC field


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise PduError("length_mismatch", f"PDU ends inside {what}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk


def parse_hex(hex_pdu: str) -> bytes:
    text = hex_pdu.strip()
    if len(text) % 2:
        raise PduError("corrupt_pdu", "odd number of hex digits")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise PduError("corrupt_pdu", "not hexadecimal") from None


def decode_deliver(hex_pdu: str, tpdu_length: int | None = None) -> DeliverPdu:
    """Decode an SMS-DELIVER as a modem lists it (SMSC field first).

    `tpdu_length` is the length +CMGL / +CMGR announce; a mismatch means a damaged read.
    """
    data = parse_hex(hex_pdu)
    if not data:
        raise PduError("corrupt_pdu", "empty PDU")
    r = _Reader(data)
    smsc_len = r.byte("SMSC length")
    smsc = _decode_smsc(r.take(smsc_len, "SMSC address")) if smsc_len else None
    if tpdu_length is not None and len(data) - 1 - smsc_len != tpdu_length:
        raise PduError(
            "length_mismatch",
            f"announced TPDU length {tpdu_length}, got {len(data) - 1 - smsc_len} octets",
        )
    first = r.byte("first octet")
    mti = first & 0x03
    if mti == 0x02:
        raise PduError("status_report", "SMS-STATUS-REPORT, not a message")
    if mti != 0x00:
        raise PduError("not_deliver", f"message type indicator {mti} is not SMS-DELIVER")
    udhi = bool(first & 0x40)
    sender, alphanumeric = _decode_address(r)
    pid = r.byte("TP-PID")
    dcs = r.byte("TP-DCS")
    timestamp = decode_timestamp(r.take(7, "time stamp"))
    encoding = _encoding_for(dcs)
    udl = r.byte("TP-UDL")
    ud = r.rest()
    concat: Concat | None = None
    if encoding is Encoding.GSM7:
        if udl > 160:
            raise PduError("length_mismatch", f"GSM-7 user data length {udl} > 160")
        expected = (udl * 7 + 7) // 8
        if len(ud) != expected:
            raise PduError(
                "length_mismatch", f"{udl} septets need {expected} octets, got {len(ud)}"
            )
        skip = 0
        if udhi:
            header_len = _header_length(ud)
            concat = _parse_udh(ud[1:header_len])
            skip = (header_len * 8 + 6) // 7  # header septets, fill bits included
            if skip > udl:
                raise PduError("bad_udh", "header longer than the user data")
        text = decode_gsm7(unpack_septets(ud, udl)[skip:])
        return DeliverPdu(smsc, sender, alphanumeric, timestamp, pid, dcs, encoding, text, concat)
    if udl > 140 or len(ud) != udl:
        raise PduError("length_mismatch", f"user data length {udl}, got {len(ud)} octets")
    body = ud
    if udhi:
        header_len = _header_length(ud)
        concat = _parse_udh(ud[1:header_len])
        body = ud[header_len:]
    if len(body) % 2:
        raise PduError("corrupt_pdu", "UCS-2 user data has an odd number of octets")
    text = body.decode("utf-16-be", "surrogatepass")
    return DeliverPdu(
        smsc, sender, alphanumeric, timestamp, pid, dcs, encoding, text, concat, ucs2=body
    )


def ucs2_text(body: bytes) -> str:
    """Joined UCS-2 parts to text; a surrogate left alone (a part is missing) becomes U+FFFD."""
    return body.decode("utf-16-be", "replace")


def printable(text: str) -> str:
    """Text safe for storage: lone surrogates (PostgreSQL rejects them) become U+FFFD."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _header_length(ud: bytes) -> int:
    if not ud:
        raise PduError("bad_udh", "UDH indicated but user data is empty")
    header_len = ud[0] + 1
    if ud[0] == 0 or header_len > len(ud):
        raise PduError("bad_udh", f"header length {ud[0]} does not fit the user data")
    return header_len


def _parse_udh(header: bytes) -> Concat | None:
    concat = None
    pos = 0
    while pos < len(header):
        if pos + 2 > len(header):
            raise PduError("bad_udh", "truncated information element")
        iei, length = header[pos], header[pos + 1]
        value = header[pos + 2 : pos + 2 + length]
        if len(value) != length:
            raise PduError("bad_udh", f"information element {iei:#04x} overruns the header")
        pos += 2 + length
        if iei in (IEI_CONCAT_8, IEI_CONCAT_16):
            want = 3 if iei == IEI_CONCAT_8 else 4
            if length != want:
                raise PduError("bad_udh", f"concat element of length {length}, expected {want}")
            ref = value[0] if iei == IEI_CONCAT_8 else (value[0] << 8) | value[1]
            total, seq = value[-2], value[-1]
            if total == 0 or not 1 <= seq <= total:
                raise PduError("bad_udh", f"concat part {seq} of {total}")
            concat = Concat(ref, total, seq, 8 if iei == IEI_CONCAT_8 else 16)
    if concat is not None and concat.total == 1:
        return None
    return concat


def _encoding_for(dcs: int) -> Encoding:
    group = dcs >> 4
    if group <= 0x07:  # general data coding (0x) or automatic deletion (4x)
        if dcs & 0x20:
            raise PduError("compressed", "compressed user data is not supported")
        alphabet = (dcs >> 2) & 0x03
    elif group == 0x0F:  # data coding / message class
        alphabet = 1 if dcs & 0x04 else 0
    elif group in (0x0C, 0x0D):  # message waiting indication, GSM-7
        alphabet = 0
    elif group == 0x0E:  # message waiting indication, UCS-2
        alphabet = 2
    else:
        raise PduError("unsupported_coding", f"reserved data coding scheme {dcs:#04x}")
    if alphabet == 0:
        return Encoding.GSM7
    if alphabet == 2:
        return Encoding.UCS2
    if alphabet == 1:
        raise PduError("binary_data", f"8-bit data coding {dcs:#04x} carries no text")
    raise PduError("unsupported_coding", f"reserved alphabet in data coding {dcs:#04x}")


def _decode_smsc(field: bytes) -> str:
    toa, digits = field[0], field[1:]
    number = _decode_bcd(digits)
    return f"+{number}" if (toa >> 4) & 0x07 == 0x01 else number


def _decode_address(r: _Reader) -> tuple[str, bool]:
    digits = r.byte("originator length")
    toa = r.byte("originator type")
    if digits > 20:
        raise PduError("corrupt_pdu", f"originator of {digits} digits")
    field = r.take((digits + 1) // 2, "originator address")
    ton = (toa >> 4) & 0x07
    if ton == 0x05:  # alphanumeric, GSM-7 packed
        return decode_gsm7(unpack_septets(field, digits * 4 // 7)), True
    number = _decode_bcd(field)[:digits]
    return (f"+{number}" if ton == 0x01 else number), False


_BCD = "0123456789*#abc"


def _decode_bcd(field: bytes) -> str:
    out = []
    for octet in field:
        for nibble in (octet & 0x0F, octet >> 4):
            if nibble == 0x0F:
                return "".join(out)
            out.append(_BCD[nibble])
    return "".join(out)


def decode_timestamp(field: bytes) -> datetime:
    """TP-SCTS: seven swapped semi-octets YY MM DD hh mm ss and a signed quarter-hour zone."""

    def swapped(octet: int) -> int:
        low, high = octet & 0x0F, octet >> 4
        if low > 9 or high > 9:
            raise PduError("corrupt_pdu", "time stamp is not decimal")
        return low * 10 + high

    year, month, day, hour, minute, second = (swapped(b) for b in field[:6])
    tz = field[6]
    quarters = (tz & 0x07) * 10 + (tz >> 4)
    if tz >> 4 > 9:
        raise PduError("corrupt_pdu", "time zone is not decimal")
    offset = timedelta(minutes=15 * quarters) * (-1 if tz & 0x08 else 1)
    try:
        return datetime(
            (1900 if year >= 90 else 2000) + year,
            month,
            day,
            hour,
            minute,
            second,
            tzinfo=timezone(offset) if offset else UTC,
        )
    except ValueError as e:
        raise PduError("corrupt_pdu", f"invalid time stamp ({e})") from None


def unpack_septets(data: bytes, count: int) -> list[int]:
    value = int.from_bytes(data, "little")
    return [(value >> (7 * i)) & 0x7F for i in range(count)]


def pack_septets(septets: list[int], offset_bits: int = 0) -> bytes:
    value = 0
    for i, s in enumerate(septets):
        value |= s << (offset_bits + 7 * i)
    return value.to_bytes((offset_bits + 7 * len(septets) + 7) // 8, "little")


def decode_gsm7(septets: list[int]) -> str:
    out = []
    escaped = False
    for s in septets:
        if escaped:
            # 23.038: an unknown extension code shows the basic character.
            out.append(GSM7_EXTENSION.get(s, GSM7_BASIC[s] if s != ESCAPE else " "))
            escaped = False
        elif s == ESCAPE:
            escaped = True
        else:
            out.append(GSM7_BASIC[s])
    return "".join(out)


def gsm7_septets(text: str) -> list[int] | None:
    """The GSM-7 septets for text, or None when a character is not in the alphabet."""
    out: list[int] = []
    for ch in text:
        code = _GSM7_ENCODE.get(ch)
        if code is None:
            return None
        out.extend(code)
    return out


def gsm7_length(text: str) -> int | None:
    """Septets text needs in GSM-7 (extension characters count twice), None if it can't."""
    septets = gsm7_septets(text)
    return None if septets is None else len(septets)


def _encode_address(number: str) -> bytes:
    international = number.startswith("+")
    digits = number.lstrip("+")
    if not digits.isdigit():
        raise ValueError("destination must be digits, optionally with a leading +")
    padded = digits + ("F" if len(digits) % 2 else "")
    bcd = bytes(int(padded[i + 1] + padded[i], 16) for i in range(0, len(padded), 2))
    return bytes([len(digits), 0x91 if international else 0x81]) + bcd


def split_text(text: str) -> tuple[Encoding, list[list[int]] | list[bytes]]:
    """Choose GSM-7 when every character fits, else UCS-2, and cut into SMS parts.

    Parts never split an escape sequence (GSM-7) or a surrogate pair (UCS-2).
    """
    septets = gsm7_septets(text)
    if septets is not None:
        if len(septets) <= 160:
            return Encoding.GSM7, [septets]
        parts: list[list[int]] = []
        current: list[int] = []
        for ch in text:
            code = list(_GSM7_ENCODE[ch])
            if len(current) + len(code) > 153:
                parts.append(current)
                current = []
            current.extend(code)
        parts.append(current)
        return Encoding.GSM7, parts
    units = text.encode("utf-16-be")
    if len(units) <= 140:
        return Encoding.UCS2, [units]
    chunks: list[bytes] = []
    chunk = b""
    for ch in text:
        encoded = ch.encode("utf-16-be")
        if len(chunk) + len(encoded) > 134:
            chunks.append(chunk)
            chunk = b""
        chunk += encoded
    chunks.append(chunk)
    return Encoding.UCS2, chunks


def encode_submit(
    destination: str, text: str, concat_ref: int = 0, *, validity: int = 0xA7
) -> list[SubmitPdu]:
    """SMS-SUBMIT PDUs for a reply: one, or several with an 8-bit concat reference.

    `validity` is the relative TP-VP (0xA7: 24 hours).
    """
    encoding, parts = split_text(text)
    total = len(parts)
    if total > 255:
        raise ValueError("text needs more than 255 SMS parts")
    address = _encode_address(destination)
    pdus = []
    for seq, part in enumerate(parts, start=1):
        udh = bytes([5, IEI_CONCAT_8, 3, concat_ref & 0xFF, total, seq]) if total > 1 else b""
        if encoding is Encoding.GSM7:
            assert isinstance(part, list)
            # Text septets start on the first septet boundary after the header (fill bits).
            header_septets = (len(udh) * 8 + 6) // 7
            packed = pack_septets(part, header_septets * 7)
            ud = udh + packed[len(udh) :]
            udl = header_septets + len(part)
            dcs = 0x00
        else:
            assert isinstance(part, bytes)
            ud = udh + part
            udl = len(ud)
            dcs = 0x08
        # SMS-SUBMIT, relative validity period, UDHI when there is a header.
        first = 0x11 | (0x40 if udh else 0)
        tpdu = bytes([first, 0x00]) + address + bytes([0x00, dcs, validity, udl]) + ud
        pdus.append(SubmitPdu(("00" + tpdu.hex()).upper(), len(tpdu)))
    return pdus
