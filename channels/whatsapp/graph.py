"""The few Graph API calls the channel makes: media look-up and download, send a message.

Errors keep Meta's own code (`error.code` of the JSON answer), because what to do depends
on it: 131047 (the 24-hour window is closed) means "send the template", 130429 and HTTP 429
mean "later", 190 means "the token is dead, tell a person".
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from channels.whatsapp.config import WhatsAppConfig

REENGAGEMENT = 131047
RATE_LIMITS = frozenset({4, 80007, 130429, 131056})
BAD_TOKEN = 190
CHUNK = 64 * 1024
HEALTH = "whatsapp"  # the channel's component on /readyz and /metrics
BAD_TOKEN_DETAIL = (
    "Graph API menolak access_token (kode 190): buat token baru di Meta Business Suite "
    "dan pasang di [channels.whatsapp] access_token"
)


@dataclass
class GraphError(Exception):
    """A Graph API answer other than success, or no answer at all (status 0)."""

    status: int
    code: int | None
    message: str
    retry_after: float | None = None

    def __str__(self) -> str:
        code = f" code {self.code}" if self.code is not None else ""
        return f"Graph API HTTP {self.status}{code}: {self.message}"

    @property
    def rate_limited(self) -> bool:
        return self.status == 429 or self.code in RATE_LIMITS

    @property
    def bad_token(self) -> bool:
        return self.code == BAD_TOKEN

    @property
    def retryable(self) -> bool:
        return self.status == 0 or self.status >= 500 or self.rate_limited


class MediaTooLarge(Exception):
    pass


class GraphApi:
    def __init__(self, config: WhatsAppConfig):
        self.config = config
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.config.request_timeout_s),
                headers={"Authorization": f"Bearer {self.config.access_token}"},
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def send(self, message: dict[str, Any]) -> str:
        """POST /{phone_number_id}/messages; the new message's wamid."""
        url = f"{self.config.graph_base_url}/{self.config.phone_number_id}/messages"
        body = {"messaging_product": "whatsapp", **message}
        data = await self._json("POST", url, json=body)
        try:
            return str(data["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise GraphError(200, None, "answer without messages[0].id") from None

    async def download(self, media_id: str, data_dir: Path) -> tuple[str, str, int]:
        """Fetch a medium into `data_dir`/attachments, named by its sha256; (relative path,
        content type, size). Refused beyond max_media_bytes, before or while streaming."""
        limit = self.config.max_media_bytes
        info = await self._json("GET", f"{self.config.graph_base_url}/{media_id}")
        url = info.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise GraphError(200, None, "media answer without a url")
        declared = str(info.get("file_size") or "")
        if declared.isdigit() and int(declared) > limit:
            raise MediaTooLarge(f"{declared} bytes, limit {limit}")
        content_type = str(info.get("mime_type") or "application/octet-stream")
        return await self._stream_to_file(url, data_dir, content_type, limit)

    async def _stream_to_file(
        self, url: str, data_dir: Path, content_type: str, limit: int
    ) -> tuple[str, str, int]:
        folder = data_dir / "attachments"
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".whatsapp.{os.getpid()}.{id(self)}.{os.urandom(4).hex()}.tmp"
        digest, size = hashlib.sha256(), 0
        try:
            async with self._session().get(url) as resp:
                if resp.status != 200:
                    raise _error(resp.status, await resp.text(), resp.headers)
                if (resp.content_length or 0) > limit:
                    raise MediaTooLarge(f"{resp.content_length} bytes, limit {limit}")
                with tmp.open("wb") as f:
                    async for chunk in resp.content.iter_chunked(CHUNK):
                        size += len(chunk)
                        if size > limit:
                            raise MediaTooLarge(f"more than {limit} bytes")
                        digest.update(chunk)
                        f.write(chunk)
                    await asyncio.to_thread(_sync, f)
            name = digest.hexdigest()
            ext = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
            rel = Path("attachments") / name[:2] / (name + ext)
            # Content-addressed: a redelivered message reuses the file, a crash leaves
            # at most an unreferenced one.
            await asyncio.to_thread(_move, tmp, data_dir / rel)
            return rel.as_posix(), content_type, size
        except (aiohttp.ClientError, TimeoutError) as e:
            raise GraphError(0, None, f"media download failed: {type(e).__name__}") from None
        finally:
            tmp.unlink(missing_ok=True)

    async def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._session().request(method, url, **kwargs) as resp:
                text = await resp.text()
                if not 200 <= resp.status < 300:
                    raise _error(resp.status, text, resp.headers)
        except (aiohttp.ClientError, TimeoutError) as e:
            raise GraphError(0, None, f"unreachable: {type(e).__name__}") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise GraphError(200, None, "answer is not JSON") from None
        if not isinstance(data, dict):
            raise GraphError(200, None, "answer is not a JSON object")
        return data


def _sync(f: Any) -> None:
    f.flush()
    os.fsync(f.fileno())


def _move(tmp: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)


def _error(status: int, text: str, headers: Any) -> GraphError:
    code, message = None, f"HTTP {status}"
    try:
        err = json.loads(text)["error"]
        code = int(err["code"]) if str(err.get("code", "")).isdigit() else None
        message = str(err.get("message") or message)[:300]
    except (ValueError, KeyError, TypeError):
        pass
    retry_after = None
    value = str(headers.get("Retry-After") or "")
    if value.replace(".", "", 1).isdigit():
        retry_after = float(value)
    return GraphError(status, code, message, retry_after)
