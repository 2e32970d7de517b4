"""The modem adapter against the simulated modem on a pty, with the real store."""

from __future__ import annotations

from datetime import UTC, datetime

from channels.sms.modem import ModemReader
from gateway.runtime import Runtime
from tests.channels.sms.helpers import complaints, eventually, events_of, inbound
from tests.channels.sms.modem_simulator import ModemSimulator, encode_deliver

TS = datetime(2026, 11, 23, 9, 30, 0, tzinfo=UTC)
CITIZEN = "+6281234567890"


def reader(rt: Runtime) -> ModemReader:
    return next(s for s in rt.services if isinstance(s, ModemReader))


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
        "bad_udh": "07917283010010F5440BC87238880900F100009930925161958011050003190203E8329BFD4697D9EC37",
        "corrupt_pdu": "0791ZZ",
    }
    for pdu in [*good, *bad.values()]:
        sim.store(pdu, announce=False)
    sim.start()
    import channels.sms

    channels.sms.register(runtime)
    for service in runtime.services:
        await service.start()
    try:
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
    finally:
        for service in reversed(runtime.services):
            await service.stop()
