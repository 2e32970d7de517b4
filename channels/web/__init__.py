"""Web channel: the citizen form, the status page and the JSON API for regional apps."""

from __future__ import annotations

from aiohttp import web

from channels.web.api import ComplaintApi
from channels.web.form import STATIC, CitizenForm, setup_templates
from channels.web.openapi import openapi_view
from gateway.http_common import PAGE_CSP
from gateway.runtime import Runtime


def register(rt: Runtime) -> None:
    api = ComplaintApi(rt)
    form = CitizenForm(rt)
    rt.routes.extend(
        [
            web.post("/api/v1/complaints", api.create),
            web.get("/api/v1/complaints/{tracking_ref}", api.status),
            web.get("/api/v1/openapi.json", openapi_view(rt.settings)),
            web.get("/", form.show),
            web.post("/aduan", form.submit),
            web.get("/aduan", form.to_form),
            web.get("/status", form.status),
            web.static("/static/web", STATIC),
        ]
    )
    rt.app_setups.append(setup_templates)
    rt.app_setups.append(add_page_headers)


def add_page_headers(app: web.Application) -> None:
    """The citizen pages' CSP (the console sets its own). No frame-ancestors: a region's
    website may embed the form."""

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        if response.content_type == "text/html" and not request.path.startswith("/ops"):
            response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")

    app.on_response_prepare.append(on_prepare)
