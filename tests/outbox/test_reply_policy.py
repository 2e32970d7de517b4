"""[replies.<channel>] notices: what each channel sends by default and when configured, and a
channel that cannot answer, on SQLite and PostgreSQL against the sandbox LAPOR."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.intake import Intake
from gateway.outbox import register, status_summary
from gateway.review import reject
from gateway.runtime import Reply, Runtime, SendResult
from gateway.settings import ConfigError, load_settings
from gateway.store.db import Store
from gateway.store.models import Cursor
from normalizer.types import Channel
from tests.lapor.sandbox_fixture import RunningSandbox
from tests.outbox.support import drain, events_of, outbox_rows, point_at
from tests.support import make_raw, write_config

SMS_BY_HTTP = '\n[channels.sms.reply]\nkind = "http"\nurl = "http://127.0.0.1:9/sms"\n'


@pytest.fixture
def config_path(tmp_path: Path, db_url: str) -> Path:
    """The suite's plain config: no SMS reply route, the default notice policy."""
    return write_config(tmp_path / "cfg", db_url)


def runtime_with(tmp_path: Path, store: Store, db_url: str, extra: str) -> Runtime:
    settings = load_settings(write_config(tmp_path / "other", db_url, extra))
    return Runtime(settings=settings, store=store, intake=Intake(settings, store))


async def test_by_default_a_complaint_costs_one_sms(
    tmp_path: Path, store: Store, db_url: str, sandbox: RunningSandbox
) -> None:
    rt = runtime_with(tmp_path, store, db_url, SMS_BY_HTTP)
    point_at(rt, sandbox.url)
    sent: list[Reply] = []

    async def sms_sender(reply: Reply) -> SendResult:
        sent.append(reply)
        return SendResult(ok=True, external_id=f"sms-{len(sent)}")

    rt.add_sender("sms", sms_sender)
    worker = register(rt)
    forwarded = await rt.intake.submit(make_raw("AGAM jalan rusak di depan pasar Lubuk Basung"))
    wrong_keyword = await rt.intake.submit(make_raw("PADANG lampu mati", external_id="sms-2"))
    await drain(worker)
    await worker.client.close()

    assert [(r.payload["purpose"], r.status) for r in await outbox_rows(rt, "reply")] == [
        ("receipt", "done"),
        ("help", "done"),  # a message that is no complaint still hears the format
    ]
    assert forwarded.tracking_ref in sent[0].text
    assert wrong_keyword.outcome == "unrouted"
    assert "no_reply_channel" not in {e["outcome"] for e in await events_of(rt, "reply")}


async def test_a_channel_that_cannot_answer_is_noted_once_and_leaves_no_rows(
    runtime: Runtime, sandbox: RunningSandbox
) -> None:
    point_at(runtime, sandbox.url)
    worker = register(runtime)
    first = await runtime.intake.submit(make_raw("PANDEGLANG jalan berlubang di Labuan"))
    await runtime.intake.submit(make_raw("AGAM sampah menumpuk di pasar", external_id="sms-2"))
    await runtime.intake.submit(make_raw("PADANG lampu mati", external_id="sms-3"))
    await reject(runtime.store, runtime.settings, first.complaint_id, "bukan wewenang")
    await drain(worker)
    await worker.client.close()

    assert await outbox_rows(runtime, "reply") == []
    (noted,) = await events_of(runtime, "reply")
    assert (noted["outcome"], noted["reason"], noted["channel"]) == (
        "no_reply_channel",
        "no reply channel",
        "sms",
    )
    assert noted["detail"]["hint"] == "set up a sender for sms, or [replies.sms] notices = []"
    summary = await status_summary(runtime.store)
    assert "unsendable" not in str(summary)


async def test_notices_a_channel_leaves_out_are_not_queued(
    tmp_path: Path, store: Store, db_url: str, sandbox: RunningSandbox
) -> None:
    extra = SMS_BY_HTTP + '\n[replies.sms]\nnotices = ["forwarded"]\n'
    rt = runtime_with(tmp_path, store, db_url, extra)
    point_at(rt, sandbox.url)
    worker = register(rt)
    await rt.intake.submit(make_raw("AGAM jalan rusak di depan pasar Lubuk Basung"))
    await rt.intake.submit(make_raw("PADANG lampu mati", external_id="sms-2"))
    await drain(worker)
    await worker.client.close()
    rows = await outbox_rows(rt, "reply")
    # No sender registered in this runtime: the one row queued is the forwarded notice.
    assert [r.payload["purpose"] for r in rows] == ["forwarded"]


async def test_silenced_channel_is_not_noted(tmp_path: Path, store: Store, db_url: str) -> None:
    rt = runtime_with(tmp_path, store, db_url, "\n[replies.sms]\nnotices = []\n")
    register(rt)
    await rt.intake.submit(make_raw("AGAM jalan rusak di depan pasar Lubuk Basung"))
    assert await outbox_rows(rt, "reply") == []
    assert await events_of(rt, "reply") == []
    async with store.reader() as session:
        assert await session.scalar(select(Cursor.key)) is None


async def test_email_hears_every_step_by_default(tmp_path: Path, store: Store, db_url: str) -> None:
    extra = "\n[channels.email.relay]\nenabled = true\n"
    rt = runtime_with(tmp_path, store, db_url, extra)
    register(rt)
    raw = make_raw(
        "Jalan rusak di Jorong Koto Tuo, mohon diperbaiki",
        channel=Channel.EMAIL,
        sender="budi@example.id",
        recipient="lapor@pandeglangkab.go.id",
    )
    result = await rt.intake.submit(raw)
    await reject(rt.store, rt.settings, result.complaint_id, "bukan wewenang")
    rows = await outbox_rows(rt, "reply")
    assert [r.payload["purpose"] for r in rows] == ["receipt", "rejected_by_operator"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[replies.sms]\nnotices = ["kwitansi"]\n', "replies.sms.notices.0"),
        ('[replies.sms]\nnotices = "receipt"\n', "must be an array"),
        ("[replies.fax]\nnotices = []\n", "replies.fax: unknown key"),
        ("[replies.sms]\n", "replies.sms.notices: required key is missing"),
    ],
)
def test_bad_policy_is_refused(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_settings(write_config(tmp_path, "sqlite+aiosqlite:///x.db", extra))
