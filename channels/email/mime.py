"""Raw RFC 5322 bytes -> ParsedMail: the text a citizen wrote, who wrote it, what came along.

The standard library's parser (policy.default, its header parsing memoized) does the MIME
work. Everything here is
defensive: mail from the wild has broken headers, wrong charsets and absurd structures, and
none of that may crash a listener or poller. Where a header cannot be read we fall back to
its raw value; where nothing useful is left, `parse_mail` returns a MailRejection.
"""

from __future__ import annotations

import email
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.headerregistry import BaseHeader
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from functools import lru_cache
from pathlib import PurePosixPath

import html2text

from channels.email.textclean import trim_reply

# A deeper structure than this is either an attack or broken; its inner parts are ignored.
MAX_DEPTH = 60
MAX_PARTS = 500
MAX_ATTACHMENTS = 20
MAX_HEADER_CHARS = 998
MAX_MESSAGE_ID_CHARS = 200


@dataclass(frozen=True, slots=True)
class AttachmentLimits:
    max_bytes: int
    allowed_types: tuple[str, ...]
    max_count: int = MAX_ATTACHMENTS


@dataclass(frozen=True, slots=True)
class MailAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class MailRejection:
    """A message we cannot make anything of; `reason` is a short machine-readable word."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class ParsedMail:
    message_id: str  # the idempotency key: Message-ID, else sha256 of the raw bytes
    has_message_id: bool
    from_address: str | None
    from_name: str | None
    reply_to: str | None
    subject: str
    date: datetime | None
    text: str
    attachments: tuple[MailAttachment, ...] = ()
    notes: tuple[str, ...] = ()  # e.g. "attachment skipped: type text/x-sh not allowed"
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    to: tuple[str, ...] = ()  # addresses from To, Cc, Delivered-To, X-Original-To
    headers: dict[str, str] = field(default_factory=dict)  # the ones loop checks need


# Headers the loop-prevention rules read; kept (lower-cased names) in ParsedMail.headers.
LOOP_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "return-path",
    "content-type",
)


class _MemoPolicy(EmailPolicy):
    """policy.default, parsing each distinct header once.

    The default policy parses a header again on every access: reading one mail took its
    Content-Type through the header registry five times (content type, disposition,
    charset, the loop headers), and that registry was half of SMTP intake's time. Header
    objects are immutable, so one parse serves every access, and every mail with the same
    header (most Content-Types, a mailer's usual headers)."""

    def header_fetch_parse(self, name: str, value: str) -> BaseHeader:
        if hasattr(value, "name") or len(value) > _MEMO_MAX_CHARS:
            return super().header_fetch_parse(name, value)  # type: ignore[no-any-return]
        return _parsed_header(name, value)


_MEMO_MAX_CHARS = 2_000  # longer values (rare, or hostile) are parsed each time, not kept
_POLICY = _MemoPolicy()


@lru_cache(maxsize=4096)
def _parsed_header(name: str, value: str) -> BaseHeader:
    # A header that makes the registry raise is not cached; the caller falls back to raw.
    return EmailPolicy.header_fetch_parse(_POLICY, name, value)  # type: ignore[no-any-return]


def raw_sha256(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def parse_mail(raw: bytes, limits: AttachmentLimits) -> ParsedMail | MailRejection:
    if not raw.strip():
        return MailRejection("empty_message", "the message has no content")
    try:
        msg = email.message_from_bytes(raw, policy=_POLICY)
    except RecursionError:
        return MailRejection("too_deeply_nested", "MIME structure nested too deeply to parse")
    assert isinstance(msg, EmailMessage)
    try:
        return _parse(msg, raw, limits)
    except RecursionError:
        return MailRejection("too_deeply_nested", "MIME structure nested too deeply to read")


def _parse(msg: EmailMessage, raw: bytes, limits: AttachmentLimits) -> ParsedMail:
    notes: list[str] = []
    from_name, from_address = _address(msg, "from")
    _, reply_to = _address(msg, "reply-to")
    message_id = _first_id(header_text(msg, "message-id"))
    has_id = message_id is not None
    if message_id is None:
        key = raw_sha256(raw)
    elif len(message_id) > MAX_MESSAGE_ID_CHARS:
        key = "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()
    else:
        key = message_id
    body, attachments = _walk(msg, limits, notes)
    text = trim_reply(body)
    recipients: list[str] = []
    for name in ("to", "cc", "delivered-to", "x-original-to"):
        recipients.extend(_addresses(msg, name))
    return ParsedMail(
        message_id=key,
        has_message_id=has_id,
        from_address=from_address,
        from_name=from_name,
        reply_to=reply_to,
        subject=" ".join(header_text(msg, "subject").split()),
        date=_date(msg),
        text=text,
        attachments=tuple(attachments),
        notes=tuple(notes),
        in_reply_to=_first_id(header_text(msg, "in-reply-to")),
        references=tuple(_ids(header_text(msg, "references"))),
        to=tuple(dict.fromkeys(recipients)),
        headers={h: header_text(msg, h) for h in LOOP_HEADERS if msg.get(h) is not None},
    )


# --- headers ---------------------------------------------------------------------------


def header_text(msg: Message, name: str) -> str:
    """A header as readable text, whatever state it is in ('' when absent)."""
    try:
        value = msg.get(name)
        text = "" if value is None else str(value)
    except Exception:  # the header registry raises on some malformed inputs
        text = _decode_raw_header(_raw_header(msg, name))
    return _repair_8bit(text)[:MAX_HEADER_CHARS]


def _raw_header(msg: Message, name: str) -> str:
    for key, value in msg.raw_items():
        if key.lower() == name:
            return value if isinstance(value, str) else str(value)
    return ""


def _decode_raw_header(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _repair_8bit(text: str) -> str:
    """Raw 8-bit header bytes reach us as surrogate escapes: decode them as UTF-8 or cp1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text.replace("\x00", "")
    data = text.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8").replace("\x00", "")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace").replace("\x00", "")


def _address(msg: EmailMessage, name: str) -> tuple[str | None, str | None]:
    """(display name, lower-cased address) of the first address in a header."""
    try:
        header = msg.get(name)
        addresses = getattr(header, "addresses", ()) if header is not None else ()
        for addr in addresses:
            if addr.username and addr.domain:
                name_ = _repair_8bit(addr.display_name).strip() or None
                return name_, _repair_8bit(addr.addr_spec).lower()
    except Exception:
        pass
    display, spec = email.utils.parseaddr(_decode_raw_header(_raw_header(msg, name)))
    spec = _repair_8bit(spec).strip().lower()
    if spec.count("@") == 1 and not spec.startswith("@") and not spec.endswith("@"):
        return (_repair_8bit(display).strip() or None), spec
    return None, None


def _addresses(msg: EmailMessage, name: str) -> list[str]:
    out: list[str] = []
    try:
        values = msg.get_all(name) or []
    except Exception:
        values = []
    for value in values:
        try:
            pairs = email.utils.getaddresses([_repair_8bit(str(value))])
        except Exception:
            continue
        out.extend(spec.lower() for _, spec in pairs if "@" in spec)
    return out


_ID = re.compile(r"<[^<>\s]+>")


def _ids(value: str) -> list[str]:
    return _ID.findall(value)


def _first_id(value: str) -> str | None:
    ids = _ids(value)
    if ids:
        return ids[0]
    bare = "".join(value.split())
    return f"<{bare.strip('<>')}>" if bare.strip("<>") else None


def _date(msg: EmailMessage) -> datetime | None:
    raw = header_text(msg, "date")
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- body and attachments --------------------------------------------------------------


def _walk(
    msg: Message, limits: AttachmentLimits, notes: list[str]
) -> tuple[str, list[MailAttachment]]:
    """Depth-first over the parts without recursion, so any nesting is safe."""
    plain: str | None = None
    html: str | None = None
    attachments: list[MailAttachment] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            notes.append(f"more than {MAX_PARTS} MIME parts; the rest ignored")
            break
        # A forwarded mail (message/rfc822) counts as multipart too: its text is part of
        # what the citizen sent.
        if part.is_multipart():
            if depth >= MAX_DEPTH:
                notes.append(f"MIME parts nested deeper than {MAX_DEPTH} ignored")
                continue
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, Message))
            continue
        ctype = _content_type(part)
        if _is_attachment(part, ctype):
            _take_attachment(part, ctype, limits, attachments, notes)
        elif ctype == "text/plain" and plain is None:
            plain = _text_of(part)
        elif ctype == "text/html" and html is None:
            html = _text_of(part)
    if plain is not None and plain.strip():
        return plain, attachments
    if html is not None:
        return html_to_text(html), attachments
    return plain or "", attachments


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _is_attachment(part: Message, ctype: str) -> bool:
    try:
        disposition = part.get_content_disposition()
    except Exception:
        disposition = None
    if disposition == "attachment":
        return True
    return not ctype.startswith("text/")


def _take_attachment(
    part: Message,
    ctype: str,
    limits: AttachmentLimits,
    out: list[MailAttachment],
    notes: list[str],
) -> None:
    if ctype.startswith("multipart/") or ctype in ("message/delivery-status",):
        return
    name = safe_filename(_filename(part), ctype)
    if ctype not in limits.allowed_types:
        notes.append(f"attachment skipped: type {ctype} not allowed")
        return
    if len(out) >= limits.max_count:
        notes.append(f"attachment skipped: more than {limits.max_count} attachments")
        return
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if not isinstance(data, bytes) or not data:
        notes.append(f"attachment skipped: {ctype} part is empty or undecodable")
        return
    if len(data) > limits.max_bytes:
        notes.append(f"attachment skipped: {ctype} of {len(data)} bytes is over the limit")
        return
    out.append(MailAttachment(filename=name, content_type=ctype, data=data))


def _filename(part: Message) -> str:
    try:
        return part.get_filename() or ""
    except Exception:
        return ""


_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
    "video/mp4": ".mp4",
}


def safe_filename(name: str, ctype: str) -> str:
    """A display name without paths or control characters, never empty."""
    base = PurePosixPath(_repair_8bit(name).replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).strip(" ._")[:120]
    return base or "lampiran" + EXTENSIONS.get(ctype, ".bin")


def _text_of(part: Message) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if not isinstance(data, bytes):
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    try:
        charset = part.get_content_charset() or "us-ascii"
    except Exception:
        charset = "us-ascii"
    return decode_text(data, charset)


# Labels senders put on text that is really UTF-8 or cp1252: senders label cp1252 as
# latin-1 or ascii all the time (WHATWG maps these labels to windows-1252), and an
# undeclared or ascii-labelled body is UTF-8 more often than not nowadays.
_UTF8_OR_CP1252 = frozenset(
    (
        "us-ascii",
        "ascii",
        "iso-8859-1",
        "latin1",
        "latin-1",
        "iso_8859-1",
        "unknown-8bit",
        "x-unknown",
    )
)


def decode_text(data: bytes, charset: str) -> str:
    charset = charset.strip().strip('"').lower()
    if charset in _UTF8_OR_CP1252:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", "replace")
    try:
        return data.decode(charset, "replace")
    except (LookupError, ValueError):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", "replace")


class _PlainText(html2text.HTML2Text):
    """html2text writes Markdown and so escapes "1." "-" "+" at line starts; a complaint is
    plain text, so data is passed through unescaped."""

    def handle_data(self, data: str, entity_char: bool = False) -> None:
        super().handle_data(data, entity_char=True)


def html_to_text(html: str) -> str:
    converter = _PlainText()
    converter.body_width = 0  # no hard wrapping: the normalizer handles whitespace
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_links = True
    converter.unicode_snob = True
    try:
        text = converter.handle(html)
    except Exception:
        return ""
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
