"""Assembly: one asyncio loop runs the HTTP app, every enabled channel and the workers."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time

from aiohttp import web

from channels.registry import CHANNELS
from gateway import outbox, sdnotify, status_sync
from gateway.config_base import parse_listen
from gateway.http_common import error_middleware
from gateway.intake import Intake
from gateway.metrics import Metrics
from gateway.ops.routes import register as register_console
from gateway.reload import Reloader
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.store.db import NotMigrated, Store, StoreUnavailable
from gateway.store.regions import sync_regions

log = logging.getLogger(__name__)

RUNTIME_KEY = web.AppKey("runtime", Runtime)
# A failed write makes /readyz say "not ready" this long, unless a write succeeds first.
WRITE_FAILURE_WINDOW_S = 30.0


def build_runtime(settings: Settings, store: Store) -> Runtime:
    rt = Runtime(settings=settings, store=store, intake=Intake(settings, store))
    for channel in CHANNELS:  # each adds its services, routes and reply sender
        channel.register_with(rt)
    # Forwards to LAPOR and sends replies through the senders registered above.
    outbox.register(rt)
    status_sync.register(rt)  # follows forwarded complaints on LAPOR
    register_console(rt)
    return rt


def build_http_app(rt: Runtime) -> web.Application:
    max_body = rt.settings.http.max_body_bytes
    app = web.Application(client_max_size=max_body, middlewares=[error_middleware(max_body)])
    metrics = Metrics()
    rt.intake.observers.append(metrics.observe_intake)
    app[RUNTIME_KEY] = rt

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        """Ready = can take complaints in, i.e. the store works. A channel or LAPOR being
        down is reported as degraded, never as not ready: a load balancer that pulled the
        gateway then would turn SMS webhooks and API clients away too."""
        try:
            await rt.store.check_migrated()
        except (NotMigrated, StoreUnavailable) as e:
            rt.health.set("database", False, str(e))
        except Exception as e:  # a driver error's text may quote row values: name only
            rt.health.set("database", False, type(e).__name__)
        else:
            failed = rt.store.write_failure
            if failed and time.monotonic() - failed[0] < WRITE_FAILURE_WINDOW_S:
                rt.health.set("database", False, f"writes failing: {failed[1]}")
            else:
                rt.health.set("database", True)
        ready = rt.health.components["database"].ok
        degraded = sorted(n for n, c in rt.health.components.items() if not c.ok)
        body = {"ready": ready, "degraded": degraded, "components": rt.health.as_json()}
        return web.json_response(body, status=200 if ready else 503)

    async def metrics_view(_: web.Request) -> web.Response:
        health = {name: c.ok for name, c in rt.health.components.items()}
        return web.Response(body=metrics.render(health), content_type="text/plain")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    app.router.add_routes(rt.routes)
    for setup in rt.app_setups:
        setup(app)
    return app


async def serve(settings: Settings, *, stop_event: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or stop_event): then stop taking new work, finish what is
    in flight, and close. Nothing acknowledged is lost: acks only follow commits."""
    store = Store(settings.database_url)
    try:
        await store.check_migrated()
        await sync_regions(store, settings)
        rt = build_runtime(settings, store)
        app = build_http_app(rt)
        runner = web.AppRunner(app, shutdown_timeout=10.0, access_log=None)
        await runner.setup()
        host, port = parse_listen(settings.http.listen)
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        rt.health.set("http", True, f"listening on {host}:{port}")
        started = []
        try:
            for service in rt.services:
                await service.start()
                started.append(service)
            log.info("gateway started", extra={"listen": settings.http.listen})
            print(f"lapor-gateway: serving on http://{host}:{port}", flush=True)
            sdnotify.notify(f"READY=1\nSTATUS=serving on {host}:{port}\nMAINPID={os.getpid()}")
            stop = stop_event or asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            loop.add_signal_handler(signal.SIGHUP, Reloader(rt).request)
            await stop.wait()
            print("lapor-gateway: stopping", flush=True)
            sdnotify.notify("STOPPING=1")
        finally:
            # HTTP first (in-flight requests finish), then the channels and workers.
            await runner.cleanup()
            for service in reversed(started):
                try:
                    await service.stop()
                except Exception:
                    log.exception("service failed to stop", extra={"service": service.name})
    finally:
        await store.close()
