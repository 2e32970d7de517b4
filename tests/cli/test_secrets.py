"""Secrets from `<key>_file` or the environment; check-config warns about readable secrets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from gateway.secrets import SECRET_KEYS, _section_type, _walk, env_name
from gateway.settings import ConfigError, FileConfig, load_settings
from tests.support import cli_in_process, write_config

WEBHOOK = "[channels.sms.webhook]\nenabled = true\n"


def _config(tmp_path: Path, extra: str = "") -> Path:
    return write_config(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/x.db", extra)


def test_secret_from_file_relative_to_config(tmp_path: Path) -> None:
    cfg = _config(tmp_path, WEBHOOK + 'secret_file = "secrets/sms-hmac"\n')
    (cfg.parent / "secrets").mkdir()
    (cfg.parent / "secrets" / "sms-hmac").write_text("s3kret-dari-berkas\n")
    settings = load_settings(cfg)
    assert settings.channels.sms.webhook.secret == "s3kret-dari-berkas"  # newline dropped


def test_secret_file_path_expands_variables(tmp_path: Path, monkeypatch) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "lapor-token").write_text("token-dari-systemd")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    cfg = _config(tmp_path)
    text = cfg.read_text().replace(
        'mode = "sandbox"', 'mode = "sandbox"\ntoken_file = "${CREDENTIALS_DIRECTORY}/lapor-token"'
    )
    cfg.write_text(text)
    assert load_settings(cfg).lapor.token == "token-dari-systemd"


def test_environment_wins_and_fills_absent_sections(tmp_path: Path, monkeypatch) -> None:
    cfg = _config(tmp_path, WEBHOOK + 'secret_file = "missing-is-fine-when-env-is-set"\n')
    monkeypatch.setenv("LAPOR_GATEWAY__CHANNELS__SMS__WEBHOOK__SECRET", "dari-env")
    monkeypatch.setenv("LAPOR_GATEWAY__OPS__SESSION_SECRET", "x" * 40)  # [ops] is not written
    monkeypatch.setenv("LAPOR_GATEWAY__API_CLIENTS__1__KEY", "kunci-bebeja-dari-env-123")
    settings = load_settings(cfg)
    assert settings.channels.sms.webhook.secret == "dari-env"
    assert settings.file.ops.session_secret == "x" * 40
    assert settings.file.api_clients[1].key == "kunci-bebeja-dari-env-123"


def test_database_url_from_environment(tmp_path: Path, monkeypatch) -> None:
    cfg = _config(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path}/from-env.db"
    monkeypatch.setenv("LAPOR_GATEWAY__GATEWAY__DATABASE_URL", url)
    assert load_settings(cfg).gateway.database_url == url


@pytest.mark.parametrize(
    "extra,env,expected",
    [
        (WEBHOOK + 'secret = "a"\nsecret_file = "b"\n', {}, "set either secret or secret_file"),
        (WEBHOOK + 'secret_file = "nope"\n', {}, "channels.sms.webhook.secret_file"),
        (WEBHOOK + 'secret_file = "empty"\n', {}, "the file is empty"),
        (WEBHOOK + "secret_file = 3\n", {}, "expected a file path"),
        (
            WEBHOOK + 'secret = "a"\n',
            {"LAPOR_GATEWAY__CHANNELS__SMS__WEBHOOK__SECRET": ""},
            "LAPOR_GATEWAY__CHANNELS__SMS__WEBHOOK__SECRET is empty",
        ),
        # Not a secret key: `_file` is not a way in, and the typo is still caught.
        ("[channels.sms]\nshort_code_file = 'x'\n", {}, "unknown key"),
    ],
)
def test_bad_secret_sources_are_refused(
    tmp_path: Path, monkeypatch, extra: str, env: dict[str, str], expected: str
) -> None:
    cfg = _config(tmp_path, extra)
    (cfg.parent / "empty").write_text("\n")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert expected in str(err.value)
    assert str(cfg) in str(err.value)
    result = cli_in_process(cfg, "check-config", "--no-db")
    assert result.exit_code == 2 and expected in result.stderr


def _leaf_fields(model: type[BaseModel]) -> Iterator[str]:
    for name, field in model.model_fields.items():
        sub, _ = _section_type(field.annotation)
        yield from (_leaf_fields(sub) if sub is not None else [name])


def test_every_secret_field_of_the_config_is_known() -> None:
    """A new secret field (token, password...) must be reachable through _file and env."""
    suspicious = {
        name
        for name in _leaf_fields(FileConfig)
        if any(w in name for w in ("secret", "token", "password")) and name not in SECRET_KEYS
    }
    assert not suspicious, f"add to gateway.secrets.SECRET_KEYS: {suspicious}"
    found = {p[-1] for p, _, _ in _walk(FileConfig, {"api_clients": [{}]}, ())}
    assert {"token", "secret", "key", "password", "session_secret", "pin"} <= found
    assert env_name(("lapor", "token")) == "LAPOR_GATEWAY__LAPOR__TOKEN"


def test_check_config_warns_about_world_readable_secrets(tmp_path: Path) -> None:
    cfg = _config(tmp_path, WEBHOOK + 'secret = "inline-rahasia"\n')
    cfg.chmod(0o644)
    result = cli_in_process(cfg, "check-config", "--no-db")
    assert result.exit_code == 0, result.output
    assert "readable by every user" in result.stderr
    assert "channels.sms.webhook.secret" in result.stderr
    assert "api_clients.0.key" in result.stderr
    assert "inline-rahasia" not in result.output  # names the key, never the value

    cfg.chmod(0o640)
    result = cli_in_process(cfg, "check-config", "--no-db")
    assert result.exit_code == 0 and "warning" not in result.stderr


def test_check_config_warns_about_readable_secret_file_only(tmp_path: Path) -> None:
    cfg = _config(tmp_path, WEBHOOK + 'secret_file = "hmac"\n')
    # The api_clients keys of the test config are inline; move them out so only files remain.
    text = cfg.read_text().replace('key = "', 'key_file = "k-').replace("-kunci-ganti", "")
    cfg.write_text(text)
    for name in ("k-portal-contoh-sebelum-produksi", "k-bebeja-contoh-sebelum-produksi"):
        (cfg.parent / name).write_text("kunci-yang-cukup-panjang-" + name)
        (cfg.parent / name).chmod(0o600)
    secret = cfg.parent / "hmac"
    secret.write_text("rahasia")
    secret.chmod(0o644)
    cfg.chmod(0o644)  # no secrets inside: readable is fine
    result = cli_in_process(cfg, "check-config", "--no-db")
    assert result.exit_code == 0, result.output
    assert f"{secret} (a secret file) is readable by every user" in result.stderr
    assert str(cfg) + " is readable" not in result.stderr
