"""Web channel: the citizen form, the status page and the JSON API for regional apps."""

from __future__ import annotations

from aiohttp import web

from channels.web.api import ComplaintApi
from channels.web.form import STATIC, CitizenForm, setup_templates
from channels.web.openapi import openapi_view
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
            web.get("/status", form.status),
            web.static("/static/web", STATIC),
        ]
    )
    rt.app_setups.append(setup_templates)
