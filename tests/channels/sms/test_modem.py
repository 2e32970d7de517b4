"""The modem adapter against the simulated modem on a pty, with the real store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from gateway.intake import Intake
from gateway.runtime import Runtime
from gateway.store.db import Store
from tests.channels.sms.helpers import (
    complaints,
    events_of,
    eventually,
    health,
    inbound,
    reader,
    running,
)
from tests.channels.sms.modem_simulator import ModemSimulator, encode_deliver

TS = datetime(2026, 11, 23, 9, 30, 0, tzinfo=UTC)
CITIZEN = "+6281234567890"


async def test_drains_stored_messages_good_and_bad(sim: ModemSimulator, runtime: Runtime) -> None:
    good = [
        encode_deliver(CITIZEN, "AGAM jalan rusak di depan pasar Lubuk Basung", TS),
        encode_deliver("+6285266001122", "agam banjir di nagari, tolong 🙏🌊", TS),
        encode_deliver("081311112222", "AGAM   lampu jalan mati", TS),
    ]
    bad = {
        "empty": encode_deliver(CITIZEN, "     ", TS),
        "binary_data": encode_deliver(CITIZEN, "data", TS, dcs=0x04),
        "status_report": "07914306073011F006270B913426565711F7012081111345400120811174054043",
        "length_mismatch": encode_deliver(CITIZEN, "AGAM terpotong", TS)[:-6],
        "bad_udh": "07917283010010F5440BC87238880900F1000099309251619580"
        "11050003190203E8329BFD4697D9EC37",
        "corrupt_pdu": "0791ZZ",
    }
    for pdu in [*good, *bad.values()]:
        sim.store(pdu, announce=False)
    sim.start()
    async with running(runtime):
        await eventually(lambda: not sim.stored(), what="an empty SIM")
        rows = await inbound(runtime.store)
        assert sorted(r.outcome for r in rows).count("accepted") == 3
        reasons = {r.reason for r in rows if r.outcome == "rejected"}
        assert reasons == {
            "empty_text",
            "binary_data",
            "status_report",
            "length_mismatch",
            "bad_udh",
            "corrupt_pdu",
        }
        texts = sorted(c.text for c in await complaints(runtime.store))
        assert any("🙏🌊" in t for t in texts)
        assert {c.region_code for c in await complaints(runtime.store)} == {"AGAM"}
        # Every delete came after the message was recorded: one CMGD per stored PDU.
        deletes = [c for c in sim.commands if c.startswith("AT+CMGD=")]
        assert len(deletes) == len(good) + len(bad)
        assert all(",4" not in c for c in deletes)  # never the wipe-all trap


async def test_cmti_wakes_the_reader_between_sweeps(sim: ModemSimulator, runtime: Runtime) -> None:
    sim.start()
    async with running(runtime, sweep_interval_s=60.0) as rt:
        await eventually(lambda: reader(rt).connected.is_set() and sim.notify, what="connect")
        await eventually(lambda: sim.cmgl_calls >= 1, what="the first sweep")
        sim.deliver(CITIZEN, "AGAM sampah menumpuk di pasar")
        await eventually(lambda: not sim.stored(), timeout=5, what="the +CMTI read")
        assert sim.cmgl_calls == 2  # woken by +CMTI, not by the 60 s sweep
        # A burst: the library would handle only the first +CMTI; one sweep reads all.
        for i in range(3):
            sim.deliver(f"+62812000000{i}", f"AGAM laporan beruntun {i}")
        await eventually(lambda: not sim.stored(), timeout=5, what="the burst")
        # A +CMTI inside another command's answer (the library takes it for part of the
        # answer): it is still noticed and brings one more sweep.
        await eventually(lambda: not reader(rt)._wake.is_set(), what="the reader idle")
        sweeps = sim.cmgl_calls
        sim.store(encode_deliver(CITIZEN, "AGAM got mampet", TS), announce="inside")
        sim.deliver("+6281300000009", "AGAM jembatan retak")
        await eventually(lambda: sim.cmgl_calls == sweeps + 2, timeout=5, what="a re-sweep")
        assert not sim.stored() and len(await complaints(rt.store)) == 6


async def test_multipart_16_bit_reference_out_of_order_with_a_repeat(
    sim: ModemSimulator, runtime: Runtime
) -> None:
    from tests.channels.sms.modem_simulator import split_deliver

    text = "AGAM " + "jembatan gantung di Nagari Tiku putus, anak sekolah menyeberang sungai. " * 5
    parts = split_deliver(CITIZEN, text, TS, ref=0x1234, ref16=True)
    assert len(parts) >= 3
    for pdu in [parts[2], parts[0], parts[2], *parts[3:], parts[1]]:  # part 3 twice
        sim.store(pdu, announce=False)
    sim.start()
    async with running(runtime) as rt:
        await eventually(lambda: not sim.stored(), what="an empty SIM")
        found = await eventually(lambda: complaints(rt.store), what="the complaint")
        assert len(found) == 1
        assert found[0].text == " ".join(text.split()[1:])
        assert [r.outcome for r in await inbound(rt.store)] == ["accepted"]


async def test_unplug_and_replug(sim: ModemSimulator, runtime: Runtime) -> None:
    sim.start()
    async with running(runtime) as rt:
        await eventually(lambda: health(rt) == "ok", what="connected")
        sim.unplug()
        await eventually(lambda: "unplugged" in health(rt) or "port_missing" in health(rt))
        sim.replug()
        sim.deliver(CITIZEN, "AGAM pohon tumbang menutup jalan")
        await eventually(lambda: not sim.stored(), what="reading after the replug")
        assert health(rt) == "ok"
        outcomes = [(e.outcome, e.reason) for e in await events_of(rt.store, "channel")]
        assert outcomes[0][0] == "error" and outcomes[-1] == ("recovered", None)


async def test_missing_port_is_retried_until_it_appears(
    sim: ModemSimulator, runtime: Runtime
) -> None:
    async with running(runtime) as rt:
        await eventually(lambda: "port_missing" in health(rt), what="port_missing")
        sim.start()
        await eventually(lambda: health(rt) == "ok", what="connected after the port appeared")
        [event] = [e for e in await events_of(rt.store, "channel") if e.outcome == "error"]
        assert event.reason == "port_missing"


async def test_wrong_pin_is_not_retried(sim: ModemSimulator, runtime: Runtime) -> None:
    sim.pin = "1234"
    sim.unlocked = False
    sim.start()
    async with running(runtime, pin="0000") as rt:
        await eventually(lambda: "wrong_pin" in health(rt), what="wrong_pin")
        await asyncio.sleep(1.0)  # longer than the reconnect backoff
        assert sum(c.startswith("AT+CPIN=") for c in sim.commands) == 1  # the SIM is not locked
        [event] = await events_of(rt.store, "channel")
        assert (event.outcome, event.reason) == ("error", "wrong_pin")


async def test_right_pin_unlocks(sim: ModemSimulator, runtime: Runtime) -> None:
    sim.pin = "1234"
    sim.unlocked = False
    sim.start()
    async with running(runtime, pin="1234") as rt:
        await eventually(lambda: health(rt) == "ok", what="connected")


async def test_sim_full_is_reported_and_drained(sim: ModemSimulator, runtime: Runtime) -> None:
    sim.capacity = 3
    for i in range(3):
        sim.store(encode_deliver(CITIZEN, f"AGAM laporan nomor {i}", TS), announce=False)
    assert sim.deliver(CITIZEN, "AGAM tidak muat") == [None]  # the network must retry later
    sim.start()
    async with running(runtime) as rt:
        await eventually(lambda: not sim.stored(), what="drained")
        await eventually(lambda: health(rt) == "ok", what="healthy again")
        reasons = [(e.outcome, e.reason) for e in await events_of(rt.store, "channel")]
        assert reasons[:2] == [("error", "sim_full"), ("recovered", None)]
        assert len(await complaints(rt.store)) == 3


async def test_error_answers_then_recovery(sim: ModemSimulator, runtime: Runtime) -> None:
    sim.failures["AT+CMGL"] = "+CMS ERROR: 500"
    sim.deliver(CITIZEN, "AGAM drainase tersumbat")
    sim.start()
    async with running(runtime) as rt:
        await eventually(lambda: "command_error" in health(rt), what="command_error")
        assert sim.stored()  # nothing read, nothing deleted
        sim.failures.clear()
        await eventually(lambda: not sim.stored(), what="read after recovery")
        assert len(await complaints(rt.store)) == 1


async def test_retransmission_at_a_new_index_is_a_duplicate(
    sim: ModemSimulator, runtime: Runtime
) -> None:
    pdu = encode_deliver(CITIZEN, "AGAM jalan berlubang dekat SD 05", TS)
    sim.store(pdu, announce=False)
    sim.store(pdu, announce=False)
    sim.start()
    async with running(runtime) as rt:
        await eventually(lambda: not sim.stored(), what="an empty SIM")
        assert len(await complaints(rt.store)) == 1
        assert sorted(e.outcome for e in await events_of(rt.store, "inbound")) == [
            "accepted",
            "duplicate",
        ]


async def test_modem_left_at_the_cmgs_prompt_is_recovered(
    sim: ModemSimulator, runtime: Runtime
) -> None:
    """A gateway killed inside AT+CMGS leaves the modem waiting for a PDU."""
    import serial

    sim.start()
    with serial.Serial(str(sim.path), 115200, timeout=1, dsrdtr=True, rtscts=True) as line:
        line.write(b"AT+CMGS=23\r")
        assert b">" in line.read(4)
    sim.deliver(CITIZEN, "AGAM parit meluap")
    async with running(runtime):
        await eventually(lambda: not sim.stored(), what="reading after the stuck prompt")


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_one_gateway_instance_holds_the_modem_port(
    sim: ModemSimulator, runtime: Runtime
) -> None:
    """Two instances on one PostgreSQL: one reads the modem, the other takes over later."""
    import channels.sms

    sim.start()
    settings = runtime.settings
    other_store = Store(settings.database_url)
    other = Runtime(settings=settings, store=other_store, intake=Intake(settings, other_store))
    try:
        async with running(runtime) as first:
            await eventually(lambda: health(first) == "ok", what="the first instance")
            channels.sms.register(other)
            for service in other.services:
                await service.start()
            await asyncio.sleep(0.5)
            assert "waiting for leadership" in health(other)
            assert sim.commands.count("ATZ") == 1
        await eventually(lambda: health(other) == "ok", timeout=10, what="the take-over")
        sim.deliver(CITIZEN, "AGAM jalan licin berlumpur")
        await eventually(lambda: not sim.stored(), what="read by the second instance")
    finally:
        for service in reversed(other.services):
            await service.stop()
        await other_store.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the store used is a dead one
async def test_database_down_leaves_messages_on_the_sim(
    sim: ModemSimulator, runtime: Runtime
) -> None:
    dead = Store("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    rt = Runtime(settings=runtime.settings, store=dead, intake=Intake(runtime.settings, dead))
    sim.deliver(CITIZEN, "AGAM jalan rusak")
    sim.start()
    try:
        async with running(rt):
            await eventually(lambda: "database unavailable" in health(rt), what="the report")
            await asyncio.sleep(0.5)
            assert len(sim.stored()) == 1
            assert not any(c.startswith("AT+CMGD") for c in sim.commands)
    finally:
        await dead.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # multipart runs on both elsewhere
async def test_255_part_message_through_the_sim(sim: ModemSimulator, runtime: Runtime) -> None:
    """The longest concatenated SMS there is: every part recorded, then deleted; one message,
    rejected as too long by the normalizer (and kept for operators)."""
    from tests.channels.sms.modem_simulator import split_deliver

    words = "AGAM " + " ".join(f"kata{i:05d}" for i in range(3870))
    parts = split_deliver(CITIZEN, words, TS, ref=0xABCD, ref16=True)
    assert len(parts) == 255
    sim.capacity = 255
    for pdu in parts:
        sim.store(pdu, announce=False)
    sim.start()
    async with running(runtime) as rt:
        await eventually(lambda: not sim.stored(), timeout=40, what="an empty SIM")
        [row] = await eventually(lambda: inbound(rt.store), what="the message")
        assert (row.outcome, row.reason) == ("rejected", "too_long")
        assert row.meta["parts"] == 255 and row.text.startswith("AGAM kata00000")
