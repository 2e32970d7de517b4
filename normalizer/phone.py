"""Phone numbers to E.164 with phonenumbers; Indonesia is the default region.

0812…, 62812…, +62 812-…, and 812… (the trunk 0 forgotten) all become +62812…. A sender that
is not a valid number (an operator's alphanumeric name, a truncated number) gives None: the
raw sender stays on the inbound message, but it is not reported as the citizen's phone.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

DEFAULT_REGION = "ID"


# Parsing is the costliest step of normalising an API request, and a request's number is
# parsed twice (normalizer, the API's warnings); citizens also write again from one number.
@lru_cache(maxsize=4096)
def to_e164(value: str | None, region: str = DEFAULT_REGION) -> str | None:
    if not value or not value.strip():
        return None
    try:
        number = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
