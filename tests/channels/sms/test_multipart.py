"""Multipart reassembly on the real store: order, repeats, 255 parts, time-outs, crashes."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from channels.sms.multipart import MISSING, IncomingPart, Multipart
from channels.sms.pdu import Concat, decode_deliver
from gateway.runtime import Runtime
from gateway.store.models import SmsPart
from tests.channels.sms.helpers import complaints, inbound
from tests.channels.sms.modem_simulator import split_deliver, split_ucs2_units

TS = datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)
CITIZEN = "+6281234567890"


def parts_of(pdus: list[str]) -> list[IncomingPart]:
    out = []
    for pdu in pdus:
        d = decode_deliver(pdu)
        assert d.concat is not None
        data = bytes.fromhex(pdu)
        out.append(
            IncomingPart(
                sender=d.sender,
                concat=d.concat,
                text=d.text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"),
                smsc_timestamp=d.timestamp,
                digest=hashlib.sha256(data[1 + data[0] :]).hexdigest(),
                ucs2=d.ucs2,
            )
        )
    return out


def simple_part(seq: int, total: int, text: str, ref: int = 77) -> IncomingPart:
    return IncomingPart(
        sender=CITIZEN,
        concat=Concat(ref, total, seq, 8),
        text=text,
        smsc_timestamp=TS + timedelta(seconds=seq),
        digest=hashlib.sha256(f"{ref}/{total}/{seq}/{text}".encode()).hexdigest(),
    )


def multipart(rt: Runtime, timeout_s: float = 600) -> Multipart:
    return Multipart(rt.store, rt.intake, short_code="1708", timeout_s=timeout_s)


async def open_parts(rt: Runtime) -> int:
    async with rt.store.reader() as s:
        return (
            await s.scalar(select(func.count(SmsPart.id)).where(SmsPart.completed_at.is_(None)))
            or 0
        )


async def test_any_order_with_repeats_becomes_one_complaint(runtime: Runtime) -> None:
    text = "AGAM " + "Saluran irigasi di Jorong Koto jebol sejak hujan deras minggu lalu. " * 4
    parts = parts_of(split_deliver(CITIZEN, text, TS, ref=200))
    mp = multipart(runtime)
    order = [*reversed(parts), parts[1], parts[0]]
    outcomes = [await mp.add(p) for p in order]
    assert [o.result is not None for o in outcomes].count(True) == 1
    assert [o.repeat for o in outcomes][-2:] == [True, True]
    [complaint] = await complaints(runtime.store)
    assert complaint.text == " ".join(text.split()[1:])
    assert await open_parts(runtime) == 0


async def test_emoji_cut_between_ucs2_parts(runtime: Runtime) -> None:
    text = "AGAM " + "x" * 61 + "🚧 jalan amblas 🙏"
    pdus = split_ucs2_units(CITIZEN, text.encode("utf-16-be"), TS, ref=5)
    mp = multipart(runtime)
    for part in parts_of(pdus):
        await mp.add(part)
    [complaint] = await complaints(runtime.store)
    assert complaint.text.endswith("🚧 jalan amblas 🙏")


async def test_255_parts_in_random_order(runtime: Runtime) -> None:
    mp = multipart(runtime)
    parts = [simple_part(i, 255, f"bagian{i:03d} ", ref=9) for i in range(1, 256)]
    parts[0] = simple_part(1, 255, "AGAM bagian001 ", ref=9)
    random.Random(1708).shuffle(parts)
    results = [(await mp.add(p)).result for p in parts]
    assert sum(r is not None for r in results) == 1
    [complaint] = await complaints(runtime.store)
    assert complaint.text.startswith("bagian001 bagian002") and "bagian255" in complaint.text


async def test_timed_out_set_is_completed_with_gaps_marked(runtime: Runtime) -> None:
    mp = multipart(runtime, timeout_s=60)
    await mp.add(simple_part(1, 3, "AGAM lampu merah "))
    await mp.add(simple_part(3, 3, " mati total"))
    assert await mp.sweep() == 0  # not yet
    assert await mp.sweep(now=datetime.now(UTC) + timedelta(seconds=61)) == 1
    [row] = await inbound(runtime.store)
    assert row.text == f"AGAM lampu merah {MISSING} mati total"
    assert row.meta["missing_parts"] == [2]
    assert row.outcome == "accepted"


async def test_late_repeat_after_completion_is_absorbed(runtime: Runtime) -> None:
    mp = multipart(runtime)
    first, second = simple_part(1, 2, "AGAM pipa PDAM "), simple_part(2, 2, "bocor")
    await mp.add(first)
    await mp.add(second)
    late = await mp.add(second)  # the network sends part 2 again
    assert late.repeat and late.result is None
    assert await mp.sweep(now=datetime.now(UTC) + timedelta(hours=1)) == 0
    assert len(await inbound(runtime.store)) == 1


async def test_reused_reference_starts_a_new_set(runtime: Runtime) -> None:
    mp = multipart(runtime)
    await mp.add(simple_part(1, 2, "AGAM satu "))
    again = IncomingPart(
        sender=CITIZEN,
        concat=Concat(77, 2, 1, 8),
        text="AGAM dua ",
        smsc_timestamp=TS + timedelta(minutes=1),
        digest="f" * 64,
    )
    await mp.add(again)  # same ref, same part number, different message
    await mp.add(simple_part(2, 2, "pertama"))
    await mp.add(
        IncomingPart(CITIZEN, Concat(77, 2, 2, 8), "kedua", TS + timedelta(minutes=1), "e" * 64)
    )
    texts = sorted(c.text for c in await complaints(runtime.store))
    assert texts == ["dua kedua", "satu pertama"]


async def test_complete_set_left_by_a_crash_is_submitted_on_the_repeat(runtime: Runtime) -> None:
    """Crash after the last part was stored but before intake ran: the re-read finishes it."""
    mp = multipart(runtime)
    first, second = simple_part(1, 2, "AGAM tanah "), simple_part(2, 2, "longsor")
    await mp.add(first)
    async with runtime.store.transaction() as s:  # what the crashed process had committed
        s.add(
            SmsPart(
                group_key=(await _group(runtime)),
                digest=second.digest,
                sender=CITIZEN,
                recipient="1708",
                concat_ref=77,
                total=2,
                seq=2,
                text="longsor",
                smsc_timestamp=second.smsc_timestamp,
                meta={"bits": 8},
            )
        )
    outcome = await mp.add(second)  # still on the SIM, read again after the restart
    assert outcome.repeat and outcome.result is not None
    assert [c.text for c in await complaints(runtime.store)] == ["tanah longsor"]


async def _group(rt: Runtime) -> str:
    async with rt.store.reader() as s:
        return (await s.scalars(select(SmsPart.group_key))).one()
