"""SMS test set-up: the example regions with the SMS channel on, pointed at a simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.channels.sms.modem_simulator import ModemSimulator
from tests.support import write_config

GENERIC_SECRET = "rahasia-generic-uji"
TWILIO_TOKEN = "12345"
KANNEL_SECRET = "rahasia-kannel-uji"


def sms_toml(port: Path, *, pin: str | None = None, sweep_s: float = 1.0) -> str:
    pin_line = f'pin = "{pin}"' if pin else ""
    return f"""
[channels.sms]
short_code = "1708"
multipart_timeout_s = 600
replies_per_number_per_hour = 3

[channels.sms.modem]
enabled = true
port = "{port}"
baudrate = 115200
{pin_line}
sweep_interval_s = {sweep_s}
reconnect_max_s = 0.4

[channels.sms.webhook]
enabled = true
secret = "{GENERIC_SECRET}"
twilio_auth_token = "{TWILIO_TOKEN}"
kannel_secret = "{KANNEL_SECRET}"

[channels.sms.reply]
kind = "modem"
"""


@pytest.fixture
def sim_dir(tmp_path: Path) -> Path:
    path = tmp_path / "sim"
    path.mkdir()
    return path


@pytest.fixture
def config_path(tmp_path: Path, db_url: str, sim_dir: Path) -> Path:
    return write_config(tmp_path / "cfg", db_url, sms_toml(sim_dir / "modem"))


@pytest.fixture
def sim(sim_dir: Path) -> Iterator[ModemSimulator]:
    simulator = ModemSimulator(sim_dir)
    yield simulator
    simulator.stop()
