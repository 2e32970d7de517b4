"""[channels.whatsapp] and a region's whatsapp_numbers are checked at start: errors name the
file and the key; the secrets also come from `<key>_file` and the environment."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.settings import ConfigError, load_settings
from tests.support import REGIONS_DIR, write_config

COMPLETE = """
[channels.whatsapp]
enabled = true
verify_token = "v"
app_secret = "s"
access_token = "t"
phone_number_id = "106540352242922"
"""


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("[channels.whatsapp]\nenabled = true\n", "verify_token, app_secret, access_token"),
        (COMPLETE.replace('"106540352242922"', '"+62 811"'), "phone_number_id"),
        (COMPLETE + 'graph_base_url = "graph.facebook.com"\n', "graph_base_url"),
        (COMPLETE + 'reply_template = "Balasan LAPOR"\n', "reply_template"),
        (COMPLETE + 'max_media_bytes = "16MB"\n', "max_media_bytes"),
        (COMPLETE + "app_secret_file = 'rahasia.txt'\n", "either app_secret or app_secret_file"),
        ("[channels.whatsapp]\nenable = true\n", "channels.whatsapp.enable: unknown key"),
    ],
)
def test_bad_channel_config_is_refused(tmp_path: Path, extra: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_settings(write_config(tmp_path, "sqlite+aiosqlite:///x.db", extra))


def test_secrets_from_a_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app-secret").write_text("rahasia-dari-berkas\n")
    monkeypatch.setenv("LAPOR_GATEWAY__CHANNELS__WHATSAPP__ACCESS_TOKEN", "token-dari-env")
    extra = COMPLETE.replace('app_secret = "s"', 'app_secret_file = "app-secret"').replace(
        'access_token = "t"\n', ""
    )
    cfg = load_settings(write_config(tmp_path, "sqlite+aiosqlite:///x.db", extra))
    wa = cfg.channels.whatsapp
    assert (wa.app_secret, wa.access_token) == ("rahasia-dari-berkas", "token-dari-env")
    assert wa.graph_base_url == "https://graph.facebook.com/v21.0"


def _regions_with(tmp_path: Path, agam_numbers: str) -> Path:
    regions = tmp_path / "regions"
    shutil.copytree(REGIONS_DIR, regions)
    agam = regions / "agam.toml"
    agam.write_text(agam.read_text() + f"whatsapp_numbers = {agam_numbers}\n")
    return regions


@pytest.mark.parametrize(
    ("numbers", "expected"),
    [
        ('["0811 bukan nomor"]', "agam.toml: whatsapp_numbers: .*0811 bukan nomor"),
        ('["123"]', "not a WhatsApp number"),
        ('"+62 811-3000-1708"', "must be an array"),
        ('["6281130001708"]', "'6281130001708' is already claimed by region"),  # Surabaya's
    ],
)
def test_bad_region_numbers_are_refused(tmp_path: Path, numbers: str, expected: str) -> None:
    regions = _regions_with(tmp_path, numbers)
    with pytest.raises(ConfigError, match=expected):
        load_settings(write_config(tmp_path, "sqlite+aiosqlite:///x.db", regions_dir=regions))


def test_region_numbers_are_kept_as_digits(tmp_path: Path) -> None:
    regions = _regions_with(tmp_path, '["+62 752-7000-1708", "107655329054199"]')
    settings = load_settings(
        write_config(tmp_path, "sqlite+aiosqlite:///x.db", regions_dir=regions)
    )
    assert settings.regions["AGAM"].whatsapp_numbers == ("6275270001708", "107655329054199")
    assert settings.regions["SBY"].whatsapp_numbers == ("6281130001708",)
