"""Turn a stored complaint into the Report that leaves for LAPOR.

This is the one place that decides what LAPOR learns about the reporter: nothing at all
for an anonymous complaint, whatever the adapter.
"""

from __future__ import annotations

from typing import Any

from gateway.lapor.client import Report, ReportIdentity
from gateway.store.models import Complaint
from gateway.store.models import Reporter as ReporterRow


def build_report(complaint: Complaint, reporter: ReporterRow | None, institution_id: str) -> Report:
    identity = None
    if reporter is not None and not complaint.anonymous:
        identity = ReportIdentity(
            name=reporter.name,
            phone=reporter.phone,
            email=reporter.email,
            twitter=reporter.twitter_handle,
        )
    return Report(
        complaint_id=complaint.id,
        tracking_ref=complaint.tracking_ref,
        region_code=complaint.region_code,
        institution_id=institution_id,
        channel=complaint.channel,
        category=complaint.category,
        subject=complaint.subject,
        text=complaint.text,
        received_at=complaint.received_at.isoformat().replace("+00:00", "Z"),
        anonymous=complaint.anonymous,
        confidential=complaint.confidential,
        reporter=identity,
        attachments=tuple(str(a.get("filename", "")) for a in complaint.attachments),
        location=complaint.location,
    )


def report_json(report: Report) -> dict[str, Any]:
    """Our canonical JSON (what the sandbox takes; `http` mode maps it with field_map)."""
    reporter = None
    if report.reporter is not None and not report.anonymous:
        reporter = {
            "name": report.reporter.name,
            "phone": report.reporter.phone,
            "email": report.reporter.email,
            "twitter": report.reporter.twitter,
        }
    body: dict[str, Any] = {
        "ref": report.complaint_id,
        "tracking_ref": report.tracking_ref,
        "region": report.region_code,
        "institution_id": report.institution_id,
        "channel": report.channel,
        "category": report.category,
        "subject": report.subject,
        "text": report.text,
        "received_at": report.received_at,
        "anonymous": report.anonymous,
        "confidential": report.confidential,
        "reporter": reporter,
        "attachments": list(report.attachments),
    }
    if report.location is not None:  # only where a channel gave one: agency APIs stay as they were
        body["location"] = report.location
    return body
