"""Prometheus metrics, one registry per running gateway (tests run several in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from gateway.intake import IntakeResult
from normalizer.types import RawMessage


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.intake = Counter(
            "lapor_intake_messages",
            "Inbound messages by channel and outcome",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.component_up = Gauge(
            "lapor_component_up",
            "1 when a component (channel, worker) is healthy",
            ["component"],
            registry=self.registry,
        )

    def observe_intake(self, raw: RawMessage, result: IntakeResult) -> None:
        self.intake.labels(raw.channel.value, result.outcome.value).inc()

    def render(self, health: dict[str, bool]) -> bytes:
        for name, ok in health.items():
            self.component_up.labels(name).set(1 if ok else 0)
        return generate_latest(self.registry)
