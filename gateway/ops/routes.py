"""Console routes; the console is on unless [ops] enabled = false."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from gateway.http_common import PAGE_CSP
from gateway.ops import accounts_view, workbench
from gateway.ops.auth import Signer, load_secret
from gateway.ops.views import Console
from gateway.runtime import Runtime

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def register(rt: Runtime) -> None:
    cfg = rt.settings.file.ops
    if not cfg.enabled:
        return
    secret = load_secret(cfg.session_secret, rt.settings.data_dir)
    console = Console(rt, Signer(secret))
    page = console.page
    rt.routes.extend(
        [
            web.get("/ops/login", console.login_form),
            web.post("/ops/login", console.login),
            web.post("/ops/login/totp", console.login_totp),
            web.post("/ops/logout", page(console.logout)),
            web.get("/ops/", page(console.log_page)),
            web.get("/ops/events/stream", page(console.event_stream, counts=False)),
            web.get("/ops/counts", page(console.counts, counts=False)),
            web.static("/ops/static", STATIC),
            web.get("/ops/inbox", page(console.inbox)),
            web.get("/ops/review", page(console.review_page)),
            web.post("/ops/complaints/{id}/approve", page(console.approve)),
            web.post("/ops/complaints/{id}/reject", page(console.reject)),
            web.post("/ops/complaints/{id}/assign", page(console.assign)),
            web.post("/ops/inbox/{id:[0-9]+}/assign", page(console.inbox_assign)),
            web.post("/ops/inbox/{id:[0-9]+}/dismiss", page(console.inbox_dismiss)),
        ]
    )
    rt.routes.extend(workbench.routes(console))
    rt.routes.extend(accounts_view.routes(console))

    rt.app_setups.append(add_templates)
    rt.app_setups.append(lambda app: add_lifecycle(app, console))
    rt.app_setups.append(add_security_headers)


def add_templates(app: web.Application) -> None:
    """One jinja environment serves the citizen pages and the console."""
    env = aiohttp_jinja2.get_env(app)
    env.loader = jinja2.ChoiceLoader([env.loader, jinja2.FileSystemLoader(TEMPLATES)])


# Console pages and their JSON carry personal data: never stored by a browser or proxy
# (Back after "Keluar" shows nothing), never framed by another site.
CONSOLE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    # Scripts and styles only from our own static files: nothing inline, nothing from elsewhere.
    "Content-Security-Policy": f"{PAGE_CSP}; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def add_security_headers(app: web.Application) -> None:
    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        if request.path == "/ops" or request.path.startswith("/ops/"):
            response.headers.update(CONSOLE_HEADERS)

    app.on_response_prepare.append(on_prepare)


def add_lifecycle(app: web.Application, console: Console) -> None:
    async def on_shutdown(_: web.Application) -> None:
        # Runs before aiohttp waits for open requests: live-log streams end now,
        # so SIGTERM does not wait for them (and a restart finds its port free).
        console.stopping.set()

    async def on_cleanup(_: web.Application) -> None:
        console.passwords.close()

    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
