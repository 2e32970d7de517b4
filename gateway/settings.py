"""The one config file (TOML) and the region files, validated at start.

Every error names the file and the key, so an installer can fix it without reading code.
"""

from __future__ import annotations

import json
import os
import string
import tomllib
from datetime import date, datetime, time
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, ValidationError, create_model, field_validator, model_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from channels.registry import CHANNELS
from gateway.config_base import Section, check_listen
from gateway.lapor.config import LaporConfig
from gateway.ops.config import OpsConfig
from gateway.region_services import ServiceConfig, check_services
from gateway.reply_policy import (
    ALL_NOTICES,
    EMAIL_DEFAULT,
    SMS_DEFAULT,
    TWITTER_DEFAULT,
    NoticePolicy,
)
from gateway.secrets import SecretError, apply_secrets
from gateway.sla import SlaConfig
from normalizer.types import Limits, RegionRules

DEFAULT_CONFIG = Path("config/gateway.toml")
SUPPORTED_DRIVERS = {"sqlite+aiosqlite", "postgresql+asyncpg"}


class ConfigError(Exception):
    """A config problem, phrased for the person who edits the file."""


class GatewaySection(Section):
    database_url: str = "sqlite+aiosqlite:///var/lapor.db"
    data_dir: str = "var"
    regions_dir: str = "regions"
    timezone: str = "Asia/Jakarta"

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"not a database URL: {value!r}") from None
        if url.drivername not in SUPPORTED_DRIVERS:
            raise ValueError(
                f"driver {url.drivername!r} is not supported; use one of "
                + ", ".join(sorted(SUPPORTED_DRIVERS))
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class HttpSection(Section):
    listen: str = "127.0.0.1:8080"
    public_url: str = "http://127.0.0.1:8080"
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    rate_limit_per_minute: int = Field(default=120, ge=1)
    # The citizen form, per client address (a village office may file for many citizens).
    form_rate_limit_per_minute: int = Field(default=10, ge=1)
    # Reverse proxies (addresses or networks) whose X-Forwarded-For names the client.
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()

    _listen = field_validator("listen")(check_listen)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if not isinstance(value, list | tuple):
            return value
        try:
            # As text: strict mode turns text into networks, not network objects into them.
            return tuple(str(ip_network(str(v), strict=False)) for v in value)
        except ValueError as e:
            raise ValueError(f"not an IP address or network: {e}") from None


class ApiClientConfig(Section):
    name: str = Field(min_length=1)
    key: str = Field(min_length=16)
    regions: tuple[str, ...] = Field(min_length=1)


REPLY_PLACEHOLDERS = frozenset({"ref", "lapor_id", "region", "keyword", "short_code", "reason"})


class ReplyTexts(Section):
    """Replies to citizens. `{ref}`, `{lapor_id}`, `{region}`, `{keyword}`, `{short_code}`,
    `{reason}` are filled in. Keep SMS texts short: a reply must fit one 160-character SMS."""

    receipt: str = "Aduan Anda diterima {region}. No. tiket {ref}. Terima kasih."
    forwarded: str = "Aduan {ref} diteruskan ke LAPOR!, no. lacak {lapor_id}. Cek di lapor.go.id"
    help: str = "Format: {keyword} (spasi) isi aduan, kirim ke {short_code}"
    rejected_by_operator: str = "Mohon maaf, aduan {ref} tidak dapat diproses: {reason}"
    resolved: str = "Aduan {ref} telah selesai ditindaklanjuti. Terima kasih atas laporan Anda."

    @field_validator("receipt", "forwarded", "help", "rejected_by_operator", "resolved")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        # A typo here would fail every intake transaction that queues this reply.
        try:
            fields = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
        except ValueError as e:
            raise ValueError(
                f"not a valid template ({e}); write {{ and }} as {{{{ and }}}}"
            ) from None
        for name in fields:
            if name not in REPLY_PLACEHOLDERS:
                known = ", ".join("{" + p + "}" for p in sorted(REPLY_PLACEHOLDERS))
                raise ValueError(f"unknown placeholder {{{name}}}; use {known}")
        return value


class RepliesSection(ReplyTexts):
    """[replies]: the texts, and per channel the notices it sends (gateway/reply_policy.py)."""

    sms: NoticePolicy = SMS_DEFAULT
    twitter: NoticePolicy = TWITTER_DEFAULT
    email: NoticePolicy = EMAIL_DEFAULT

    def notices_for(self, channel: str) -> frozenset[str]:
        """A channel without a policy of its own sends every notice."""
        policy = getattr(self, channel, None)
        return frozenset(policy.notices if isinstance(policy, NoticePolicy) else ALL_NOTICES)


class RegionConfig(Section):
    code: str = Field(pattern=r"^[A-Z0-9]{2,8}$")
    name: str = Field(min_length=1)
    province: str = Field(min_length=1)
    tracking_prefix: str | None = Field(default=None, pattern=r"^[A-Z]{2,5}$")
    sms_keywords: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    email_addresses: tuple[str, ...] = ()
    lapor_institution_id: str = ""
    review_required: bool = False
    replies: ReplyTexts | None = None
    services: tuple[ServiceConfig, ...] = ()  # Open311 services; none: the LAPOR categories

    _services = field_validator("services")(check_services)

    @field_validator("sms_keywords")
    @classmethod
    def _upper_keywords(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for v in values:
            if not v or not v.isalnum():
                raise ValueError(f"SMS keyword must be letters/digits only, got {v!r}")
        return tuple(v.upper() for v in values)

    @field_validator("hashtags")
    @classmethod
    def _bare_hashtags(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for v in values:
            tag = v.removeprefix("#")
            if not tag or not tag.replace("_", "").isalnum():
                raise ValueError(f"hashtag must be letters/digits/underscore, got {v!r}")
            out.append(tag.lower())
        return tuple(out)

    @field_validator("email_addresses")
    @classmethod
    def _lower_addresses(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for v in values:
            if v.count("@") != 1 or v.startswith("@") or v.endswith("@"):
                raise ValueError(f"not an e-mail address: {v!r}")
        return tuple(v.lower() for v in values)

    @property
    def prefix(self) -> str:
        return self.tracking_prefix or self.code[:3]

    def rules(self) -> RegionRules:
        return RegionRules(
            code=self.code,
            name=self.name,
            sms_keywords=self.sms_keywords,
            hashtags=self.hashtags,
            email_addresses=self.email_addresses,
        )


def _channels_section() -> type[Section]:
    """[channels]: one sub-table per registered channel that has settings, each validated
    by that channel's own model (channels/registry.py); any other name is an error."""
    fields: dict[str, Any] = {}
    for entry in CHANNELS:
        model = entry.config_model()
        if model is not None:
            fields[entry.name] = (model, model())
    return create_model("ChannelsSection", __base__=Section, **fields)


ChannelsSection = _channels_section()


class LimitsSection(Section):
    max_text_chars: int = Field(default=10_000, gt=0)
    min_text_chars: int = Field(default=3, ge=1)
    # Same reporter, near-same text within this window: linked as a possible duplicate.
    duplicate_window_h: float = Field(default=24.0, gt=0)


class FileConfig(Section):
    """Exactly what gateway.toml may contain."""

    gateway: GatewaySection = GatewaySection()
    http: HttpSection = HttpSection()
    api_clients: tuple[ApiClientConfig, ...] = ()
    lapor: LaporConfig = LaporConfig()
    channels: ChannelsSection = ChannelsSection()
    replies: RepliesSection = RepliesSection()
    limits: LimitsSection = LimitsSection()
    ops: OpsConfig = OpsConfig()
    sla: SlaConfig = SlaConfig()

    @model_validator(mode="after")
    def _unique_client_keys(self) -> FileConfig:
        keys = [c.key for c in self.api_clients]
        if len(keys) != len(set(keys)):
            raise ValueError("two [[api_clients]] share the same key")
        return self


class Settings:
    """The validated config plus its regions, with paths resolved against the config file."""

    def __init__(self, path: Path, file: FileConfig, regions: dict[str, RegionConfig]):
        self.path = path
        self.file = file
        self.regions = regions
        self.base_dir = path.parent

    # Short names for what the rest of the code reads most.
    @property
    def gateway(self) -> GatewaySection:
        return self.file.gateway

    @property
    def http(self) -> HttpSection:
        return self.file.http

    @property
    def lapor(self) -> LaporConfig:
        return self.file.lapor

    @property
    def channels(self) -> ChannelsSection:
        return self.file.channels

    @property
    def limits(self) -> Limits:
        lim = self.file.limits
        return Limits(max_text_chars=lim.max_text_chars, min_text_chars=lim.min_text_chars)

    def resolve(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.gateway.data_dir)

    @property
    def database_url(self) -> str:
        """SQLite paths are relative to the config file, like every other path."""
        url = make_url(self.gateway.database_url)
        if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
            url = url.set(database=str(self.resolve(url.database)))
        return url.render_as_string(hide_password=False)

    def region_rules(self) -> tuple[RegionRules, ...]:
        return tuple(r.rules() for r in self.regions.values())

    def replies_for(self, region_code: str | None) -> ReplyTexts:
        region = self.regions.get(region_code or "")
        if region and region.replies:
            return region.replies
        return self.file.replies


M = TypeVar("M", bound=Section)

# Strict types: what a key must be, said the way the TOML file writes it.
EXPECTED = {
    "int_type": "must be a whole number without quotes, e.g. 8",
    "float_type": "must be a number without quotes, e.g. 30 or 0.5",
    "bool_type": "must be true or false, without quotes",
    "string_type": 'must be text in quotes, e.g. "1708"',
    "tuple_type": 'must be an array, e.g. ["AGAM"]',
    "list_type": 'must be an array, e.g. ["AGAM"]',
    "dict_type": "must be a table",
    "model_type": "must be a table ([section] or { key = value })",
}


def _toml_type(value: object) -> str:
    for kind, name in ((bool, "true/false"), (int, "a number"), (float, "a number"),
                       (str, "text in quotes"), (list, "an array"), (dict, "a table")):  # fmt: skip
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _format_validation(source: Path, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden" and len(e["loc"]) == 2 and e["loc"][0] == "channels":
            known = ", ".join(sorted(ChannelsSection.model_fields))
            msg = f"unknown channel (typo?); known channels: {known}"
        elif e["type"] == "extra_forbidden":
            msg = "unknown key (typo?)"
        elif e["type"] == "missing":
            msg = "required key is missing"
        elif e["type"] in EXPECTED:  # the value itself is not shown: it may be a secret
            msg = f"{EXPECTED[e['type']]} (found {_toml_type(e['input'])})"
        lines.append(f"{source}: {key}: {msg}")
    return "\n".join(lines)


def _validate_strict(model: type[M], raw: dict[str, Any]) -> M:
    """Strict types: `max_attempts = "8"` or `enabled = "yes"` is an error, never coerced.

    Pydantic's strict mode in its JSON flavour, which takes arrays for tuples as TOML writes
    them; TOML dates and times become ISO strings on the way."""

    def iso(value: object) -> str:
        if isinstance(value, date | datetime | time):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    return model.model_validate_json(json.dumps(raw, default=iso), strict=True)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None


def _load_regions(regions_dir: Path) -> dict[str, RegionConfig]:
    if not regions_dir.is_dir():
        raise ConfigError(f"{regions_dir}: regions_dir is not a directory")
    regions: dict[str, RegionConfig] = {}
    claimed: dict[tuple[str, str], tuple[Path, str]] = {}
    errors: list[str] = []
    for file in sorted(regions_dir.glob("*.toml")):
        try:
            region = _validate_strict(RegionConfig, _read_toml(file))
        except ValidationError as e:
            errors.append(_format_validation(file, e))
            continue
        if region.code in regions:
            errors.append(f"{file}: code: region {region.code} is already defined in another file")
            continue
        regions[region.code] = region
        for key, values in (
            ("sms_keywords", region.sms_keywords),
            ("hashtags", region.hashtags),
            ("email_addresses", region.email_addresses),
        ):
            for v in values:
                owner = claimed.get((key, v))
                if owner:
                    errors.append(
                        f"{file}: {key}: {v!r} is already claimed by region {owner[1]} ({owner[0]})"
                    )
                else:
                    claimed[(key, v)] = (file, region.code)
    if errors:
        raise ConfigError("\n".join(errors))
    if not regions:
        raise ConfigError(f"{regions_dir}: no region files (*.toml) found")
    return regions


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get("LAPOR_GATEWAY_CONFIG")
    return Path(env) if env else DEFAULT_CONFIG


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate everything; raise ConfigError naming file and key."""
    cfg_path = config_path(path).resolve()
    raw = _read_toml(cfg_path)
    try:
        apply_secrets(FileConfig, raw, cfg_path.parent)
    except SecretError as e:
        raise ConfigError(
            "\n".join(f"{cfg_path}: {line}" for line in str(e).splitlines())
        ) from None
    try:
        file = _validate_strict(FileConfig, raw)
    except ValidationError as e:
        raise ConfigError(_format_validation(cfg_path, e)) from None
    settings = Settings(cfg_path, file, {})
    settings.regions = _load_regions(settings.resolve(file.gateway.regions_dir))
    errors = []
    for i, client in enumerate(file.api_clients):
        for code in client.regions:
            if code not in settings.regions:
                errors.append(f"{cfg_path}: api_clients.{i}.regions: unknown region {code!r}")
    prefixes: dict[str, str] = {}
    for region in settings.regions.values():
        other = prefixes.setdefault(region.prefix, region.code)
        if other != region.code:
            errors.append(
                f"{cfg_path.parent}: regions {other} and {region.code} share the tracking "
                f"prefix {region.prefix!r}; set tracking_prefix in one of them"
            )
    if errors:
        raise ConfigError("\n".join(errors))
    return settings
