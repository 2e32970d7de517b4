"""One known week of complaints for the report tests (console, CLI and browser).

The week is Monday 2 to Sunday 8 November 2026, days in Asia/Jakarta (UTC+7):

    AGM-000001  SMS, Siti Aminah, forwarded after 2 h (on time)   -> resolved by LAPOR
    AGM-000002  e-mail, still queued since 3 Nov                  -> overdue (verify)
    AGM-000003  SMS, ANONIM, forwarded 10 Nov (after its due 9 Nov) -> late
    AGM-000004  SMS, RAHASIA, waiting for review                  -> overdue, subject hidden
    AGM-000005  SMS, 8 Nov 23:59 WIB, rejected; its subject is a spreadsheet formula
    AGM-000006  SMS, 9 Nov 00:00 WIB: the day after the week, not in it
    SBY-000001  SMS, forwarded after 1 h (on time)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from gateway.runtime import Runtime
from gateway.store.models import Complaint
from normalizer.types import Channel
from tests.support import make_raw

WEEK = ("2026-11-02", "2026-11-08")
PHONE = "+6281234567890"
MASKED_PHONE = "+62812*****890"
FORMULA = '=HYPERLINK("http://contoh.invalid","klik")'


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026, given in WIB."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


async def seed_week(rt: Runtime) -> None:
    submit = rt.intake.submit
    await submit(
        make_raw(
            "AGAM jalan rusak di depan pasar", sender_name="Siti Aminah", received_at=at(2, 10)
        )
    )
    await submit(
        make_raw(
            "Lampu jalan padam di Lubuk Basung",
            channel=Channel.EMAIL,
            sender="warga@example.com",
            recipient="aduan@agamkab.go.id",
            received_at=at(3, 9),
        )
    )
    await submit(make_raw("AGAM ANONIM pungutan liar di kantor desa", received_at=at(4, 8)))
    await submit(make_raw("AGAM RAHASIA dugaan suap pengadaan", received_at=at(5, 11)))
    await submit(make_raw("AGAM sampah menumpuk di pasar", received_at=at(8, 23, 59)))
    await submit(make_raw("AGAM drainase tersumbat", received_at=at(9, 0)))
    await submit(make_raw("SBY banjir di jalan ahmad yani", received_at=at(3, 14)))
    changes = {
        "AGM-000001": {
            "status": "closed",
            "forwarded_at": at(2, 12),
            "lapor_tracking_id": "LAP-1",
            "lapor_status": "selesai",
        },
        "AGM-000002": {"status": "queued"},
        "AGM-000003": {"status": "forwarded", "forwarded_at": at(10, 9), "lapor_tracking_id": "L3"},
        "AGM-000004": {"status": "pending_review"},
        # A regional app's subject line, as spreadsheets would run it.
        "AGM-000005": {"status": "rejected_by_operator", "subject": FORMULA},
        "SBY-000001": {"status": "closed", "forwarded_at": at(3, 15), "lapor_status": "selesai"},
    }
    async with rt.store.transaction() as s:
        for ref, values in changes.items():
            await s.execute(update(Complaint).where(Complaint.tracking_ref == ref).values(**values))
