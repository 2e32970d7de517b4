"""Replies through the outbox to the fake Graph API, and the statuses Meta reports back."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from channels.whatsapp.graph import GraphApi
from channels.whatsapp.send import NO_TEMPLATE, WhatsAppSender
from fakes.graph_api import FakeGraphApi
from gateway.ops.labels import error_words
from gateway.outbox import OutboxWorker
from gateway.runtime import Reply, Runtime
from gateway.store.models import Event, OutboxItem, ReplyStatus, utcnow
from tests.channels.sms.helpers import complaints
from tests.channels.whatsapp.conftest import PHONE_NUMBER_ID, fixture, post
from tests.ops.workbench_support import login, open_console

CITIZEN = "+6281234567890"


def worker(rt: Runtime) -> OutboxWorker:
    return next(s for s in rt.services if isinstance(s, OutboxWorker))


async def reply_rows(rt: Runtime) -> list[OutboxItem]:
    async with rt.store.reader() as s:
        return list((await s.scalars(select(OutboxItem).where(OutboxItem.kind == "reply"))).all())


async def receipt_sent(client: TestClient, rt: Runtime, *, now: bool = True) -> OutboxItem:
    assert (await post(client, fixture("text.json", now=now))).status == 200
    await worker(rt).run_once()
    [row] = await reply_rows(rt)
    return row


async def test_receipt_inside_the_window_is_free_text(
    gateway: tuple[TestClient, Runtime], graph: FakeGraphApi
) -> None:
    client, rt = gateway
    row = await receipt_sent(client, rt)
    [complaint] = await complaints(rt.store)
    [sent] = graph.sent
    assert (sent["phone_number_id"], sent["to"], sent["type"]) == (PHONE_NUMBER_ID, CITIZEN, "text")
    assert complaint.tracking_ref in sent["text"]["body"]
    assert row.status == "done" and row.result == {"external_id": sent["id"]}


async def test_receipt_outside_the_window_is_the_template(
    gateway: tuple[TestClient, Runtime], graph: FakeGraphApi
) -> None:
    client, rt = gateway
    row = await receipt_sent(client, rt, now=False)  # the fixture's message is a year old
    [complaint] = await complaints(rt.store)
    [sent] = graph.sent
    assert sent["type"] == "template" and sent["to"] == CITIZEN
    template = sent["template"]
    assert (template["name"], template["language"]) == ("lapor_balasan", {"code": "id"})
    [parameter] = template["components"][0]["parameters"]
    assert complaint.tracking_ref in parameter["text"] and "\n" not in parameter["text"]
    assert row.status == "done"


async def test_window_closed_without_a_template_gives_up_with_a_reason(
    gateway: tuple[TestClient, Runtime], graph: FakeGraphApi
) -> None:
    _, rt = gateway
    cfg = rt.settings.channels.whatsapp.model_copy(update={"reply_template": None})
    sender = WhatsAppSender(rt, cfg, GraphApi(cfg))
    try:
        result = await sender.send(
            Reply("whatsapp", CITIZEN, "Aduan diterima", idempotency_key="k")
        )
    finally:
        await sender.stop()
    assert (result.ok, result.retry, result.error) == (False, False, NO_TEMPLATE)
    assert "24 jam" in error_words(result.error) and "reply_template" in error_words(result.error)
    assert graph.sent == []


async def test_reengagement_error_falls_back_to_the_template(
    gateway: tuple[TestClient, Runtime], graph: FakeGraphApi
) -> None:
    client, rt = gateway
    graph.fail(131047)  # Meta's clock says the window closed
    row = await receipt_sent(client, rt)
    assert [m["type"] for m in graph.sent] == ["template"]
    assert row.status == "done" and row.result == {"external_id": graph.sent[0]["id"]}


@pytest.mark.parametrize(
    ("code", "status", "retry_after", "wait"),
    [(130429, None, 30, 30), (130429, None, None, 60), (4, 429, 45, 45)],
    ids=["130429-retry-after", "130429-default-wait", "http-429"],
)
async def test_rate_limit_is_retried_after_the_wait(
    gateway: tuple[TestClient, Runtime],
    graph: FakeGraphApi,
    code: int,
    status: int | None,
    retry_after: float | None,
    wait: float,
) -> None:
    client, rt = gateway
    graph.fail(code, status=status, retry_after=retry_after)
    row = await receipt_sent(client, rt)
    assert row.status == "pending" and row.last_error.startswith("rate_limited")
    assert row.next_attempt_at - utcnow() > timedelta(seconds=wait - 5)
    assert graph.sent == []


async def test_refused_token_is_not_retried_and_shows_on_readyz(
    gateway: tuple[TestClient, Runtime], graph: FakeGraphApi
) -> None:
    client, rt = gateway
    graph.fail(190)
    row = await receipt_sent(client, rt)
    assert row.status == "dead" and row.last_error.startswith("bad_token")
    assert "access_token" in error_words(row.last_error)
    ready = await (await client.get("/readyz")).json()
    assert ready["ready"] and "whatsapp" in ready["degraded"]
    assert "190" in ready["components"]["whatsapp"]["detail"]
    # A new token in place: the next send succeeds and the channel is healthy again.
    result = await rt.senders["whatsapp"](Reply("whatsapp", CITIZEN, "uji", idempotency_key="k"))
    assert result.ok and rt.health.components["whatsapp"].ok


async def test_replies_per_number_are_limited(
    gateway: tuple[TestClient, Runtime], graph: FakeGraphApi
) -> None:
    _, rt = gateway
    async with rt.store.transaction() as s:
        for i in range(5):  # replies_per_number_per_hour = 5 by default
            s.add(
                OutboxItem(
                    kind="reply",
                    channel="whatsapp",
                    recipient=CITIZEN,
                    status="done",
                    idempotency_key=f"earlier:{i}",
                    updated_at=utcnow(),
                )
            )
    send = rt.senders["whatsapp"]
    limited = await send(Reply("whatsapp", CITIZEN, "Format: ...", idempotency_key="k1"))
    assert not limited.ok and not limited.retry and limited.error.startswith("rate_limited")
    assert "mesin penjawab" in error_words(limited.error)
    other = await send(Reply("whatsapp", "+6285266001122", "Format: ...", idempotency_key="k2"))
    assert other.ok and [m["to"] for m in graph.sent] == ["+6285266001122"]


async def test_wrong_keyword_hears_the_format_for_this_chat(
    gateway: tuple[TestClient, Runtime], graph: FakeGraphApi
) -> None:
    client, rt = gateway
    assert (await post(client, fixture("button.json", now=True))).status == 200
    await worker(rt).run_once()
    [sent] = graph.sent
    assert sent["text"]["body"].startswith("Format: AGAM/PANDEGLANG/SBY")
    assert "nomor WhatsApp ini" in sent["text"]["body"] and "1708" not in sent["text"]["body"]


def statuses_of(wamid: str, name: str = "statuses_sent_delivered_read.json") -> dict:
    text = json.dumps(fixture(name))
    return json.loads(
        text.replace("wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjA5NjNGMTBGQ0I5RjVFNTI5MAA=", wamid)
    )


async def test_statuses_are_recorded_once_and_never_complaints(
    gateway: tuple[TestClient, Runtime], graph: FakeGraphApi
) -> None:
    client, rt = gateway
    row = await receipt_sent(client, rt)
    wamid = row.result["external_id"]
    for _ in range(2):  # Meta repeats itself
        assert (await post(client, statuses_of(wamid))).status == 200
    assert (await post(client, statuses_of(wamid, "status_failed.json"))).status == 200
    async with rt.store.reader() as s:
        rows = (await s.scalars(select(ReplyStatus).order_by(ReplyStatus.id))).all()
        failed = (await s.scalars(select(Event).where(Event.outcome == "failed"))).all()
    assert [(r.external_id, r.status) for r in rows] == [
        (wamid, "sent"),
        (wamid, "delivered"),
        (wamid, "read"),
        (wamid, "failed"),
    ]
    assert rows[-1].errors[0]["code"] == 131026
    assert [e.reason for e in failed] == ["WhatsApp reported the reply failed (131026)"]
    assert len(await complaints(rt.store)) == 1


async def test_statuses_on_the_complaint_timeline(
    gateway: tuple[TestClient, Runtime], graph: FakeGraphApi
) -> None:
    client, rt = gateway
    row = await receipt_sent(client, rt)
    wamid = row.result["external_id"]
    await post(client, statuses_of(wamid))
    await post(client, statuses_of(wamid, "status_failed.json"))
    [complaint] = await complaints(rt.store)
    async with open_console(rt.settings, rt.store) as (console, _):
        await login(console, "admin")
        page = await (await console.get(f"/ops/complaints/{complaint.tracking_ref}")).text()
    for words in (
        "Balasan WhatsApp (tanda terima) diterima server WhatsApp",
        "Balasan WhatsApp (tanda terima) sampai di ponsel pelapor",
        "Balasan WhatsApp (tanda terima) dibaca pelapor",
        "Balasan WhatsApp (tanda terima) gagal sampai ke pelapor "
        "(kode 131026: Message undeliverable)",
    ):
        assert words in page, words
    assert page.index("diterima server WhatsApp") < page.index("dibaca pelapor")
