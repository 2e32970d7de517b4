from __future__ import annotations

from pydantic import Field, field_validator

from gateway.config_base import Section

# Our report fields, as `field_map` may name them (dotted for the reporter's parts).
REPORT_FIELDS = frozenset(
    {
        "ref",
        "tracking_ref",
        "region",
        "institution_id",
        "channel",
        "category",
        "subject",
        "text",
        "received_at",
        "anonymous",
        "confidential",
        "reporter",
        "reporter.name",
        "reporter.phone",
        "reporter.email",
        "reporter.twitter",
        "attachments",
        "location",
        "location.lat",
        "location.long",
        "location.address",
    }
)


class LaporConfig(Section):
    mode: str = Field(default="sandbox", pattern="^(sandbox|http|xml)$")
    base_url: str = "http://127.0.0.1:8090"
    token: str = "sandbox-token"
    max_attempts: int = Field(default=8, ge=1)
    timeout_s: float = Field(default=15.0, gt=0)
    backoff_base_s: float = Field(default=2.0, gt=0)
    backoff_max_s: float = Field(default=3600.0, gt=0)
    # http mode: where to POST and how our fields map onto the agency's JSON.
    path: str = "/api/v1/laporan"
    status_path: str = "/api/v1/laporan/{tracking_id}"  # "" when the API has no status call
    # Our field -> their field (dotted names nest: "pelapor.nama"); "" leaves a field out.
    field_map: dict[str, str] = Field(default_factory=dict)
    tracking_id_field: str = "tracking_id"  # where the answer holds the tracking id (dotted)
    status_field: str = "status"  # where a status answer holds the status (dotted)
    # xml mode: the legacy addstream endpoint.
    xml_path: str = "/addstream"
    # Status sync: poll forwarded complaints; these LAPOR statuses mean "resolved".
    status_sync_interval_s: float = Field(default=300.0, gt=0)
    resolved_statuses: tuple[str, ...] = ("selesai",)
    notify_on_resolved: bool = True
    status_sync_batch: int = Field(default=100, ge=1)  # complaints read per query
    # Status calls per second at most: a pass over 100,000 forwarded complaints then takes
    # hours, not the core that takes complaints in, nor a burst LAPOR would refuse.
    status_sync_max_per_s: float = Field(default=10.0, gt=0)
    # Outbox worker: how often it looks for due rows, how many it takes and sends at once,
    # and how long a claim lasts before another worker may take the row over.
    outbox_poll_interval_s: float = Field(default=1.0, gt=0)
    outbox_batch: int = Field(default=100, ge=1)
    outbox_concurrency: int = Field(default=8, ge=1)
    claim_lease_s: float = Field(default=120.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    @field_validator("field_map")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - REPORT_FIELDS)
        if unknown:
            raise ValueError(
                f"unknown report field(s) {', '.join(unknown)}; known: "
                + ", ".join(sorted(REPORT_FIELDS))
            )
        return value
