"""SMS from providers: POST /webhooks/sms/{generic|twilio|kannel} (Kannel may also GET).

Each provider proves who it is (HMAC of the body, Twilio's signature, Kannel's shared secret);
a request that does not gets 403 and a `bad_signature` event. The provider's own message id
is the idempotency key, so its retries come out as duplicates. 200 only after the commit;
StoreUnavailable becomes 503 (error middleware), which makes the provider retry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from aiohttp import web

from channels.sms.config import SmsConfig
from gateway import events
from gateway.http_common import json_error, secret_matches
from gateway.runtime import Runtime
from normalizer.types import Attachment, Channel, RawMessage

log = logging.getLogger(__name__)

GENERIC_SIGNATURE = "X-Lapor-Signature"
TWILIO_SIGNATURE = "X-Twilio-Signature"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


class BadRequest(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def generic_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's documented algorithm: URL + every POST parameter (sorted by name, then value)
    as name+value, HMAC-SHA1 with the auth token, base64."""
    pairs = sorted(params)
    data = url + "".join(k + v for k, v in pairs)
    digest = hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _with_and_without_port(url: str) -> list[str]:
    """Twilio signs the URL as configured; its own libraries accept it with or without the
    scheme's default port, so do we."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    variants = {url}
    if default is not None:
        if parts.port in (None, default):
            variants.add(urlunsplit(parts._replace(netloc=f"{host}:{default}")))
        variants.add(urlunsplit(parts._replace(netloc=host)))
    return sorted(variants)


def _parse_time(value: str | None, tz: ZoneInfo) -> datetime:
    if not value:
        return datetime.now(UTC)
    value = value.strip()
    try:
        if value.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise BadRequest("timestamp", f"not a time: {value[:40]!r}") from None
    # Kannel's %t has no zone: it is the gateway's local time.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


class SmsWebhooks:
    def __init__(self, rt: Runtime, config: SmsConfig):
        self.rt = rt
        self.config = config
        self.hook = config.webhook
        self.tz = ZoneInfo(rt.settings.gateway.timezone)
        self.providers: dict[str, Callable[[web.Request], Awaitable[web.Response]]] = {
            "generic": self.generic,
            "twilio": self.twilio,
            "kannel": self.kannel,
        }

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/webhooks/sms/{provider}", self.dispatch),
            web.get("/webhooks/sms/{provider}", self.dispatch),
        ]

    async def dispatch(self, request: web.Request) -> web.Response:
        provider = request.match_info["provider"]
        handler = self.providers.get(provider)
        if handler is None or (request.method == "GET" and provider != "kannel"):
            return json_error(
                404, "unknown_provider", "Penyedia SMS tidak dikenal.", "Unknown SMS provider."
            )
        try:
            return await handler(request)
        except BadRequest as e:
            return json_error(
                422,
                "invalid_field",
                f"Isian {e.field} tidak valid.",
                f"Field {e.field}: {e}",
                field=e.field,
            )

    async def _refuse(self, provider: str, why: str) -> web.Response:
        log.warning("SMS webhook refused", extra={"provider": provider, "why": why})
        async with self.rt.store.transaction() as session:
            events.record(
                session,
                kind="inbound",
                channel=Channel.SMS.value,
                outcome="rejected",
                reason="bad_signature",
                detail={"provider": provider, "why": why},
            )
        return json_error(403, "bad_signature", "Tanda tangan tidak sah.", f"Forbidden: {why}.")

    def _not_configured(self, provider: str) -> web.Response:
        return json_error(
            404,
            "provider_not_configured",
            "Penyedia SMS ini tidak diaktifkan.",
            f"[channels.sms.webhook] has no secret for {provider}.",
        )

    async def _submit(self, raw: RawMessage) -> None:
        result = await self.rt.intake.submit(raw)
        # Debug only: the ingestion log has every message; a log line each costs throughput.
        log.debug(
            "SMS webhook message",
            extra={"provider": raw.meta.get("provider"), "outcome": result.outcome.value},
        )

    # -- generic ---------------------------------------------------------------------------
    async def generic(self, request: web.Request) -> web.Response:
        secret = self.hook.secret
        if not secret:
            return self._not_configured("generic")
        body = await request.read()
        given = request.headers.get(GENERIC_SIGNATURE, "").strip().lower()
        if not given:
            return await self._refuse("generic", f"missing {GENERIC_SIGNATURE}")
        if not secret_matches(given, generic_signature(secret, body)):
            return await self._refuse("generic", f"wrong {GENERIC_SIGNATURE}")
        fields = self._generic_fields(request.content_type, body)
        sender = (fields.get("from") or "").strip()
        if not sender:
            raise BadRequest("from", "the sender is missing")
        message_id = (fields.get("id") or "").strip()
        # Without a provider id, the exact body is the idempotency key (a retry repeats it).
        external = message_id or hashlib.sha256(body).hexdigest()
        await self._submit(
            RawMessage(
                channel=Channel.SMS,
                external_id=f"generic:{external}",
                sender=sender,
                recipient=(fields.get("to") or "").strip(),
                text=fields.get("text") or "",
                received_at=_parse_time(fields.get("timestamp"), self.tz),
                meta={"source": "webhook", "provider": "generic"},
            )
        )
        return web.json_response({"status": "ok"})

    @staticmethod
    def _generic_fields(content_type: str, body: bytes) -> dict[str, str]:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("body", "not UTF-8") from None
        if content_type == "application/json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                raise BadRequest("body", "malformed JSON") from None
            if not isinstance(data, dict):
                raise BadRequest("body", "expected a JSON object")
            return {k: str(v) for k, v in data.items() if v is not None}
        if content_type == "application/x-www-form-urlencoded":
            return dict(parse_qsl(text, keep_blank_values=True))
        raise BadRequest("content-type", "send application/json or form data")

    # -- twilio ----------------------------------------------------------------------------
    async def twilio(self, request: web.Request) -> web.Response:
        token = self.hook.twilio_auth_token
        if not token:
            return self._not_configured("twilio")
        body = await request.read()
        try:
            params = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise BadRequest("body", "not UTF-8") from None
        given = request.headers.get(TWILIO_SIGNATURE, "")
        if not given:
            return await self._refuse("twilio", f"missing {TWILIO_SIGNATURE}")
        url = self.rt.settings.http.public_url.rstrip("/") + request.path_qs
        if not any(
            secret_matches(given, twilio_signature(token, u, params))
            for u in _with_and_without_port(url)
        ):
            return await self._refuse("twilio", f"wrong {TWILIO_SIGNATURE}")
        fields = dict(params)
        sid = fields.get("MessageSid") or fields.get("SmsSid")
        if not sid:
            raise BadRequest("MessageSid", "missing")
        if not fields.get("From"):
            raise BadRequest("From", "missing")
        num_media = fields.get("NumMedia") or "0"
        if not num_media.isdigit():
            raise BadRequest("NumMedia", "not a number")
        media = []
        # Each medium needs a MediaUrl field: a count beyond the fields is a lie, not work.
        for i in range(min(int(num_media), len(fields))):
            url_i = fields.get(f"MediaUrl{i}")
            if url_i:
                media.append(
                    Attachment(
                        filename=f"media{i}",
                        content_type=fields.get(f"MediaContentType{i}", "application/octet-stream"),
                        size=0,
                        url=url_i,
                    )
                )
        await self._submit(
            RawMessage(
                channel=Channel.SMS,
                external_id=f"twilio:{sid}",
                sender=fields["From"],
                recipient=fields.get("To", ""),
                text=fields.get("Body", ""),
                received_at=datetime.now(UTC),
                attachments=tuple(media),
                meta={
                    "source": "webhook",
                    "provider": "twilio",
                    "segments": fields.get("NumSegments"),
                },
            )
        )
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    # -- kannel ----------------------------------------------------------------------------
    async def kannel(self, request: web.Request) -> web.Response:
        """Kannel sms-service get-url / post-url, e.g.
        get-url = "http://HOST/webhooks/sms/kannel?secret=S&from=%p&to=%P&text=%a&id=%I&time=%t"
        Set omit-empty = true in the sms-service: our empty answer is not an SMS to send."""
        secret = self.hook.kannel_secret
        if not secret:
            return self._not_configured("kannel")
        fields = dict(request.query)
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            fields.update(await request.post())  # type: ignore[arg-type]
        given = fields.get("secret", "")
        if not given:
            return await self._refuse("kannel", "missing secret")
        if not secret_matches(given, secret):
            return await self._refuse("kannel", "wrong secret")
        if request.method == "POST" and "text" not in fields:
            # post-url: the message is the body; Kannel names the rest in X-Kannel-* headers.
            fields["text"] = (await request.read()).decode("utf-8", "replace")
            for name in ("from", "to", "time"):
                header = request.headers.get(f"X-Kannel-{name.capitalize()}")
                if header and name not in fields:
                    fields[name] = header
        sender = fields.get("from", "").strip()
        if not sender:
            raise BadRequest("from", "missing (%p)")
        message_id = fields.get("id", "").strip()
        if not message_id:
            raise BadRequest("id", "missing (%I)")
        await self._submit(
            RawMessage(
                channel=Channel.SMS,
                external_id=f"kannel:{message_id}",
                sender=sender,
                recipient=fields.get("to", "").strip(),
                text=fields.get("text", ""),
                received_at=_parse_time(fields.get("time"), self.tz),
                meta={"source": "webhook", "provider": "kannel", "smsc": fields.get("smsc")},
            )
        )
        return web.Response(text="", content_type="text/plain")
