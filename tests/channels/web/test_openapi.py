"""GET /api/v1/openapi.json: valid OpenAPI 3.1, every /api/v1 route, both languages, and a
bounded schemathesis run against a running gateway that finds no 5xx, no answer the
description contradicts and no complaint made by a refused request."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import requests
import schemathesis
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import OpenAPIV31SpecValidator
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import make_url

from channels.web.schemas import ComplaintIn
from gateway.app import build_http_app, build_runtime
from gateway.settings import Settings, load_settings
from gateway.store.db import Store
from tests.support import API_KEY_ALL, log_tail, start_gateway, write_config

FUZZ_EXAMPLES = 60  # per operation and generation mode: bounded, a few seconds each


@pytest.fixture
async def document(settings: Settings, store: Store) -> dict[str, Any]:
    app = build_http_app(build_runtime(settings, store))
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/api/v1/openapi.json")
        assert resp.status == 200 and resp.content_type == "application/json"
        api_routes = {
            r.canonical for r in app.router.resources() if r.canonical.startswith("/api/v1/")
        }
        body = await resp.json()
    assert set(body["paths"]) == api_routes  # every route of the JSON API, nothing else
    return body


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(document).validate()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_generated_from_the_request_models(document: dict[str, Any]) -> None:
    body = document["components"]["schemas"]["ComplaintIn"]
    model = ComplaintIn.model_json_schema()
    assert body["properties"].keys() == model["properties"].keys()
    assert body["required"] == model["required"]
    assert body["additionalProperties"] is False  # unknown fields are refused, as documented
    create = document["paths"]["/api/v1/complaints"]["post"]
    assert create["security"] == [{"apiKey": []}]
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert create["parameters"] == [{"$ref": "#/components/parameters/Idempotency-Key"}]
    assert set(create["responses"]) >= {"200", "201", "400", "401", "403", "422", "429"}


def _texts(node: Any, where: str = "") -> Iterator[tuple[str, str | None]]:
    """Every description a reader sees: models, fields, operations, parameters, answers."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{where}/{key}"
            if key == "properties":
                for field, prop in value.items():
                    yield f"{path}/{field}", prop.get("description")
            if isinstance(value, dict) and (
                key in ("schemas", "responses", "parameters", "headers", "securitySchemes")
            ):
                for name, item in value.items():
                    if "$ref" not in item:
                        yield f"{path}/{name}", item.get("description")
            yield from _texts(value, path)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_every_text_in_indonesian_and_english(document: dict[str, Any]) -> None:
    texts = list(_texts(document))
    assert len(texts) > 40
    for where, text in texts:
        assert text, f"{where} has no description"
        indonesian, _, english = text.partition("\n\n")
        assert indonesian and english, f"{where}: Indonesian, a blank line, then English"


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_found_by_the_fuzz_on_postgres(settings: Settings, store: Store) -> None:
    """A key past the documented 200 characters and a NUL in the path were 500s."""
    app = build_http_app(build_runtime(settings, store))
    async with TestClient(TestServer(app)) as client:
        headers = {"Authorization": f"Bearer {API_KEY_ALL}", "Idempotency-Key": "k" * 201}
        body = {"region": "AGAM", "text": "Jalan berlubang di depan pasar"}
        resp = await client.post("/api/v1/complaints", json=body, headers=headers)
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "idempotency_key_too_long"
        headers["Idempotency-Key"] = "k" * 200
        resp = await client.post("/api/v1/complaints", json=body, headers=headers)
        assert resp.status == 201
        # And a NUL in a tracking number is no such complaint, not a 500.
        assert (await client.get("/api/v1/complaints/AGM%00")).status == 404


# --- the fuzz -----------------------------------------------------------------------------


Counter = Callable[[], int]


def _sqlite_counter(database: Path) -> Counter:
    def count() -> int:
        with sqlite3.connect(database) as conn:
            return conn.execute("SELECT count(*) FROM complaints").fetchone()[0]

    return count


def _postgres_counter(url: str) -> Counter:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def query(sql: str) -> int:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    asyncio.run(query("TRUNCATE complaints, inbound_messages, reporters, outbox, events CASCADE"))
    return lambda: asyncio.run(query("SELECT count(*) FROM complaints"))


@pytest.fixture(params=["sqlite", "postgres"])
def gateway(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[tuple[str, Counter]]:
    if request.param == "sqlite":
        database = tmp_path / "lapor.db"
        shutil.copy(sqlite_template, database)
        url = f"sqlite+aiosqlite:///{database}"
        count = _sqlite_counter(database)
    else:
        url = request.getfixturevalue("pg_url")
        count = _postgres_counter(url)
    config = write_config(tmp_path / "cfg", url)
    listen = load_settings(config).http.listen
    log = tmp_path / "gateway.log"
    proc = start_gateway(config, log)
    base = f"http://{listen}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log_tail(log)
            time.sleep(0.1)
        yield base, count
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert "Traceback" not in log.read_text(errors="replace"), log_tail(log)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.mark.slow
def test_schemathesis_against_the_running_gateway(gateway: tuple[str, Counter]) -> None:
    base, complaints = gateway
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    session = requests.Session()
    seen: dict[int, int] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    # schemathesis leaves out the operation that serves the schema itself.
    assert {op.label for op in operations} == {
        "POST /api/v1/complaints",
        "GET /api/v1/complaints/{tracking_ref}",
    }

    def exercise(case: schemathesis.Case, authorised: bool) -> Any:
        headers = {"Authorization": f"Bearer {API_KEY_ALL}"} if authorised else None
        before = complaints()
        response = case.call(base_url=base, session=session, headers=headers)
        case.validate_response(response, checks=CHECKS)
        made = complaints() - before
        status = response.status_code
        seen[status] = seen.get(status, 0) + 1
        # Only a 201 makes a complaint; a replay (200) or any refusal makes none.
        assert made == (1 if status == 201 else 0), (status, response.text)
        return response

    # Explicit cases first, so both sides are always reached: a complaint, its replay, its
    # status; then the generated ones.
    by_label = {op.label: op for op in operations}
    create = by_label["POST /api/v1/complaints"]
    body = {"region": "AGAM", "text": "Jalan berlubang di depan pasar", "category": "pengaduan"}
    valid = create.Case(
        body=body, headers={"Idempotency-Key": "fuzz-explicit"}, media_type="application/json"
    )
    ref = exercise(valid, authorised=True).json()["tracking_ref"]
    assert exercise(valid, authorised=True).json()["tracking_ref"] == ref
    status = by_label["GET /api/v1/complaints/{tracking_ref}"]
    exercise(status.Case(path_parameters={"tracking_ref": ref}), authorised=False)
    assert seen == {201: 1, 200: 2}, seen

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode), authorised=st_booleans())
            @settings(
                max_examples=FUZZ_EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case, authorised: bool) -> None:
                exercise(case, authorised)

            run()
    # The run reached both sides: complaints were made, and requests were refused.
    assert seen.get(201) and any(400 <= s < 500 for s in seen), seen


def st_booleans() -> Any:
    from hypothesis import strategies

    return strategies.booleans()
