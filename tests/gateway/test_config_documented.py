"""Every key the config models accept is documented in the example files, with its default.

The convention, stated at the top of config/gateway.toml:
- a key set in the file (`key = value`) is documented by being there;
- a key shown commented (`# key = value`, one `#` and at most one space before the key, the
  value on the same line and valid TOML) shows its default; keys whose default is unset may
  show an example instead;
- a commented table header (`# [channels.email.relay]`) opens a table for the commented keys
  below it, like a real one.

The models are walked from the root (`FileConfig`, whose `[channels]` table is assembled from
channels/registry.py, so a channel added there is checked too) and `RegionConfig` against
the region files together. A documented key the models do not know is an error as well: the
example must not teach a key that fails at start.
"""

from __future__ import annotations

import json
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from channels.registry import CHANNELS
from gateway.secrets import FILE_SUFFIX
from gateway.settings import FileConfig, RegionConfig
from tests.support import REPO

CONFIG = REPO / "config" / "gateway.toml"
REGIONS = sorted((REPO / "config" / "regions").glob("*.toml"))

HEADER = re.compile(r"^#? ?\[\[?\s*([A-Za-z0-9_.]+)\s*\]\]?\s*(?:#.*)?$")
COMMENTED_KEY = re.compile(r"^# ?([a-z][a-z0-9_]*)\s*=\s*(.+)$")


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The section model a field holds: itself, inside `X | None`, or in `tuple[X, ...]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, tuple):
        for arg in typing.get_args(annotation):
            model = _model_of(arg)
            if model is not None:
                return model
    return None


def model_keys(model: type[BaseModel], prefix: str = "", parent: Any = None) -> dict[str, Any]:
    """Dotted path of every leaf key -> its default (array-of-table paths carry no index).

    A nested section's default instance (`sms: NoticePolicy = SMS_DEFAULT`) decides the
    defaults of its keys."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if isinstance(parent, BaseModel):
            default = getattr(parent, name)
        elif field.default_factory is not None:
            default = field.default_factory()  # type: ignore[call-arg]
        else:
            default = None if field.default is PydanticUndefined else field.default
        sub = _model_of(field.annotation)
        if sub is None:
            out[prefix + name] = default
        else:
            out.update(model_keys(sub, f"{prefix}{name}.", default))
    return out


def _flatten(value: Any, prefix: str, leaves: set[str], out: dict[str, Any]) -> None:
    for key, item in value.items():
        path = prefix + key
        if path in leaves or not isinstance(item, dict | list):
            out[path] = item
        elif isinstance(item, dict):
            _flatten(item, path + ".", leaves, out)
        elif item and all(isinstance(i, dict) for i in item):
            for entry in item:
                _flatten(entry, path + ".", leaves, out)
        else:
            out[path] = item


def documented_keys(files: list[Path], leaves: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(keys set in the files, keys shown commented -> the value shown)."""
    written: dict[str, Any] = {}
    commented: dict[str, Any] = {}
    for file in files:
        text = file.read_text(encoding="utf-8")
        _flatten(tomllib.loads(text), "", leaves, written)
        table = ""
        for line in text.splitlines():
            line = line.strip()
            if header := HEADER.match(line):
                table = header.group(1) + "."
                continue
            match = COMMENTED_KEY.match(line)
            if not match:
                continue
            try:
                value = tomllib.loads(f"v = {match.group(2)}")["v"]
            except tomllib.TOMLDecodeError:
                continue  # prose that happens to contain "="
            commented[table + match.group(1)] = value
    return written, commented


def _as_toml(value: Any) -> Any:
    """A default the way TOML writes it (tuples as arrays, enums and networks as text)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return json.loads(json.dumps(value, default=str))


def check(model: type[BaseModel], files: list[Path]) -> list[str]:
    keys = model_keys(model)
    written, commented = documented_keys(files, set(keys))
    problems = []
    for path, default in sorted(keys.items()):
        shown = {path, path + FILE_SUFFIX}  # `token_file = ...` documents `token`
        if not shown & (written.keys() | commented.keys()):
            problems.append(f"{path}: not documented (default {_as_toml(default)!r})")
    for path, shown in sorted(commented.items()):
        if path not in keys and path.removesuffix(FILE_SUFFIX) not in keys:
            problems.append(f"{path}: documented, but no such key")
        elif path in keys and path not in written:
            default = keys[path]
            if default is not None and _as_toml(default) != shown:
                problems.append(f"{path}: shown as {shown!r}, default is {_as_toml(default)!r}")
    problems += [
        f"{p}: set in the example, but no such key"
        for p in written
        if p not in keys and p.removesuffix(FILE_SUFFIX) not in keys
    ]
    return problems


def test_every_gateway_key_is_documented_with_its_default() -> None:
    assert check(FileConfig, [CONFIG]) == []


def test_every_registered_channel_is_checked() -> None:
    keys = model_keys(FileConfig)
    for entry in CHANNELS:
        if entry.config_model() is not None:
            assert any(k.startswith(f"channels.{entry.name}.") for k in keys), entry.name


def test_every_region_key_is_documented() -> None:
    assert check(RegionConfig, REGIONS) == []


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[http]\nlisten = '127.0.0.1:1'\n", "http.public_url: not documented"),
        ("[lapor]\n# max_attempts = 9\n", "lapor.max_attempts: shown as 9, default is 8"),
        ("[lapor]\n# retries = 3\n", "lapor.retries: documented, but no such key"),
        ("[lapor]\nretries = 3\n", "lapor.retries: set in the example, but no such key"),
    ],
)
def test_the_check_finds_what_is_missing_or_wrong(tmp_path: Path, toml: str, expected: str) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text(toml, encoding="utf-8")
    found = check(FileConfig, [file])
    assert any(p.startswith(expected) for p in found), found


def test_commented_tables_defaults_and_secret_files_count_as_documented(tmp_path: Path) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text(
        "# [channels.email.relay]\n# port = 25\n# prose: enabled = true, or not\n"
        "[ops]\n# session_secret_file = '/run/secret'\n",
        encoding="utf-8",
    )
    found = check(FileConfig, [file])
    for key in ("channels.email.relay.port", "ops.session_secret"):
        assert not [p for p in found if p.startswith(key + ":")], found
    assert "channels.email.relay.host: not documented (default '127.0.0.1')" in found
