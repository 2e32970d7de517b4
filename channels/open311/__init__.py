"""Open311 GeoReport v2 channel: regional apps and civic tools (FixMyStreet, city 311
clients) file and follow complaints through the standard, in XML or JSON."""

from __future__ import annotations

from gateway.runtime import Runtime


def register(rt: Runtime) -> None:
    if not rt.settings.channels.open311.enabled:
        return
    from channels.open311.views import Open311Api

    rt.routes.extend(Open311Api(rt).routes())
