"""A region's [[services]] are checked at start: errors name the file and the key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.app import build_http_app, build_runtime
from gateway.settings import ConfigError, load_settings
from gateway.store.db import Store
from tests.support import REGIONS_DIR, write_config

LIST_ATTRIBUTE = '[[services.attributes]]\ncode = "ukuran"\ndescription = "Besar?"\n'


@pytest.mark.parametrize(
    ("label", "services", "expected"),
    [
        (
            "two services, one code",
            '[[services]]\ncode = "sampah"\nname = "A"\n'
            '[[services]]\ncode = "SAMPAH"\nname = "B"\n',
            ["services", "same code"],
        ),
        ("bad code", '[[services]]\ncode = "jalan rusak"\nname = "A"\n', ["services.0.code"]),
        (
            "unknown category",
            '[[services]]\ncode = "a"\nname = "A"\ncategory = "keluhan"\n',
            ["services.0.category"],
        ),
        (
            "list without values",
            '[[services]]\ncode = "a"\nname = "A"\n'
            + LIST_ATTRIBUTE
            + 'datatype = "singlevaluelist"\n',
            ["services.0.attributes.0", "needs `values`"],
        ),
        (
            "unknown datatype",
            '[[services]]\ncode = "a"\nname = "A"\n' + LIST_ATTRIBUTE + 'datatype = "photo"\n',
            ["services.0.attributes.0.datatype"],
        ),
        (
            "typo in a service key",
            '[[services]]\ncode = "a"\nname = "A"\ngrup = "x"\n',
            ["services.0.grup", "unknown key"],
        ),
    ],
)
def test_bad_services(tmp_path: Path, label: str, services: str, expected: list[str]) -> None:
    regions = tmp_path / "regions"
    shutil.copytree(REGIONS_DIR, regions)
    with (regions / "agam.toml").open("a") as f:
        f.write("\n" + services)
    config = write_config(tmp_path / "cfg", "sqlite+aiosqlite:///x.db", regions_dir=regions)
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    message = str(err.value)
    assert "agam.toml" in message, label
    for fragment in expected:
        assert fragment in message, (label, message)


async def test_open311_can_be_switched_off(tmp_path: Path) -> None:
    def open311_routes(extra: str) -> list[str]:
        config = write_config(tmp_path / "cfg", f"sqlite+aiosqlite:///{tmp_path}/x.db", extra)
        settings = load_settings(config)
        app = build_http_app(build_runtime(settings, Store(settings.database_url)))
        paths = [r.canonical for r in app.router.resources()]
        return [p for p in paths if p.startswith("/open311/")]

    assert "/open311/v2/requests.{format}" in open311_routes("")
    assert open311_routes("[channels.open311]\nenabled = false\n") == []
