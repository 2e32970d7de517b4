"""E-mail routing by recipient address.

The recipient may hold several addresses, comma-separated and in "Name <addr>" form
("Aduan Agam <ADUAN@agamkab.go.id>, lain@contoh.id"); addresses compare case-insensitively.
The first address that belongs to a region routes the message; others are reported in a note
(the e-mail channel submits one message per region when it wants one complaint each).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import getaddresses, parseaddr

from normalizer.types import RegionRules


@dataclass(frozen=True, slots=True)
class AddressMatch:
    region_code: str
    address: str
    others: tuple[tuple[str, str], ...]  # (address, region code) of other regions


def address_table(regions: Sequence[RegionRules]) -> dict[str, str]:
    return {a.strip().lower(): r.code for r in regions for a in r.email_addresses if a.strip()}


def addresses_in(field: str) -> list[str]:
    """Bare lower-case addresses from a To/Cc-like header value."""
    return [addr.strip().lower() for _, addr in getaddresses([field]) if "@" in addr]


def match_address(recipient: str, table: Mapping[str, str]) -> AddressMatch | None:
    routed = [(a, table[a]) for a in dict.fromkeys(addresses_in(recipient)) if a in table]
    if not routed:
        return None
    (address, region), rest = routed[0], routed[1:]
    return AddressMatch(region, address, tuple((a, r) for a, r in rest if r != region))


def parse_sender(sender: str) -> tuple[str | None, str | None]:
    """(display name, lower-case address) of a From-like value."""
    name, addr = parseaddr(sender)
    addr = addr.strip().lower()
    return (name.strip() or None), (addr if "@" in addr else None)
