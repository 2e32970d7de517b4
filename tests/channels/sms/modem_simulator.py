"""A GSM modem on a pseudo-terminal, for tests and for trying SMS without hardware.

It answers the AT commands python-gsmmodem-new sends when it connects, keeps SMS-DELIVER
PDUs in a simulated SIM (AT+CMGL / AT+CMGR / AT+CMGD), announces new ones with +CMTI, takes
replies through AT+CMGS in PDU mode, and can misbehave: a full SIM, an unplugged cable, a
SIM that wants a PIN, ERROR answers.

Its PDU code is written from 3GPP TS 23.040 / 23.038 on its own, sharing nothing with
channels/sms/pdu.py or the library, so that each checks the other; the published vectors in
tests/fixtures/sms/ check this one.

`path` is a stable symlink to the current pty, like /dev/serial/by-id/... for a USB modem:
unplug() removes it, replug() points it at a fresh pty.

Run it by hand:  python -m tests.channels.sms.modem_simulator /tmp/modem
"""

from __future__ import annotations

import os
import re
import select
import threading
import time
import tty
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

# 3GPP TS 23.038 default alphabet, with the extension table behind ESC (0x1B).
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENDED = {
    "\f": 10,
    "^": 20,
    "{": 40,
    "}": 41,
    "\\": 47,
    "[": 60,
    "~": 61,
    "]": 62,
    "|": 64,
    "€": 101,
}
SMSC = "+6281100000"


def to_septets(text: str) -> list[int] | None:
    out: list[int] = []
    for ch in text:
        if ch in EXTENDED:
            out += [27, EXTENDED[ch]]
        elif ch in BASIC and ch != "\x1b":
            out.append(BASIC.index(ch))
        else:
            return None
    return out


def from_septets(septets: list[int]) -> str:
    inverse = {v: k for k, v in EXTENDED.items()}
    out, i = [], 0
    while i < len(septets):
        if septets[i] == 27 and i + 1 < len(septets):
            out.append(inverse.get(septets[i + 1], " "))
            i += 2
        else:
            out.append(BASIC[septets[i]])
            i += 1
    return "".join(out)


def pack7(septets: list[int], start_bit: int = 0) -> bytes:
    """Pack septets LSB first, the first one at `start_bit` (fill bits after a UDH)."""
    bits = [0] * start_bit
    for s in septets:
        bits += [(s >> k) & 1 for k in range(7)]
    bits += [0] * (-len(bits) % 8)
    return bytes(sum(bits[i + k] << k for k in range(8)) for i in range(0, len(bits), 8))


def unpack7(data: bytes, count: int, start_bit: int = 0) -> list[int]:
    bits = [(b >> k) & 1 for b in data for k in range(8)]
    return [
        sum(bits[start_bit + 7 * i + k] << k for k in range(7))
        for i in range(count)
        if start_bit + 7 * i + 7 <= len(bits)
    ]


def semi_octets(digits: str) -> bytes:
    digits += "F" * (len(digits) % 2)
    return bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))


def address(number: str, toa: int | None = None) -> bytes:
    """Originator/destination address: digit count, type of address, swapped digits."""
    if number.startswith("+"):
        return bytes([len(number) - 1, toa or 0x91]) + semi_octets(number[1:])
    if number.isdigit():
        return bytes([len(number), toa or 0x81]) + semi_octets(number)
    septets = to_septets(number) or []
    # Alphanumeric: the length counts the semi-octets the packed septets use.
    return bytes([(len(septets) * 7 + 3) // 4, 0xD0]) + pack7(septets)


def smsc_field(number: str) -> bytes:
    body = bytes([0x91]) + semi_octets(number.lstrip("+"))
    return bytes([len(body)]) + body


def timestamp_field(ts: datetime) -> bytes:
    offset = ts.utcoffset() or timedelta(0)
    quarters = int(abs(offset.total_seconds()) // 900)
    digits = f"{ts:%y%m%d%H%M%S}{quarters:02d}"
    field = bytearray(semi_octets(digits))
    if offset < timedelta(0):
        field[6] |= 0x08
    return bytes(field)


@dataclass(frozen=True)
class Part:
    ref: int
    total: int
    seq: int
    ref16: bool = False

    def header(self) -> bytes:
        if self.ref16:
            return bytes([6, 0x08, 4, self.ref >> 8, self.ref & 0xFF, self.total, self.seq])
        return bytes([5, 0x00, 3, self.ref, self.total, self.seq])


def encode_deliver(
    sender: str,
    text: str,
    timestamp: datetime,
    *,
    part: Part | None = None,
    ucs2: bool | None = None,
    smsc: str = SMSC,
    sender_toa: int | None = None,
    pid: int = 0,
    dcs: int | None = None,
) -> str:
    """One SMS-DELIVER PDU as a modem lists it (SMSC field first), upper-case hex."""
    septets = to_septets(text)
    if ucs2 is None:
        ucs2 = septets is None
    header = part.header() if part else b""
    first = 0x04 | (0x40 if part else 0)  # SMS-DELIVER, no more messages to send
    if ucs2:
        ud = header + text.encode("utf-16-be", "surrogatepass")
        dcs, udl = 0x08 if dcs is None else dcs, len(ud)
    else:
        assert septets is not None, "text is not GSM-7; pass ucs2=True"
        header_septets = -(-len(header) * 8 // 7)
        body = pack7(septets, header_septets * 7 - len(header) * 8)
        ud = header + body
        dcs, udl = 0x00 if dcs is None else dcs, header_septets + len(septets)
    tpdu = (
        bytes([first])
        + address(sender, sender_toa)
        + bytes([pid, dcs])
        + timestamp_field(timestamp)
    )
    return (smsc_field(smsc) + tpdu + bytes([udl]) + ud).hex().upper()


def split_deliver(
    sender: str, text: str, timestamp: datetime, *, ref: int = 1, ref16: bool = False
) -> list[str]:
    """Split like a phone does: 153 septets (GSM-7) or 67 units (UCS-2) per part."""
    septets = to_septets(text)
    if septets is not None and len(septets) <= 160:
        return [encode_deliver(sender, text, timestamp)]
    if septets is None and len(text.encode("utf-16-be")) <= 140:
        return [encode_deliver(sender, text, timestamp)]
    # 140 octets less the header: 6 octets (8-bit ref) or 7 (16-bit ref), in septets or units.
    per_part = (152 if ref16 else 153) if septets is not None else (132 if ref16 else 134)
    chunks, current, size = [], "", 0
    for ch in text:
        width = len(to_septets(ch) or []) if septets is not None else len(ch.encode("utf-16-be"))
        if size + width > per_part:
            chunks.append(current)
            current, size = "", 0
        current += ch
        size += width
    chunks.append(current)
    return [
        encode_deliver(
            sender, chunk, timestamp, part=Part(ref, len(chunks), i, ref16), ucs2=septets is None
        )
        for i, chunk in enumerate(chunks, start=1)
    ]


def split_ucs2_units(sender: str, units: bytes, timestamp: datetime, ref: int) -> list[str]:
    """UCS-2 parts cut at exact 134-octet boundaries, even inside a surrogate pair."""
    chunks = [units[i : i + 134] for i in range(0, len(units), 134)]
    out = []
    for seq, chunk in enumerate(chunks, start=1):
        ud = Part(ref, len(chunks), seq).header() + chunk
        tpdu = bytes([0x44]) + address(sender) + bytes([0x00, 0x08]) + timestamp_field(timestamp)
        out.append((smsc_field(SMSC) + tpdu + bytes([len(ud)]) + ud).hex().upper())
    return out


@dataclass(frozen=True)
class SentSms:
    destination: str
    text: str
    concat: tuple[int, int, int] | None  # ref, total, seq


def decode_submit(hex_pdu: str) -> SentSms:
    """What a reply said: read an SMS-SUBMIT as the network would."""
    data = bytes.fromhex(hex_pdu)
    pos = 1 + data[0]  # skip the SMSC field
    first = data[pos]
    assert first & 0x03 == 0x01, "not an SMS-SUBMIT"
    pos += 2  # first octet, message reference
    digits, toa = data[pos], data[pos + 1]
    raw = data[pos + 2 : pos + 2 + (digits + 1) // 2].hex()
    number = "".join(raw[i + 1] + raw[i] for i in range(0, len(raw), 2))[:digits]
    destination = ("+" if toa == 0x91 else "") + number
    pos += 2 + (digits + 1) // 2
    dcs = data[pos + 1]
    pos += 2
    vpf = (first >> 3) & 0x03
    pos += {0: 0, 2: 1}.get(vpf, 7)
    udl, ud = data[pos], data[pos + 1 :]
    concat, header_len = None, 0
    if first & 0x40:
        header_len = ud[0] + 1
        h = ud[1:header_len]
        if h[0] == 0x00:
            concat = (h[2], h[3], h[4])
        elif h[0] == 0x08:
            concat = ((h[2] << 8) | h[3], h[4], h[5])
    if dcs == 0x08:
        text = ud[header_len:].decode("utf-16-be", "surrogatepass")
    else:
        skip = -(-header_len * 8 // 7)
        text = from_septets(unpack7(ud, udl)[skip:])
    return SentSms(destination, text, concat)


@dataclass
class Stored:
    stat: int  # 0 received unread, 1 received read
    pdu: str

    @property
    def tpdu_length(self) -> int:
        return len(self.pdu) // 2 - 1 - int(self.pdu[:2], 16)


class ModemSimulator:
    MANUFACTURER = "LaporSim"
    IDENTITY: ClassVar[dict[str, str]] = {
        "AT+CGMM": "PTY-1",
        "AT+CGMR": "1.0",
        "AT+CGSN": "490154203237518",
    }
    COMMANDS = "+CGMI,+CGMM,+CGMR,+CGSN,+CMGF,+CMGL,+CMGR,+CMGD,+CMGS,+CNMI,+CPMS,+CSCA,+CPIN"

    def __init__(self, directory: Path, *, capacity: int = 60, pin: str | None = None):
        self.path = Path(directory) / "modem"
        self.capacity = capacity
        self.pin = pin
        self.unlocked = pin is None
        self.sim: dict[int, Stored] = {}
        self.sent: list[SentSms] = []
        self.commands: list[str] = []
        self.failures: dict[str, str] = {}  # command prefix -> answer, e.g. "ERROR"
        self.submit_failure: str | None = None  # the answer to a PDU after AT+CMGS
        self.notify = False  # AT+CNMI seen: announce new messages with +CMTI
        self.cmgl_calls = 0
        self.latency_s = 0.0  # per answer: a real modem takes tens of milliseconds
        self._inside: list[str] = []  # +CMTI notices to slip into the next answer
        self._lock = threading.RLock()
        self._master: int | None = None
        self._slave: int | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._mr = 0

    # -- wiring -------------------------------------------------------------------------
    def start(self) -> ModemSimulator:
        self.replug()
        return self

    def replug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        # Keep our own slave fd open: the gateway may close and reopen the port (or be
        # killed) without the master seeing a hang-up.
        self._master, self._slave = master, slave
        tmp = self.path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.path)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, args=(master,), daemon=True)
        self._thread.start()

    def unplug(self) -> None:
        """The USB cable is pulled: the device node disappears, reads on it fail."""
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.path.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None
        self.notify = False

    def stop(self) -> None:
        if self._master is not None:
            self.unplug()

    # -- the SIM ----------------------------------------------------------------------
    def store(self, pdu: str, *, announce: bool | str = True) -> int | None:
        """Put a PDU into the SIM as the network delivers it; None when the SIM is full.

        announce="inside": the +CMTI comes in the middle of the next command's answer,
        where the library takes it for part of the response and drops it.
        """
        with self._lock:
            free = [i for i in range(1, self.capacity + 1) if i not in self.sim]
            if not free:
                return None
            index = free[0]
            self.sim[index] = Stored(0, pdu)
            notice = f'\r\n+CMTI: "SM",{index}\r\n'
            if announce == "inside":
                self._inside.append(notice)
            elif announce and self.notify:
                self._send(notice)
            return index

    def deliver(
        self,
        sender: str,
        text: str,
        *,
        timestamp: datetime | None = None,
        ref: int = 1,
        ref16: bool = False,
    ) -> list[int | None]:
        ts = timestamp or datetime.now(UTC).replace(microsecond=0)
        return [self.store(p) for p in split_deliver(sender, text, ts, ref=ref, ref16=ref16)]

    def stored(self) -> dict[int, str]:
        with self._lock:
            return {i: s.pdu for i, s in self.sim.items()}

    # -- the serial line ----------------------------------------------------------------
    def _send(self, text: str) -> None:
        if self._master is not None:
            data = text.encode()
            while data:
                data = data[os.write(self._master, data) :]

    def _serve(self, master: int) -> None:
        buffer = b""
        pending_cmgs: int | None = None
        while not self._stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            buffer += chunk
            while True:
                if pending_cmgs is not None:
                    end = min(
                        (i for i in (buffer.find(b"\x1a"), buffer.find(b"\x1b")) if i >= 0),
                        default=-1,
                    )
                    if end < 0:
                        break
                    pdu, cancel = buffer[:end].decode().strip(), buffer[end] == 0x1B
                    buffer = buffer[end + 1 :]
                    if not cancel:
                        self._send(self._submit(pdu, pending_cmgs))
                    pending_cmgs = None
                    continue
                end = buffer.find(b"\r")
                if end < 0:
                    break
                line = buffer[:end].decode(errors="replace").strip()
                buffer = buffer[end + 1 :].lstrip(b"\n")
                if not line:
                    continue
                if self.latency_s:
                    time.sleep(self.latency_s)
                with self._lock:
                    self.commands.append(line)
                    answer = self._answer(line)
                if isinstance(answer, int):
                    pending_cmgs = answer
                    self._send("\r\n> ")
                else:
                    with self._lock:
                        inside, self._inside = "".join(self._inside), []
                    self._send(inside + answer if inside else answer)

    def _answer(self, command: str) -> str | int:
        upper = command.upper()
        for prefix, failure in self.failures.items():
            if upper.startswith(prefix):
                return f"\r\n{failure}\r\n"
        ok = "\r\nOK\r\n"
        if upper in ("AT", "ATZ", "ATE0", "ATE1") or upper.startswith("AT+CMEE"):
            return ok
        if upper == "AT+CPIN?":
            return f"\r\n+CPIN: {'READY' if self.unlocked else 'SIM PIN'}\r\n{ok}"
        if m := re.fullmatch(r'AT\+CPIN="?(\d+)"?', upper):
            if self.pin is None or m.group(1) != self.pin:
                return "\r\n+CME ERROR: 16\r\n"  # incorrect password
            self.unlocked = True
            return ok
        if not self.unlocked:
            return "\r\n+CME ERROR: 11\r\n"  # SIM PIN required
        if upper == "AT+CFUN?":
            return f"\r\n+CFUN: 1\r\n{ok}"
        if upper == "AT+CLAC":
            return f"\r\n+CLAC: {self.COMMANDS}\r\n{ok}"
        if upper == "AT+CGMI":
            return f"\r\n{self.MANUFACTURER}\r\n{ok}"
        if upper in self.IDENTITY:
            return f"\r\n{self.IDENTITY[upper]}\r\n{ok}"
        if upper == "AT+CSCA?":
            return f'\r\n+CSCA: "{SMSC}",145\r\n{ok}'
        if upper == "AT+CPMS=?":
            return f'\r\n+CPMS: ("SM"),("SM"),("SM")\r\n{ok}'
        if upper.startswith("AT+CPMS"):
            used, cap = len(self.sim), self.capacity
            if upper == "AT+CPMS?":
                return f'\r\n+CPMS: "SM",{used},{cap},"SM",{used},{cap},"SM",{used},{cap}\r\n{ok}'
            return f"\r\n+CPMS: {used},{cap},{used},{cap},{used},{cap}\r\n{ok}"
        if upper.startswith("AT+CNMI="):
            self.notify = True
            return ok
        if upper.startswith(
            ("AT+CMGF=0", "AT+COPS=3", "AT+CSMP=", "AT+CLIP=", "AT+CRC=", "AT+CVHU=")
        ):
            return ok
        if upper == "AT+CSQ":
            return f"\r\n+CSQ: 21,99\r\n{ok}"
        if m := re.fullmatch(r"AT\+CMGL=(\d)", upper):
            return self._list(int(m.group(1)))
        if m := re.fullmatch(r"AT\+CMGR=(\d+)", upper):
            stored = self.sim.get(int(m.group(1)))
            if stored is None:
                return "\r\n+CMS ERROR: 321\r\n"  # invalid memory index
            line = f"+CMGR: {stored.stat},,{stored.tpdu_length}\r\n{stored.pdu}"
            stored.stat = 1
            return f"\r\n{line}\r\n{ok}"
        if m := re.fullmatch(r"AT\+CMGD=(\d+)(?:,(\d))?", upper):
            flag = int(m.group(2) or 0)
            if flag == 0:
                self.sim.pop(int(m.group(1)), None)
            else:  # 1..4: delete by status; 4 wipes everything (what the library's trap does)
                for i in [i for i, s in self.sim.items() if flag == 4 or s.stat == 1]:
                    del self.sim[i]
            return ok
        if m := re.fullmatch(r"AT\+CMGS=(\d+)", upper):
            return int(m.group(1))
        return "\r\nERROR\r\n"

    def _list(self, status: int) -> str:
        self.cmgl_calls += 1
        lines = []
        for index, stored in sorted(self.sim.items()):
            if status in (4, stored.stat):
                lines.append(f"+CMGL: {index},{stored.stat},,{stored.tpdu_length}\r\n{stored.pdu}")
                stored.stat = 1
        body = "".join(f"\r\n{line}" for line in lines)
        return f"{body}\r\n\r\nOK\r\n" if body else "\r\nOK\r\n"

    def _submit(self, pdu: str, announced: int) -> str:
        if self.submit_failure:
            return f"\r\n{self.submit_failure}\r\n"
        try:
            data = bytes.fromhex(pdu)
            if len(data) - 1 - data[0] != announced:
                return "\r\n+CMS ERROR: 304\r\n"  # invalid PDU mode parameter
            sent = decode_submit(pdu)
        except (ValueError, IndexError, AssertionError):
            return "\r\n+CMS ERROR: 304\r\n"
        with self._lock:
            self.sent.append(sent)
            self._mr = (self._mr + 1) % 256
            return f"\r\n+CMGS: {self._mr}\r\n\r\nOK\r\n"


def main() -> None:
    import sys

    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/lapor-modem")
    directory.mkdir(parents=True, exist_ok=True)
    sim = ModemSimulator(directory).start()
    print(f"simulated modem on {sim.path}")
    print("type '<sender> <text>', e.g.: +6281234567890 AGAM jalan rusak", flush=True)

    def show_replies() -> None:
        shown = 0
        while True:
            time.sleep(0.2)
            for sms in sim.sent[shown:]:
                print(f"<- SMS to {sms.destination}: {sms.text}", flush=True)
            shown = len(sim.sent)

    threading.Thread(target=show_replies, daemon=True).start()
    try:
        for line in sys.stdin:
            sender, _, text = line.strip().partition(" ")
            if text:
                print(f"-> stored at SIM index {sim.deliver(sender, text)}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
