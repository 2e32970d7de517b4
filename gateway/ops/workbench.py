"""The operators' workbench routes: complaint detail and search, province monitoring,
charts, reports and the outbox view (one module each, beside the console's views)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from aiohttp import web

from gateway.ops import complaint_detail, complaint_search, monitoring, outbox_view, report_page
from gateway.ops.auth import OperatorSession
from gateway.ops.views import Console

Handler = Callable[[Console, web.Request, OperatorSession], Awaitable[web.StreamResponse]]


def routes(console: Console) -> list[web.RouteDef]:
    def page(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        return console.page(partial(handler, console))

    ref = "{ref:[A-Za-z0-9-]{1,20}}"
    return [
        web.get("/ops/complaints", page(complaint_search.complaints_page)),
        web.get(f"/ops/complaints/{ref}", page(complaint_detail.detail_page)),
        web.post(f"/ops/complaints/{ref}/notes", page(complaint_detail.add_note)),
        web.get("/ops/stats", page(monitoring.stats_page)),
        web.get("/ops/province", page(monitoring.province_page)),
        web.get("/ops/reports", page(report_page.reports_page)),
        web.get("/ops/outbox", page(outbox_view.outbox_page)),
        web.post("/ops/outbox/{id:[0-9]{1,12}}/retry", page(outbox_view.retry)),
        web.post(f"/ops/outbox/unknown/{ref}", page(outbox_view.close_or_resend)),
    ]
