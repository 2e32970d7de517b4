"""check-config and serve refuse bad config with one clear message naming file and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import REGIONS_DIR, REPO, cli_in_process, free_port, run_cli, write_config


def test_example_config_is_valid() -> None:
    result = run_cli(REPO / "config" / "gateway.toml", "check-config", "--no-db")
    assert result.returncode == 0, result.stderr
    assert "AGAM (Kabupaten Agam)" in result.stdout


@pytest.fixture
def regions(tmp_path: Path) -> Path:
    target = tmp_path / "regions"
    shutil.copytree(REGIONS_DIR, target)
    return target


CASES = [
    # label, extra TOML for gateway.toml, region file edits, expected fragments
    (
        "unknown key",
        "[channels.sms]\nshortcode = '1708'\n",
        {},
        ["channels.sms.shortcode", "unknown key"],
    ),
    ("unknown section", "[twitter]\nenabled = true\n", {}, ["twitter", "unknown key"]),
    (
        "reply placeholder typo",
        "[replies]\nreceipt = 'Tiket {nomor}'\n",
        {},
        ["replies.receipt", "unknown placeholder {nomor}"],
    ),
    (
        "reply template broken",
        "[replies]\nhelp = 'Format: {keyword'\n",
        {},
        ["replies.help", "not a valid template"],
    ),
    (
        "region reply typo",
        "",
        {"pandeglang.toml": ("no. tiket {ref}", "no. tiket {tiket}")},
        ["pandeglang.toml", "replies.receipt", "unknown placeholder {tiket}"],
    ),
    (
        "keyword claimed twice",
        "",
        {"surabaya.toml": ('"SBY", "SURABAYA"', '"SBY", "AGAM"')},
        ["surabaya.toml", "sms_keywords", "'AGAM'", "already claimed by region AGAM"],
    ),
    (
        "hashtag claimed twice",
        "",
        {"surabaya.toml": ("aduansurabaya", "AduanAgam")},
        ["hashtags", "'aduanagam'", "already claimed"],
    ),
    (
        "address claimed twice",
        "",
        {"surabaya.toml": ("aduan@surabaya.go.id", "ADUAN@agamkab.go.id")},
        ["email_addresses", "already claimed"],
    ),
    (
        "bad keyword",
        "",
        {"agam.toml": ('["AGAM"]', '["AGAM KAB"]')},
        ["agam.toml", "sms_keywords", "letters/digits"],
    ),
    (
        "number in quotes",
        "[limits]\nmax_text_chars = '10000'\n",
        {},
        ["limits.max_text_chars", "must be a whole number without quotes", "found text in quotes"],
    ),
    (
        "yes for a boolean",
        "[channels.sms.modem]\nenabled = 'yes'\n",
        {},
        ["channels.sms.modem.enabled", "must be true or false", "found text in quotes"],
    ),
    (
        "number for text",
        "[channels.sms]\nshort_code = 1708\n",
        {},
        ["channels.sms.short_code", "must be text in quotes", "found a number"],
    ),
    (
        "text for an array",
        "",
        {"agam.toml": ('["AGAM"]', '"AGAM"')},
        ["agam.toml", "sms_keywords", "must be an array"],
    ),
    (
        "region flag in quotes",
        "",
        {"agam.toml": ("review_required = false", 'review_required = "false"')},
        ["agam.toml", "review_required", "must be true or false"],
    ),
    (
        "not toml",
        "",
        {"agam.toml": ('code = "AGAM"', "code = AGAM")},
        ["agam.toml", "not valid TOML"],
    ),
]


@pytest.mark.parametrize("label,extra,edits,expected", CASES, ids=[c[0] for c in CASES])
def test_bad_config_is_refused(
    tmp_path: Path, regions: Path, label: str, extra: str, edits: dict, expected: list[str]
) -> None:
    for name, (old, new) in edits.items():
        path = regions / name
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
    cfg = write_config(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/x.db", extra, regions_dir=regions)
    for command in (["check-config"], ["serve"]):
        result = cli_in_process(cfg, *command)
        assert result.exit_code == 2, result.output
        for fragment in expected:
            assert fragment in result.stderr, (fragment, result.stderr)
        assert "Traceback" not in result.stderr


def test_max_attempts_in_quotes_is_an_error_not_eight(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/x.db")
    cfg.write_text(cfg.read_text().replace("max_attempts = 3", 'max_attempts = "8"'))
    result = cli_in_process(cfg, "check-config", "--no-db")
    assert result.exit_code == 2, result.output
    assert (
        f"{cfg}: lapor.max_attempts: must be a whole number without quotes, e.g. 8 "
        "(found text in quotes)"
    ) in result.stderr


def test_a_secret_of_the_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    extra = "[channels.twitter]\nbearer_token = 987654321987654321\n"
    cfg = write_config(tmp_path, "sqlite+aiosqlite:///x.db", extra)
    result = cli_in_process(cfg, "check-config")
    assert result.exit_code == 2
    assert "channels.twitter.bearer_token: must be text in quotes" in result.stderr
    assert "987654321987654321" not in result.stderr


def test_bad_listen_and_database_url(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "mysql://root@127.0.0.1/x", listen="127.0.0.1:99999")
    result = cli_in_process(cfg, "check-config")
    assert result.exit_code == 2
    assert "http.listen: Value error, port must be 1-65535" in result.stderr
    assert "gateway.database_url" in result.stderr and "not supported" in result.stderr


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    cfg = write_config(tmp_path, f"postgresql+asyncpg://postgres@127.0.0.1:{port}/nope")
    for command in (["check-config"], ["db", "upgrade"], ["complaints", "list"]):
        result = cli_in_process(cfg, *command)
        assert result.exit_code == 3, result.output
        assert "database unavailable" in result.stderr


def test_serve_refuses_unmigrated_database(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/fresh.db")
    result = run_cli(cfg, "serve")
    assert result.returncode == 3
    assert "lapor-gateway db upgrade" in result.stderr
    upgraded = run_cli(cfg, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    listed = run_cli(cfg, "complaints", "list", "--json")
    assert listed.returncode == 0 and listed.stdout.strip() == "[]"
