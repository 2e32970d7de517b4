"""Secrets outside the TOML: every secret key also comes from `<key>_file` or the environment.

For a secret key at `[lapor] token`, in order of precedence:
  1. the environment variable `LAPOR_GATEWAY__LAPOR__TOKEN` (path parts upper-cased, joined
     by `__`; `[[api_clients]]` entries by index: `LAPOR_GATEWAY__API_CLIENTS__0__KEY`);
  2. `token_file = "/run/credentials/lapor-gateway.service/lapor-token"` — a path (relative
     to the config file; `$VAR` and `~` are expanded), read whole, one trailing newline
     dropped: what systemd credentials and Docker secrets give;
  3. `token = "..."` in the file itself.
Setting both `token` and `token_file` is an error: one of them would be silently ignored.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel

ENV_PREFIX = "LAPOR_GATEWAY"
FILE_SUFFIX = "_file"

# Leaf key names that hold secrets, wherever they appear in the config.
SECRET_KEYS = frozenset(
    {
        "database_url",  # may carry the database password
        "key",  # [[api_clients]]
        "token",
        "secret",
        "password",
        "pin",
        "bearer_token",
        "twilio_auth_token",
        "kannel_secret",
        "consumer_key",
        "consumer_secret",
        "access_token",
        "access_token_secret",
        "session_secret",
        "app_secret",
        "verify_token",
        "bot_token",
        "secret_token",
    }
)


class SecretError(ValueError):
    """A secret could not be read; the message names the key and says why."""


def env_name(path: tuple[str | int, ...]) -> str:
    return "__".join([ENV_PREFIX, *(str(p).upper() for p in path)])


def dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path)


def _section_type(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(model, is_array) for a field holding a section or a tuple of sections."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if get_origin(annotation) is tuple:
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return args[0], True
    return None, False


def _walk(
    model: type[BaseModel], raw: Mapping[str, Any], path: tuple[str | int, ...]
) -> list[tuple[tuple[str | int, ...], dict[str, Any], str]]:
    """Every secret key the model knows, as (path, the dict holding it, key name)."""
    found: list[tuple[tuple[str | int, ...], dict[str, Any], str]] = []
    for name, field in model.model_fields.items():
        sub, is_array = _section_type(field.annotation)
        if sub is not None:
            value = raw.get(name)
            if is_array:
                if isinstance(value, list):
                    for i, item in enumerate(value):
                        if isinstance(item, dict):
                            found += _walk(sub, item, (*path, name, i))
            else:
                if value is None and isinstance(raw, dict):
                    value = raw[name] = {}  # so an env var can fill a section left out
                if isinstance(value, dict):
                    found += _walk(sub, value, (*path, name))
        elif name in SECRET_KEYS and isinstance(raw, dict):
            found.append(((*path, name), raw, name))
    return found


def _read_secret_file(value: Any, key_path: str, base_dir: Path) -> str:
    if not isinstance(value, str) or not value:
        raise SecretError(f"{key_path}{FILE_SUFFIX}: expected a file path")
    path = Path(os.path.expanduser(os.path.expandvars(value)))
    if not path.is_absolute():
        path = base_dir / path
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SecretError(f"{key_path}{FILE_SUFFIX}: {path}: file not found") from None
    except UnicodeDecodeError:
        raise SecretError(f"{key_path}{FILE_SUFFIX}: {path}: not UTF-8 text") from None
    except OSError as e:
        raise SecretError(f"{key_path}{FILE_SUFFIX}: {path}: cannot read: {e.strerror}") from None
    content = content.removesuffix("\n").removesuffix("\r")
    if not content:
        raise SecretError(f"{key_path}{FILE_SUFFIX}: {path}: the file is empty")
    return content


def apply_secrets(
    model: type[BaseModel],
    raw: dict[str, Any],
    base_dir: Path,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Fill every secret key of `raw` (in place, and returned) from env or `<key>_file`."""
    environ = os.environ if environ is None else environ
    errors: list[str] = []
    written = {id(d) for d in _tables(raw)}  # tables the file has, even empty ones
    for path, holder, name in _walk(model, raw, ()):
        file_key = name + FILE_SUFFIX
        key_path = dotted(path)
        from_env = environ.get(env_name(path))
        if file_key in holder:
            file_value = holder.pop(file_key)
            if name in holder:
                errors.append(f"{key_path}: set either {name} or {file_key}, not both")
                continue
            if from_env is None:
                try:
                    holder[name] = _read_secret_file(file_value, key_path, base_dir)
                except SecretError as e:
                    errors.append(str(e))
        if from_env is not None:
            if not from_env:
                errors.append(f"{key_path}: environment variable {env_name(path)} is empty")
            else:
                holder[name] = from_env
    _drop_empty_sections(raw, written)
    if errors:
        raise SecretError("\n".join(errors))
    return raw


def _tables(raw: dict[str, Any]) -> list[dict[str, Any]]:
    out = [raw]
    for v in raw.values():
        if isinstance(v, dict):
            out.extend(_tables(v))
    return out


def _drop_empty_sections(raw: dict[str, Any], written: set[int]) -> None:
    # Undo the placeholders _walk added, so defaults and "unknown key" errors stay as before;
    # a table the file itself has stays, even empty (its required keys are then missing).
    for key in [k for k, v in raw.items() if isinstance(v, dict)]:
        _drop_empty_sections(raw[key], written)
        if not raw[key] and id(raw[key]) not in written:
            del raw[key]


def inline_secrets(model: type[BaseModel], raw: dict[str, Any]) -> list[str]:
    """Dotted keys whose secret value is written in the file itself."""
    out = []
    written = {id(d) for d in _tables(raw)}
    for path, holder, name in _walk(model, raw, ()):
        value = holder.get(name)
        if not isinstance(value, str) or not value:
            continue
        if name == "database_url" and not _url_has_password(value):
            continue
        out.append(dotted(path))
    _drop_empty_sections(raw, written)
    return out


def secret_files(model: type[BaseModel], raw: dict[str, Any], base_dir: Path) -> list[Path]:
    out = []
    written = {id(d) for d in _tables(raw)}
    for _path, holder, name in _walk(model, raw, ()):
        value = holder.get(name + FILE_SUFFIX)
        if isinstance(value, str) and value:
            p = Path(os.path.expanduser(os.path.expandvars(value)))
            out.append(p if p.is_absolute() else base_dir / p)
    _drop_empty_sections(raw, written)
    return out


def _url_has_password(url: str) -> bool:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return bool(make_url(url).password)
    except ArgumentError:
        return False


def world_readable(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False


def permission_warnings(model: type[BaseModel], config_path: Path) -> list[str]:
    """What check-config warns about: secrets any local user can read."""
    with config_path.open("rb") as f:
        raw = tomllib.load(f)
    warnings = []
    inline = inline_secrets(model, raw)
    if inline and world_readable(config_path):
        warnings.append(
            f"{config_path} is readable by every user on this machine and holds secrets "
            f"({', '.join(inline)}): chmod 640 it (owner root, group of the service user), or "
            f"move them to <key>_file or {ENV_PREFIX}__... environment variables"
        )
    for path in secret_files(model, raw, config_path.parent):
        if world_readable(path):
            warnings.append(f"{path} (a secret file) is readable by every user: chmod 640 it")
    return warnings
