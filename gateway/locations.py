"""Where a complaint is, when its channel said so.

Two sources: an Open311 request's `lat`/`long`/`address_string`/`address_id` (its own table,
written with the inbound message), and `meta["location"]` of the inbound message, where a
channel that receives a shared location puts `{"lat", "long", "name", "address"}` (any of
them may be missing). Values are checked here: a coordinate out of range is not shown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.models import Complaint, InboundMessage, Open311Request

CHUNK = 500  # ids per IN (...): well under SQLite's bound-parameter limit


@dataclass(frozen=True, slots=True)
class Location:
    lat: float | None
    long: float | None
    name: str | None
    address: str | None

    @property
    def has_point(self) -> bool:
        return self.lat is not None and self.long is not None

    def map_links(self) -> list[tuple[str, str]]:
        """Plain links, nothing embedded: OpenStreetMap, and the phone's own map app."""
        if not self.has_point:
            return []
        lat, long = f"{self.lat:.6f}", f"{self.long:.6f}"
        return [
            (
                "Buka di OpenStreetMap",
                f"https://www.openstreetmap.org/?mlat={lat}&mlon={long}#map=17/{lat}/{long}",
            ),
            ("Buka di aplikasi peta", f"geo:{lat},{long}"),
        ]

    def as_json(self) -> dict[str, Any]:
        return {"lat": self.lat, "long": self.long, "name": self.name, "address": self.address}


def _coordinate(value: Any, limit: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split())[:500] or None


def location_of(open311: Open311Request | None, meta: dict[str, Any] | None) -> Location | None:
    if open311 is not None:
        lat, long = _coordinate(open311.lat, 90), _coordinate(open311.long, 180)
        address = _text(open311.address_string)
        if address is None and open311.address_id:
            address = f"ID alamat {open311.address_id}"
        name = None
    else:
        given = (meta or {}).get("location")
        if not isinstance(given, dict):
            return None
        lat, long = _coordinate(given.get("lat"), 90), _coordinate(given.get("long"), 180)
        name, address = _text(given.get("name")), _text(given.get("address"))
    if lat is None or long is None:
        lat = long = None
    if lat is None and name is None and address is None:
        return None
    return Location(lat, long, name, address)


async def complaint_locations(
    session: AsyncSession, complaints: Sequence[Complaint]
) -> dict[str, Location]:
    """complaint id -> its location, for those whose channel gave one."""
    by_inbound = {c.inbound_id: c.id for c in complaints if c.inbound_id is not None}
    ids = list(by_inbound)
    found: dict[str, Location] = {}
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        rows = await session.execute(
            select(InboundMessage.id, InboundMessage.meta, Open311Request)
            .outerjoin(Open311Request, Open311Request.inbound_id == InboundMessage.id)
            .where(InboundMessage.id.in_(chunk))
        )
        for inbound_id, meta, open311 in rows:
            located = location_of(open311, meta)
            if located is not None:
                found[by_inbound[inbound_id]] = located
    return found
