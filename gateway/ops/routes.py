"""Console routes; the console is on unless [ops] enabled = false."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from gateway.ops import workbench
from gateway.ops.auth import SessionSigner, load_secret
from gateway.ops.views import Console
from gateway.runtime import Runtime

TEMPLATES = Path(__file__).parent / "templates"


def register(rt: Runtime) -> None:
    cfg = rt.settings.file.ops
    if not cfg.enabled:
        return
    secret = load_secret(cfg.session_secret, rt.settings.data_dir)
    console = Console(rt, SessionSigner(secret, cfg.session_hours * 3600))
    page = console.page
    rt.routes.extend(
        [
            web.get("/ops/login", console.login_form),
            web.post("/ops/login", console.login),
            web.post("/ops/logout", page(console.logout)),
            web.get("/ops/", page(console.log_page)),
            web.get("/ops/events/stream", page(console.event_stream)),
            web.get("/ops/inbox", page(console.inbox)),
            web.get("/ops/review", page(console.review_page)),
            web.post("/ops/complaints/{id}/approve", page(console.approve)),
            web.post("/ops/complaints/{id}/reject", page(console.reject)),
            web.post("/ops/complaints/{id}/assign", page(console.assign)),
            web.post("/ops/inbox/{id:[0-9]+}/assign", page(console.inbox_assign)),
        ]
    )
    rt.routes.extend(workbench.routes(console))

    rt.app_setups.append(add_templates)


def add_templates(app: web.Application) -> None:
    """One jinja environment serves the citizen pages and the console."""
    env = aiohttp_jinja2.get_env(app)
    env.loader = jinja2.ChoiceLoader([env.loader, jinja2.FileSystemLoader(TEMPLATES)])
