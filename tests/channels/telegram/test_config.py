"""[channels.telegram] refuses incomplete or wrong set-ups with a message naming the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.logsafe import redact
from gateway.settings import ConfigError, load_settings
from tests.support import write_config

TOKEN = 'bot_token = "123456789:AAE-test"'


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("enabled = true", "enabled = true needs bot_token"),
        (f"enabled = true\n{TOKEN}", 'mode = "webhook" needs secret_token'),
        (f'enabled = true\n{TOKEN}\nmode = "hook"', "channels.telegram.mode: Input should be"),
        ('bot_token = "rahasia"', "channels.telegram.bot_token: Value error, not a bot token"),
        ('secret_token = "ada spasi"', "channels.telegram.secret_token: Value error, 1-256"),
        ('api_base_url = "api.telegram.org"', "must start with http:// or https://"),
        ("long_poll_timeout_s = 90", "channels.telegram.long_poll_timeout_s"),
        ("max_media_bytes = 52428800", "channels.telegram.max_media_bytes"),
        ('long_poll_timeout_s = "30"', "must be a whole number without quotes"),
        ('help_text = "Ketik {kode} isi aduan"', "unknown placeholder {kode}"),
        ("poll_interval_s = 5", "unknown key"),
    ],
)
def test_refused(tmp_path: Path, toml: str, message: str) -> None:
    path = write_config(tmp_path, "sqlite+aiosqlite:///x.db", f"[channels.telegram]\n{toml}")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(path)


def test_polling_needs_no_secret_and_the_token_stays_out_of_errors(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "sqlite+aiosqlite:///x.db",
        f'[channels.telegram]\nenabled = true\n{TOKEN}\nmode = "polling"',
    )
    assert load_settings(path).channels.telegram.mode == "polling"
    bad = write_config(
        tmp_path,
        "sqlite+aiosqlite:///x.db",
        '[channels.telegram]\nbot_token = "123:rahasia sekali"',
    )
    with pytest.raises(ConfigError) as error:
        load_settings(bad)
    assert "rahasia" not in str(error.value)


def test_a_bot_token_in_a_url_is_redacted_from_logs_and_health() -> None:
    line = "GET https://api.telegram.org/bot123456789:AAE-x_y/getUpdates failed"
    assert redact(line) == "GET https://api.telegram.org/bot***/getUpdates failed"
