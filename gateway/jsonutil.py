"""JSON output with datetimes as ISO 8601 UTC ("...Z") and Indonesian text kept readable."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
