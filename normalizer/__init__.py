"""Pure normalisation: RawMessage -> Normalized | Rejection. No I/O anywhere in this package."""

from normalizer.normalize import normalize
from normalizer.types import (
    Attachment,
    Category,
    Channel,
    Limits,
    Normalized,
    RawMessage,
    RegionRules,
    Rejection,
    RejectReason,
    Reporter,
)

__all__ = [
    "Attachment",
    "Category",
    "Channel",
    "Limits",
    "Normalized",
    "RawMessage",
    "RegionRules",
    "RejectReason",
    "Rejection",
    "Reporter",
    "normalize",
]
