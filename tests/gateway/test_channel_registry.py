"""The channel registry drives both the [channels] config section and the assembly."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from channels.registry import CHANNELS
from gateway.app import build_runtime
from gateway.settings import ChannelsSection, ConfigError, load_settings
from gateway.store.db import Store
from tests.support import write_config

SQLITE = "sqlite+aiosqlite:///unused.db"


def test_every_entry_resolves_and_names_its_section() -> None:
    names = [c.name for c in CHANNELS]
    assert len(names) == len(set(names))
    with_config = {c.name for c in CHANNELS if c.config_model() is not None}
    assert with_config == set(ChannelsSection.model_fields)
    for entry in CHANNELS:
        model = entry.config_model()
        if model is not None:
            model()  # every channel runs with its defaults (disabled)


def test_unknown_channel_lists_the_known_ones(tmp_path: Path) -> None:
    path = write_config(tmp_path, SQLITE, "[channels.whatsap]\nenabled = true\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    message = str(err.value)
    assert "channels.whatsap: unknown channel (typo?); known channels:" in message
    assert "sms" in message and str(path) in message


def test_a_channels_own_validation_still_names_the_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, SQLITE, "[channels.sms]\nshortcode = '1708'\n")
    with pytest.raises(ConfigError, match=r"channels\.sms\.shortcode: unknown key"):
        load_settings(path)


async def test_build_runtime_registers_every_channel(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, SQLITE))
    store = Store(settings.database_url)
    try:
        rt = build_runtime(settings, store)
    finally:
        await store.close()
    paths = {r.path for r in rt.routes if isinstance(r, web.RouteDef)}
    assert "/api/v1/complaints" in paths  # channels.web, registered through the table


def test_the_channels_that_answer_are_the_ones_with_a_reply_sender() -> None:
    """`replies` in the table decides which channels get reply rows; a channel that says so
    registers the sender that sends them (when enabled), and no other channel does: a row
    for a channel without one would wait for nobody."""
    root = Path(__file__).resolve().parents[2] / "channels"
    senders = {
        c.name for c in CHANNELS if "add_sender(" in (root / c.name / "__init__.py").read_text()
    }
    assert senders == {c.name for c in CHANNELS if c.replies}
    assert {c.name for c in CHANNELS if c.help} <= senders
