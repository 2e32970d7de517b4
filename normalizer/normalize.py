"""normalize(raw, regions) -> Normalized | Rejection: the one entry point of the package.

Order of decisions: SMS short code, region hint, empty text, routing (channel rules, then the
hint on top), then the length of what is left. Rejections carry the cleaned text (cut to the
limit) and the reporter, so operators see them and can still make them complaints.
"""

from __future__ import annotations

from collections.abc import Sequence

from normalizer.category import guess_category
from normalizer.reporter import reporter_of
from normalizer.routing import route
from normalizer.subject import clean_subject
from normalizer.text import clean_text, shorten
from normalizer.types import (
    Channel,
    Limits,
    Normalized,
    RawMessage,
    RegionRules,
    Rejection,
    RejectReason,
)

_DETAIL_CODE_CHARS = 40


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _wrong_recipient(recipient: str, short_code: str) -> bool:
    # A modem only ever receives what was sent to its own number and cannot tell it:
    # an empty recipient is not a mismatch.
    got = _digits(recipient)
    return bool(got) and got != _digits(short_code)


def _hinted_region(hint: str, regions: Sequence[RegionRules]) -> str | None:
    wanted = hint.strip().upper()
    return next((r.code for r in regions if r.code.upper() == wanted), None)


def normalize(
    raw: RawMessage,
    regions: Sequence[RegionRules],
    *,
    short_code: str | None = None,
    limits: Limits = Limits(),
) -> Normalized | Rejection:
    reporter, invalid_phone = reporter_of(raw)
    text = clean_text(raw.text)

    def reject(
        reason: RejectReason, detail: str, text: str, region: str | None = None
    ) -> Rejection:
        return Rejection(
            reason,
            detail,
            text=shorten(text, limits.max_text_chars),
            reporter=reporter,
            region_code=region,
        )

    if raw.channel is Channel.SMS and short_code and _wrong_recipient(raw.recipient, short_code):
        return reject(
            RejectReason.WRONG_RECIPIENT, f"not sent to the short code {short_code}", text
        )

    hinted: str | None = None
    if raw.region_hint is not None and raw.region_hint.strip():
        hinted = _hinted_region(raw.region_hint, regions)
        if hinted is None:
            code = shorten(" ".join(raw.region_hint.split()), _DETAIL_CODE_CHARS)
            return reject(RejectReason.UNKNOWN_REGION, f"region {code!r} is not configured", text)

    if not text:
        return reject(RejectReason.EMPTY_TEXT, "the message has no text", text, hinted)

    routed = route(raw, text, regions)
    notes = list(routed.notes)
    region = hinted or routed.region_code
    if region is None:
        return reject(RejectReason.UNROUTED, routed.unrouted_detail, clean_text(routed.text))
    if hinted and routed.region_code and routed.region_code != hinted:
        notes.append(f"region hint {hinted} overrides {routed.matched_by} ({routed.region_code})")
    if invalid_phone:
        notes.append("sender phone number is not valid; not kept as the reporter's phone")

    body = clean_text(routed.text)
    if not body:
        after = f" after {routed.matched_by}" if routed.region_code == region else ""
        return reject(RejectReason.EMPTY_TEXT, f"no complaint text{after}", body, region)
    if len(body) < limits.min_text_chars:
        detail = f"{len(body)} characters, at least {limits.min_text_chars} needed"
        return reject(RejectReason.TOO_SHORT, detail, body, region)
    if len(body) > limits.max_text_chars:
        detail = f"{len(body)} characters, at most {limits.max_text_chars} allowed"
        return reject(RejectReason.TOO_LONG, detail, body, region)

    return Normalized(
        region_code=region,
        text=body,
        subject=clean_subject(raw.subject, body, limits.subject_chars),
        category=guess_category(body, raw.category_hint),
        reporter=reporter,
        anonymous=raw.anonymous or routed.anonymous,
        confidential=raw.confidential or routed.confidential,
        notes=tuple(notes),
    )
