"""The Bot API over plain aiohttp: the five methods the gateway uses, one error type.

Every method is `POST {api_base_url}/bot<token>/<method>` with a JSON body, answering
`{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description", "parameters"}`.
Files come from `GET {api_base_url}/file/bot<token>/<file_path>`. The token is part of
every URL, so no URL is ever put into an error or a log line.

Failures come out as `BotApiError` with a kind the callers act on: `rate_limited` (wait
`retry_after`), `unauthorized` (bad token: an operator must act), `forbidden` (the user
blocked the bot: do not retry), `conflict` (getUpdates while a webhook is set, or a
second poller), `bad_request`, `server`, `network`, `bad_response`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import aiohttp

from channels.telegram.config import TelegramConfig

ErrorKind = Literal[
    "rate_limited",
    "unauthorized",
    "forbidden",
    "conflict",
    "bad_request",
    "not_found",
    "too_large",
    "server",
    "network",
    "bad_response",
]
BY_STATUS: dict[int, ErrorKind] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    429: "rate_limited",
}
# getUpdates answers after at most its own timeout; the request may take a little longer.
LONG_POLL_MARGIN_S = 10.0
DOWNLOAD_CHUNK = 64 * 1024


class BotApiError(Exception):
    """A Bot API call failed. `description` is Telegram's own text (no message content)."""

    def __init__(
        self,
        kind: ErrorKind,
        description: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(f"{kind}: {description}")
        self.kind = kind
        self.description = description
        self.status = status
        self.retry_after = retry_after


class BotApi:
    def __init__(self, cfg: TelegramConfig):
        self.cfg = cfg
        self._base = f"{cfg.api_base_url}/bot{cfg.bot_token}"
        self._files = f"{cfg.api_base_url}/file/bot{cfg.bot_token}"
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.cfg.request_timeout_s)
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def call(
        self, method: str, params: dict[str, Any], *, timeout: float | None = None
    ) -> Any:
        """One method call; its `result`, or BotApiError."""
        client_timeout = aiohttp.ClientTimeout(total=timeout) if timeout else None
        try:
            async with self._session().post(
                f"{self._base}/{method}", json=params, timeout=client_timeout
            ) as resp:
                status, body = resp.status, await resp.read()
        except TimeoutError:
            raise BotApiError("network", f"{method}: no answer in time") from None
        except aiohttp.ClientError as e:
            raise BotApiError("network", f"{method}: {type(e).__name__}") from None
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            kind: ErrorKind = "server" if status >= 500 else "bad_response"
            raise BotApiError(kind, f"{method}: HTTP {status}, not a Bot API answer", status=status)
        if answer["ok"]:
            return answer.get("result")
        description = str(answer.get("description") or f"HTTP {status}")[:300]
        code = answer.get("error_code") if isinstance(answer.get("error_code"), int) else status
        parameters = answer.get("parameters") if isinstance(answer.get("parameters"), dict) else {}
        retry_after = parameters.get("retry_after")
        raise BotApiError(
            "server" if code >= 500 else BY_STATUS.get(code, "bad_request"),
            description,
            status=code,
            retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
        )

    async def get_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"timeout": timeout}
        if offset is not None:
            params["offset"] = offset
        result = await self.call(
            "getUpdates",
            params,
            timeout=timeout + max(LONG_POLL_MARGIN_S, self.cfg.request_timeout_s),
        )
        if not isinstance(result, list):
            raise BotApiError("bad_response", "getUpdates: result is not a list")
        return result

    async def send_message(self, chat_id: str, text: str, reply_to: int | None) -> Any:
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if reply_to is not None:
            # The citizen may have deleted the message meanwhile: answer anyway.
            params["reply_parameters"] = {
                "message_id": reply_to,
                "allow_sending_without_reply": True,
            }
        return await self.call("sendMessage", params)

    async def get_file_path(self, file_id: str) -> str:
        result = await self.call("getFile", {"file_id": file_id})
        path = result.get("file_path") if isinstance(result, dict) else None
        if not isinstance(path, str) or not path:
            raise BotApiError("bad_response", "getFile: no file_path (file over 20 MB?)")
        return path

    async def download(self, file_path: str, max_bytes: int) -> bytes:
        """The file's bytes; BotApiError `too_large` as soon as it grows past max_bytes."""
        try:
            async with self._session().get(f"{self._files}/{file_path}") as resp:
                if resp.status != 200:
                    kind: ErrorKind = (
                        "server"
                        if resp.status >= 500
                        else BY_STATUS.get(resp.status, "bad_request")
                    )
                    raise BotApiError(
                        kind, f"file download: HTTP {resp.status}", status=resp.status
                    )
                if (resp.content_length or 0) > max_bytes:
                    raise BotApiError(
                        "too_large",
                        f"file of {resp.content_length} bytes is over the limit of {max_bytes}",
                    )
                data = bytearray()
                async for chunk in resp.content.iter_chunked(DOWNLOAD_CHUNK):
                    data += chunk
                    if len(data) > max_bytes:
                        raise BotApiError(
                            "too_large", f"file is over the limit of {max_bytes} bytes"
                        )
                return bytes(data)
        except TimeoutError:
            raise BotApiError("network", "file download: no answer in time") from None
        except aiohttp.ClientError as e:
            raise BotApiError("network", f"file download: {type(e).__name__}") from None
