"""The sandbox LAPOR fixture for this suite, and a config whose SMS channel can answer and
sends every notice, so the worker's reply paths are all exercised (tests/outbox/
test_reply_policy.py covers the default policy and a channel that cannot answer)."""

from pathlib import Path

import pytest

from tests.lapor.sandbox_fixture import sandbox  # noqa: F401
from tests.support import EVERY_SMS_NOTICE, write_config


@pytest.fixture
def config_path(tmp_path: Path, db_url: str) -> Path:
    return write_config(tmp_path / "cfg", db_url, EVERY_SMS_NOTICE)
