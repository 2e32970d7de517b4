"""A region's service catalogue: the `[[services]]` of a region file.

The kinds of complaint a region takes, each with its LAPOR category and the questions it
asks. Region configuration (gateway/settings.py RegionConfig.services); Open311 serves it as
GeoReport v2 services and service definitions (channels/open311/views.py).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from gateway.config_base import Section
from normalizer.types import Category

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
LIST_DATATYPES = frozenset({"singlevaluelist", "multivaluelist"})
CODE_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"


class ValueConfig(Section):
    key: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)


class AttributeConfig(Section):
    """One question of a service definition (GeoReport v2 `attribute`)."""

    code: str = Field(pattern=CODE_PATTERN)
    description: str = Field(min_length=1)
    datatype: Datatype = "string"
    required: bool = False
    # false: the attribute only informs the user; nothing is asked.
    variable: bool = True
    datatype_description: str = ""
    values: tuple[ValueConfig, ...] = ()

    @model_validator(mode="after")
    def _values_for_lists(self) -> AttributeConfig:
        if self.datatype in LIST_DATATYPES and not self.values:
            raise ValueError(f"datatype {self.datatype} needs `values` (key, name)")
        if self.datatype not in LIST_DATATYPES and self.values:
            raise ValueError("`values` only apply to singlevaluelist/multivaluelist")
        keys = [v.key for v in self.values]
        if len(keys) != len(set(keys)):
            raise ValueError("two values share the same key")
        return self


class ServiceConfig(Section):
    """One Open311 service of a region; its complaints get `category`."""

    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1)
    description: str = ""
    group: str = ""
    keywords: tuple[str, ...] = ()
    category: Category = Category.PENGADUAN
    # realtime: POST answers the tracking number. batch: POST answers a token that
    # tokens/{token} turns into the tracking number once an operator has reviewed it.
    type: Literal["realtime", "batch"] = "realtime"
    attributes: tuple[AttributeConfig, ...] = ()

    @field_validator("attributes")
    @classmethod
    def _unique_attribute_codes(
        cls, values: tuple[AttributeConfig, ...]
    ) -> tuple[AttributeConfig, ...]:
        codes = [a.code for a in values]
        if len(codes) != len(set(codes)):
            raise ValueError("two attributes share the same code")
        return values


# A region without [[services]] offers the three LAPOR categories.
DEFAULT_SERVICES: tuple[ServiceConfig, ...] = (
    ServiceConfig(
        code=Category.PENGADUAN.value,
        name="Pengaduan",
        description="Keluhan atas pelayanan publik atau masalah di lingkungan Anda.",
        group="LAPOR!",
        keywords=("aduan", "keluhan", "complaint"),
        category=Category.PENGADUAN,
    ),
    ServiceConfig(
        code=Category.ASPIRASI.value,
        name="Aspirasi",
        description="Usulan atau saran untuk pemerintah daerah.",
        group="LAPOR!",
        keywords=("saran", "usulan", "suggestion"),
        category=Category.ASPIRASI,
    ),
    ServiceConfig(
        code=Category.PERMINTAAN_INFORMASI.value,
        name="Permintaan informasi",
        description="Permintaan informasi publik kepada pemerintah daerah.",
        group="LAPOR!",
        keywords=("informasi", "information request"),
        category=Category.PERMINTAAN_INFORMASI,
    ),
)


def check_services(values: tuple[ServiceConfig, ...]) -> tuple[ServiceConfig, ...]:
    codes = [s.code.casefold() for s in values]
    if len(codes) != len(set(codes)):
        raise ValueError("two services share the same code (codes are case-insensitive)")
    return values
