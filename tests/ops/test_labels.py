"""Timeline texts: an operator reads Indonesian, never the log's codes."""

from __future__ import annotations

import pytest

from gateway.ops.labels import describe_event
from gateway.store.models import Event


@pytest.mark.parametrize(
    ("kind", "outcome", "said"),
    [
        ("inbound", "accepted", "Diterima lewat SMS"),
        ("inbound", "unrouted", "Pesan masuk: Tak terarah"),
        ("inbound", "rejected", "Pesan masuk: Ditolak"),
        ("reply", "no_reply_channel", "Balasan: Tanpa kanal balasan"),
        ("channel", "recovered", "Kanal: Pulih"),
    ],
)
def test_events_are_said_in_indonesian(kind: str, outcome: str, said: str) -> None:
    event = Event(kind=kind, outcome=outcome, channel="sms", detail={})
    assert describe_event(event) == said
