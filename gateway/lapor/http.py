"""`http` mode: JSON REST with base_url, token, path and a field mapping from config.

A region matches the API LAPOR gave it by config alone: `field_map` renames (and nests)
our report fields, `tracking_id_field` says where the answer keeps the tracking id.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import aiohttp

from gateway.lapor.client import (
    LaporError,
    Report,
    RetryableError,
    error_for_status,
    snippet,
)
from gateway.lapor.config import LaporConfig
from gateway.lapor.report import report_json


class HttpTransport:
    """One aiohttp session; every transport failure becomes a RetryableError."""

    def __init__(self, timeout_s: float):
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def request(
        self, method: str, url: str, *, headers: dict[str, str], body: bytes | None = None
    ) -> tuple[int, str, str | None]:
        """(status, body text, Retry-After header)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.request(method, url, headers=headers, data=body) as resp:
                raw = await resp.read()
                return resp.status, raw.decode("utf-8", "replace"), resp.headers.get("Retry-After")
        except TimeoutError:
            raise RetryableError(f"timeout after {self._timeout.total:g}s") from None
        except aiohttp.ClientConnectorError as e:
            raise RetryableError(f"cannot connect to {e.host}:{e.port}: {e.os_error}") from None
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as e:
            raise RetryableError(f"connection failed: {type(e).__name__}: {e}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class HttpClient:
    def __init__(self, cfg: LaporConfig):
        self.cfg = cfg
        self.transport = HttpTransport(cfg.timeout_s)

    @property
    def supports_status(self) -> bool:
        return bool(self.cfg.status_path)

    def body(self, report: Report) -> dict[str, Any]:
        return map_fields(report_json(report), self.cfg.field_map)

    async def send(self, report: Report, idempotency_key: str) -> str:
        status, text, retry_after = await self.transport.request(
            "POST",
            self.cfg.base_url + self.cfg.path,
            headers=self._headers(idempotency_key),
            body=json.dumps(self.body(report), ensure_ascii=False).encode(),
        )
        if not 200 <= status < 300:
            raise error_for_status(status, text, retry_after)
        tracking_id = dotted_get(_json_answer(text), self.cfg.tracking_id_field)
        if tracking_id in (None, ""):
            raise RetryableError(f"answer has no {self.cfg.tracking_id_field!r}: {snippet(text)}")
        return str(tracking_id)

    async def status(self, tracking_id: str) -> str:
        # LAPOR chose the id: quoted, so a "/" or "?" in it cannot change the URL.
        path = self.cfg.status_path.format(tracking_id=quote(tracking_id, safe=""))
        status, text, retry_after = await self.transport.request(
            "GET", self.cfg.base_url + path, headers=self._headers(None)
        )
        if not 200 <= status < 300:
            raise error_for_status(status, text, retry_after)
        value = dotted_get(_json_answer(text), self.cfg.status_field)
        if not isinstance(value, str) or not value:
            raise RetryableError(f"answer has no {self.cfg.status_field!r}: {snippet(text)}")
        return value

    async def close(self) -> None:
        await self.transport.close()

    def _headers(self, idempotency_key: str | None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.cfg.token}",
            "Accept": "application/json",
            "Content-Type": "application/json; charset=utf-8",
        }
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers


def _json_answer(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise RetryableError(f"answer is not JSON: {snippet(text)}") from None


def dotted_get(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def map_fields(body: dict[str, Any], field_map: dict[str, str]) -> dict[str, Any]:
    """Rename our fields for the agency's API. Unmapped fields keep their names; a field
    mapped to "" is left out; dotted targets nest ("pelapor.nama")."""
    flat: dict[str, Any] = {}
    for key, value in body.items():
        nested = any(target.startswith(f"{key}.") for target in field_map)
        if nested and isinstance(value, dict):
            for sub, sub_value in value.items():
                flat[f"{key}.{sub}"] = sub_value
        elif nested and value is None:
            continue  # e.g. no reporter (anonymous): none of its mapped parts appear
        else:
            flat[key] = value
    out: dict[str, Any] = {}
    for key, value in flat.items():
        target = field_map.get(key, key)
        if not target:
            continue
        node = out
        *parents, leaf = target.split(".")
        for parent in parents:
            child = node.setdefault(parent, {})
            if not isinstance(child, dict):
                raise LaporError(f"field_map puts {target!r} inside a non-object field")
            node = child
        node[leaf] = value
    return out
