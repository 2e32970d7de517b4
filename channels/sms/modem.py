"""The GSM modem: read the SIM, submit each message, delete it only after the commit.

python-gsmmodem-new drives the serial line (connect sequence, AT command framing, its reader
thread); everything it does blocks, so each call runs in a worker thread and the results come
back to the loop. We do not use its message handling (design §7): processStoredSms deletes
before the callback runs, its PDU decoder is wrong for some parts, and its +CMTI handler
reads and deletes on its own. Here +CMTI only wakes the reader, which lists the SIM with
AT+CMGL=4 (on start, on +CMTI, and every sweep_interval_s, because +CMTI can be lost),
decodes each PDU with channels/sms/pdu.py, hands it to intake (or to multipart) and sends
AT+CMGD=<index> once that returned. A crash in between means a re-read, which dedup absorbs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import serial
from gsmmodem.exceptions import (
    CommandError,
    GsmModemException,
    IncorrectPinError,
    PinRequiredError,
    PukRequiredError,
    TimeoutException,
)
from gsmmodem.modem import GsmModem

from channels.sms.config import SmsConfig
from channels.sms.inbound import modem_raw, record_unreadable
from channels.sms.multipart import IncomingPart, Multipart
from channels.sms.pdu import PduError, SubmitPdu, decode_deliver, printable
from gateway import events
from gateway.logsafe import log_failure
from gateway.runtime import Runtime
from gateway.store.db import StoreUnavailable

log = logging.getLogger(__name__)

HEALTH = "sms-modem"
CTRL_Z = "\x1a"
CMGL_LINE = re.compile(r"^\+CMGL:\s*(\d+),\s*(\d*),[^,]*,\s*(\S*)\s*$")
CPMS_LINE = re.compile(r'^\+CPMS:\s*"?\w*"?,?\s*(\d+),\s*(\d+)')


class ModemFault(Exception):
    """The modem cannot be used right now; `reason` names why (events, health)."""

    def __init__(self, reason: str, message: str, *, retry: bool = True):
        super().__init__(message)
        self.reason = reason
        self.retry = retry


@dataclass(frozen=True, slots=True)
class StoredSms:
    index: int
    stat: int
    length: int
    pdu: str


def parse_cmgl(lines: list[str]) -> list[StoredSms]:
    """The entries of an AT+CMGL answer: a +CMGL header line, then the PDU line."""
    entries: list[StoredSms] = []
    header: re.Match[str] | None = None
    for line in lines:
        if match := CMGL_LINE.match(line):
            header = match
        elif header is not None:
            # A length that is not a number cannot match any PDU: decoding reports it.
            length = int(header[3]) if header[3].isdigit() else -1
            stat = int(header[2]) if header[2] else 0
            entries.append(StoredSms(int(header[1]), stat, length, line.strip()))
            header = None
    return entries


class _Modem(GsmModem):  # type: ignore[misc]
    """The library's modem with its own SMS handling turned into wake-ups."""

    # The reader thread's serial read timeout (library default 1 s): close() waits for it.
    timeout = 0.2

    def __init__(
        self, port: str, baudrate: int, wake: Callable[[], None], lost: Callable[[Any], None]
    ):
        super().__init__(port, baudrate, requestDelivery=False, fatalErrorCallbackFunc=lost)
        self._wake = wake

    def connect(self, pin: str | None = None, waitingForModemToStartInSeconds: int = 0) -> None:
        # A process that died inside AT+CMGS leaves the modem waiting at its "> " prompt,
        # taking every later command as PDU text: ESC cancels that before the library starts.
        with serial.Serial(self.port, self.baudrate, timeout=0.2, dsrdtr=True, rtscts=True) as line:
            line.write(b"\x1b\r")
            line.read(64)
        super().connect(pin, waitingForModemToStartInSeconds)

    def _handleSmsReceived(self, notificationLine: str) -> None:
        self._wake()

    def _handleSmsStatusReport(self, notificationLine: str) -> None:
        self._wake()  # the report sits on the SIM; the sweep records and deletes it


def _fault_from(exc: BaseException) -> ModemFault:
    if isinstance(exc, ModemFault):
        return exc
    if isinstance(exc, IncorrectPinError):
        return ModemFault(
            "wrong_pin",
            "the SIM refused the configured PIN; fix [channels.sms.modem] pin and restart "
            "(not retried, so the SIM does not lock itself)",
            retry=False,
        )
    if isinstance(exc, PinRequiredError):
        return ModemFault(
            "pin_required", "the SIM needs a PIN: set [channels.sms.modem] pin", retry=False
        )
    if isinstance(exc, PukRequiredError):
        return ModemFault("puk_required", "the SIM is locked (PUK needed)", retry=False)
    if isinstance(exc, TimeoutException):
        return ModemFault("no_answer", "the modem did not answer")
    if isinstance(exc, CommandError):
        return ModemFault("command_error", f"the modem answered ERROR to {_named(exc.command)}")
    if isinstance(exc, serial.SerialException | OSError):
        text = str(exc)
        if "could not open port" in text or "No such file" in text:
            return ModemFault("port_missing", f"cannot open the modem port ({text})")
        return ModemFault("unplugged", f"the modem went away ({text})")
    if isinstance(exc, GsmModemException):
        return ModemFault("modem_error", str(exc) or type(exc).__name__)
    log_failure(log, "unexpected modem error", exc)
    return ModemFault("internal_error", type(exc).__name__)


def _named(command: str | None) -> str:
    """The AT command without its arguments: a PIN or a PDU (number and text) stays out of
    health, events and logs."""
    if command and command.upper().startswith("AT"):
        return re.split(r"[=?]", command, maxsplit=1)[0]
    return "the message data" if command else "a command"


class ModemReader:
    """Service: keeps a modem connected, drains its SIM into intake, sends replies."""

    name = "sms-modem"

    def __init__(self, rt: Runtime, config: SmsConfig, multipart: Multipart):
        self.rt = rt
        self.config = config
        self.modem_config = config.modem
        self.multipart = multipart
        self._modem: _Modem | None = None
        self._io = asyncio.Lock()  # one AT exchange at a time (CMGS takes two steps)
        self._wake = asyncio.Event()
        self._lost: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_fault: str | None = None
        self._sim_full = False
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._close()

    # -- connection --------------------------------------------------------------------
    async def _run(self) -> None:
        port = self.modem_config.port
        while True:
            self.rt.health.set(HEALTH, False, "waiting for leadership of the modem port")
            try:
                async with self.rt.leadership(f"sms-modem:{port}"):
                    await self._hold()
                    return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # no database for the leadership lock: try again
                log.warning("modem leadership unavailable", extra={"error": repr(exc)})
                self.rt.health.set(HEALTH, False, "database unavailable for the modem lock")
                await self._close()
                await asyncio.sleep(self.modem_config.reconnect_max_s)

    async def _hold(self) -> None:
        """Keep the modem connected and drained; returns only on a fault not worth retrying."""
        first_delay = min(1.0, self.modem_config.reconnect_max_s)
        delay = first_delay
        while True:
            try:
                await self._connect()
                delay = first_delay
                await self._serve()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                fault = _fault_from(exc)
                await self._report_fault(fault)
                if not fault.retry:
                    await self._close()
                    return
            await self._close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.modem_config.reconnect_max_s)

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: we are stopping
                loop.call_soon_threadsafe(self._wake.set)

        def lost(exc: Any) -> None:
            def mark() -> None:
                self._lost = exc
                self._wake.set()

            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(mark)

        self._lost = None
        modem = _Modem(self.modem_config.port, self.modem_config.baudrate, wake, lost)
        try:
            await asyncio.to_thread(modem.connect, self.modem_config.pin)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(modem.close)
            raise
        self._modem = modem
        self.connected.set()
        self.rt.health.set(HEALTH, True, "connected")
        if self._last_fault is not None:
            await self._event("recovered", None, {"after": self._last_fault})
            self._last_fault = None
        log.info("modem connected", extra={"port": self.modem_config.port})

    async def _close(self) -> None:
        self.connected.clear()
        modem, self._modem = self._modem, None
        if modem is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(modem.close)

    async def _report_fault(self, fault: ModemFault) -> None:
        log.warning("modem fault", extra={"reason": fault.reason, "error": str(fault)})
        self.rt.health.set(HEALTH, False, f"{fault.reason}: {fault}")
        if fault.reason != self._last_fault:  # one event per change, not per retry
            self._last_fault = fault.reason
            await self._event("error", fault.reason, {"error": str(fault)})

    async def _event(self, outcome: str, reason: str | None, detail: dict[str, Any]) -> None:
        detail = {"port": self.modem_config.port, **detail}
        try:
            async with self.rt.store.transaction() as session:
                events.record(
                    session,
                    kind="channel",
                    channel="sms",
                    outcome=outcome,
                    reason=reason,
                    detail=detail,
                )
        except StoreUnavailable:
            log.warning("could not record modem event", extra={"reason": reason})

    async def _command(self, command: str, timeout: float = 30, **kw: Any) -> list[str]:
        modem = self._modem
        if modem is None or self._lost is not None:
            raise ModemFault("unplugged", "the modem went away")
        async with self._io:
            lines = list(await asyncio.to_thread(modem.write, command, timeout=timeout, **kw))
        if any(line.startswith("+CMTI") for line in lines):
            # The library takes a +CMTI that arrives during a command for part of the
            # answer (design §7): it still means "new message", so sweep again.
            self._wake.set()
        return lines

    # -- reading -----------------------------------------------------------------------
    async def _serve(self) -> None:
        while True:
            self._wake.clear()
            await self.sweep()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.modem_config.sweep_interval_s)
            if self._lost is not None:
                raise _fault_from(self._lost)

    async def sweep(self) -> int:
        """Read every stored message, submit it, delete it after the commit. Returns done."""
        await self._check_storage()
        entries = parse_cmgl(await self._command("AT+CMGL=4", timeout=120))
        done = 0
        for entry in entries:
            try:
                await self._take(entry)
            except StoreUnavailable as e:
                # Not stored, so not deleted: the next sweep tries again.
                log.warning("store unavailable; SMS stays on the SIM", extra={"error": str(e)})
                return done
            except (ModemFault, GsmModemException, serial.SerialException, OSError):
                raise  # the line itself failed: reconnect
            except Exception as e:
                # A bug must not stop the reader; the message stays on the SIM and is logged.
                log_failure(log, "SMS not processed; it stays on the SIM", e, index=entry.index)
                continue
            done += 1
        return done

    async def _check_storage(self) -> None:
        lines = await self._command("AT+CPMS?")
        match = next((m for line in lines if (m := CPMS_LINE.match(line))), None)
        if match is None:
            return
        used, total = int(match[1]), int(match[2])
        full = total > 0 and used >= total
        if full and not self._sim_full:
            self.rt.health.set(HEALTH, False, f"SIM full ({used}/{total}); draining")
            await self._event("error", "sim_full", {"used": used, "total": total})
        elif not full and self._sim_full:
            self.rt.health.set(HEALTH, True, "connected")
            await self._event("recovered", None, {"after": "sim_full"})
        self._sim_full = full

    async def _take(self, entry: StoredSms) -> None:
        try:
            pdu = decode_deliver(entry.pdu, entry.length)
        except PduError as e:
            log.warning(
                "unreadable SMS on the SIM", extra={"reason": e.reason, "index": entry.index}
            )
            digest = hashlib.sha256(entry.pdu.upper().encode()).hexdigest()
            await record_unreadable(
                self.rt.store,
                external_id=f"sms-pdu:{digest}",
                reason=e.reason,
                detail=e.detail,
                meta={"source": "modem", "pdu": entry.pdu, "stat": entry.stat},
            )
            await self._delete(entry.index)
            return
        meta: dict[str, Any] = {"smsc": pdu.smsc, "dcs": pdu.dcs}
        if pdu.concat is not None:
            data = bytes.fromhex(entry.pdu)
            tpdu_digest = hashlib.sha256(data[1 + data[0] :]).hexdigest()
            await self.multipart.add(
                IncomingPart(
                    sender=pdu.sender,
                    concat=pdu.concat,
                    text=printable(pdu.text),
                    smsc_timestamp=pdu.timestamp,
                    digest=tpdu_digest,
                    ucs2=pdu.ucs2,
                    meta=meta,
                )
            )
        else:
            await self.rt.intake.submit(
                modem_raw(
                    sender=pdu.sender,
                    short_code=self.config.short_code,
                    text=printable(pdu.text),
                    smsc_timestamp=pdu.timestamp,
                    concat=None,
                    meta=meta,
                )
            )
        await self._delete(entry.index)

    async def _delete(self, index: int) -> None:
        await self._command(f"AT+CMGD={index}")

    # -- sending -----------------------------------------------------------------------
    async def send_pdus(self, pdus: list[SubmitPdu]) -> list[int]:
        """AT+CMGS for each part; returns the message references. Raises ModemFault."""
        modem = self._modem
        if modem is None or self._lost is not None:
            raise ModemFault("not_connected", "the modem is not connected")

        def send() -> list[int]:
            refs = []
            for pdu in pdus:
                modem.write(f"AT+CMGS={pdu.tpdu_length}", timeout=10, expectedResponseTermSeq="> ")
                lines = modem.write(pdu.hex, timeout=60, writeTerm=CTRL_Z)
                ref = next((line for line in lines if line.startswith("+CMGS:")), None)
                if ref is None:
                    raise ModemFault("send_failed", "the modem gave no +CMGS reference")
                refs.append(int(ref.split(":")[1]))
            return refs

        async with self._io:
            try:
                return await asyncio.to_thread(send)
            except Exception as exc:
                raise _fault_from(exc) from exc
