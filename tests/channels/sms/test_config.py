"""[channels.sms] refuses incomplete set-ups with a message naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import ConfigError, load_settings
from tests.support import write_config


@pytest.mark.parametrize(
    "toml,message",
    [
        ('[channels.sms.reply]\nkind = "modem"', "needs [channels.sms.modem] enabled = true"),
        ('[channels.sms.reply]\nkind = "http"', "needs reply.url"),
        ('[channels.sms.reply]\nkind = "twilio"\ntoken = "t"', "twilio_account_sid"),
        ('[channels.sms.reply]\nkind = "sms-gateway"', "channels.sms.reply.kind"),
        ("[channels.sms.webhook]\nenabled = true", "no provider has a secret"),
        ('[channels.sms.modem]\npin = "12ab"', "channels.sms.modem.pin"),
        ("[channels.sms.modem]\nsweep_intervall_s = 5", "unknown key"),
    ],
)
def test_refused(tmp_path: Path, toml: str, message: str) -> None:
    path = write_config(tmp_path, "sqlite+aiosqlite:///x.db", toml)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(".", r"\.")):
        load_settings(path)
