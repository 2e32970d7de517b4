"""A fake LAPOR!-SP4N for tests and operator training (bimtek): `lapor-gateway fake-lapor`.

It keeps the reports it receives (in memory, and in a file when given one, so a restart
remembers what the gateway forwarded and status sync finds it), answers 7-digit tracking
ids, honours idempotency keys (same key -> same tracking id, no second report), serves both the JSON
API of the `sandbox`/`http` adapters and the legacy `addstream` XML, lets an operator move
a report through LAPOR's statuses, and injects faults on request.

Routes:
  POST /api/v1/laporan              JSON report (Bearer token, Idempotency-Key)
  GET  /api/v1/laporan/{id}         status of one report (Bearer token)
  POST /addstream                   legacy XML report (token attribute)
  GET  /                            Indonesian HTML list of received reports
  GET  /sandbox/reports             the same list as JSON
  POST /sandbox/reports/{id}/status {"status": "..."}: move a report on (training, tests)
  GET  /sandbox/stats               counters (reports, replays, requests, injected faults)
  GET|POST /sandbox/faults          read / change fault injection at run time
"""

from __future__ import annotations

import asyncio
import html
import json
import random
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import defusedxml.ElementTree as SafeET
from aiohttp import web
from aiohttp.typedefs import Handler

# LAPOR's life cycle of a report, as the sandbox plays it.
STATUSES = ("diterima", "diverifikasi", "didisposisikan", "ditindaklanjuti", "selesai")
RESOLVED_STATUS = "selesai"
STATUS_LABELS = {
    "diterima": "Belum terverifikasi",
    "diverifikasi": "Terverifikasi",
    "didisposisikan": "Didisposisikan ke instansi",
    "ditindaklanjuti": "Sedang ditindaklanjuti",
    "selesai": "Selesai",
}
FAULT_ANSWERS = ("normal", "html", "garbage")

HTML_ERROR_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body>"
    "<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


@dataclass(frozen=True, slots=True)
class Faults:
    """What goes wrong, on purpose. Applies to report and status calls, never to /sandbox/*.

    fail_rate: share of calls that fail (with `status`, default 500). A `status` without a
    fail_rate fails every call. `answer` replaces a successful answer by an HTML page or
    by garbage (the report is then NOT stored, as if a proxy answered instead of LAPOR).
    """

    fail_rate: float = 0.0
    latency_ms: int = 0
    status: int | None = None
    retry_after: int | None = None
    answer: str = "normal"

    def __post_init__(self) -> None:
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error code (400-599)")
        if self.answer not in FAULT_ANSWERS:
            raise ValueError(f"answer must be one of {', '.join(FAULT_ANSWERS)}")


@dataclass(slots=True)
class SandboxReport:
    tracking_id: str
    received_at: datetime
    source: str  # json | xml
    idempotency_key: str | None
    fields: dict[str, Any]
    status: str = STATUSES[0]
    history: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "tracking_id": self.tracking_id,
            "received_at": self.received_at.isoformat(),
            "source": self.source,
            "idempotency_key": self.idempotency_key,
            "status": self.status,
            "history": self.history,
            "report": self.fields,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SandboxReport:
        return cls(
            tracking_id=str(data["tracking_id"]),
            received_at=datetime.fromisoformat(data["received_at"]),
            source=str(data["source"]),
            idempotency_key=data["idempotency_key"],
            fields=dict(data["report"]),
            status=str(data["status"]),
            history=list(data["history"]),
        )


class ReportFileError(ValueError):
    """The reports file cannot be read back; the message names the file and the line."""


class ReportFile:
    """Reports as JSON lines, appended on every change (a new report, a status): writing
    stays O(1) however many reports there are; on load the last line of a report wins. A
    last line cut by a crash (no newline) is dropped: it was never answered as stored."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict[str, SandboxReport]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as e:
            raise ReportFileError(f"{self.path}: cannot read: {e}") from None
        lines = text.split("\n")
        reports: dict[str, SandboxReport] = {}
        for number, line in enumerate(lines[:-1], start=1):  # lines[-1]: after the last \n
            if not line.strip():
                continue
            try:
                report = SandboxReport.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError) as e:
                raise ReportFileError(
                    f"{self.path}: line {number} is not a sandbox report ({e}); "
                    "move the file away to start empty"
                ) from None
            reports[report.tracking_id] = report
        return reports

    async def append(self, report: SandboxReport) -> None:
        line = json.dumps(report.as_json(), ensure_ascii=False) + "\n"
        await asyncio.to_thread(self._write, line)

    def _write(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line)


class BadReport(ValueError):
    """The request is not a report the sandbox can accept (answered 4xx)."""


class SandboxLapor:
    """State and routes of the fake LAPOR. One instance per server."""

    def __init__(
        self,
        token: str,
        faults: Faults | None = None,
        *,
        seed: int | None = None,
        reports_file: Path | None = None,
    ):
        self.token = token
        self.faults = faults or Faults()
        self.file = ReportFile(reports_file) if reports_file else None
        self.reports: dict[str, SandboxReport] = self.file.load() if self.file else {}
        self.by_key: dict[str, str] = {
            r.idempotency_key: r.tracking_id for r in self.reports.values() if r.idempotency_key
        }
        self.counters = {"requests": 0, "reports": 0, "replays": 0, "injected_faults": 0}
        self._rng = random.Random(seed)
        # A report and its key are stored together; concurrent replays must not both create.
        self._lock = asyncio.Lock()

    # -- assembly --------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024, middlewares=[self._latency])
        app.router.add_post("/api/v1/laporan", self.post_json)
        app.router.add_get("/api/v1/laporan/{tracking_id}", self.get_status)
        app.router.add_post("/addstream", self.post_xml)
        app.router.add_get("/", self.html_page)
        app.router.add_get("/sandbox/reports", self.list_json)
        app.router.add_post("/sandbox/reports/{tracking_id}/status", self.set_status)
        app.router.add_get("/sandbox/stats", self.stats)
        app.router.add_get("/sandbox/faults", self.get_faults)
        app.router.add_post("/sandbox/faults", self.set_faults)
        return app

    # -- the LAPOR side --------------------------------------------------------------------

    async def post_json(self, request: web.Request) -> web.StreamResponse:
        faulty = await self._inject(request, xml=False)
        if faulty is not None:
            return faulty
        if not self._bearer_ok(request):
            return _json_error(401, "token tidak valid")
        try:
            body = await request.json(loads=json.loads)
        except (ValueError, UnicodeDecodeError):
            return _json_error(400, "body bukan JSON yang valid")
        try:
            fields = _check_json_report(body)
        except BadReport as e:
            return _json_error(422, str(e))
        report, created = await self._store("json", request.headers.get("Idempotency-Key"), fields)
        if self.faults.answer != "normal":
            return self._bad_answer()
        return web.json_response(
            {"tracking_id": report.tracking_id, "status": report.status},
            status=201 if created else 200,
        )

    async def post_xml(self, request: web.Request) -> web.StreamResponse:
        faulty = await self._inject(request, xml=True)
        if faulty is not None:
            return faulty
        raw = await request.read()
        try:
            token, fields, key_attr = _parse_addstream(raw)
        except BadReport as e:
            return _xml_error(400, str(e))
        if token != self.token:
            return _xml_error(401, "token tidak valid")
        key = request.headers.get("Idempotency-Key") or key_attr
        report, _ = await self._store("xml", key, fields)
        if self.faults.answer != "normal":
            return self._bad_answer()
        root = ET.Element("lapor")
        ET.SubElement(root, "status").text = "ok"
        ET.SubElement(root, "trackingid").text = report.tracking_id
        return web.Response(
            body=ET.tostring(root, encoding="utf-8", xml_declaration=True),
            content_type="application/xml",
        )

    async def get_status(self, request: web.Request) -> web.StreamResponse:
        faulty = await self._inject(request, xml=False)
        if faulty is not None:
            return faulty
        if not self._bearer_ok(request):
            return _json_error(401, "token tidak valid")
        report = self.reports.get(request.match_info["tracking_id"])
        if report is None:
            return _json_error(404, "laporan tidak ditemukan")
        return web.json_response(
            {"tracking_id": report.tracking_id, "status": report.status, "history": report.history}
        )

    # -- operator / test controls ----------------------------------------------------------

    async def set_status(self, request: web.Request) -> web.Response:
        report = self.reports.get(request.match_info["tracking_id"])
        if report is None:
            return _json_error(404, "laporan tidak ditemukan")
        try:
            status = (await request.json()).get("status")
        except (ValueError, AttributeError):
            return _json_error(400, 'kirim JSON {"status": "..."}')
        if status not in STATUSES:
            return _json_error(422, "status harus salah satu dari: " + ", ".join(STATUSES))
        async with self._lock:
            report.status = status
            report.history.append({"status": status, "at": _now().isoformat()})
            if self.file:
                await self.file.append(report)
        return web.json_response(report.as_json())

    async def list_json(self, _: web.Request) -> web.Response:
        return web.json_response([r.as_json() for r in self.reports.values()])

    async def stats(self, _: web.Request) -> web.Response:
        return web.json_response(self.counters)

    async def get_faults(self, _: web.Request) -> web.Response:
        return web.json_response(asdict(self.faults))

    async def set_faults(self, request: web.Request) -> web.Response:
        try:
            changes = await request.json()
            self.faults = replace(self.faults, **changes)
        except (ValueError, TypeError) as e:
            return _json_error(422, f"fault tidak valid: {e}")
        return web.json_response(asdict(self.faults))

    async def html_page(self, _: web.Request) -> web.Response:
        return web.Response(text=render_page(list(self.reports.values())), content_type="text/html")

    # -- internals -------------------------------------------------------------------------

    @web.middleware
    async def _latency(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Slow answers come AFTER the work, like a LAPOR that stored the report but whose
        answer never reached us: the case idempotency keys exist for."""
        response = await handler(request)
        if self.faults.latency_ms and request.path.startswith(("/api/", "/addstream")):
            await asyncio.sleep(self.faults.latency_ms / 1000)
        return response

    async def _inject(self, request: web.Request, *, xml: bool) -> web.StreamResponse | None:
        self.counters["requests"] += 1
        faults = self.faults
        failing = faults.fail_rate > 0 or faults.status is not None
        if failing and (faults.fail_rate == 0 or self._rng.random() < faults.fail_rate):
            self.counters["injected_faults"] += 1
            status = faults.status or 500
            headers = {"Retry-After": str(faults.retry_after)} if faults.retry_after else {}
            if faults.answer == "html":
                return web.Response(
                    status=status, text=HTML_ERROR_PAGE, content_type="text/html", headers=headers
                )
            error = _xml_error if xml else _json_error
            return error(status, "gangguan simulasi sandbox", headers=headers)
        return None

    def _bad_answer(self) -> web.Response:
        self.counters["injected_faults"] += 1
        if self.faults.answer == "html":
            return web.Response(text=HTML_ERROR_PAGE, content_type="text/html")
        return web.Response(body=b"<lapor><trackingid>\x00\xff", content_type="application/xml")

    def _bearer_ok(self, request: web.Request) -> bool:
        return request.headers.get("Authorization", "") == f"Bearer {self.token}"

    async def _store(
        self, source: str, key: str | None, fields: dict[str, Any]
    ) -> tuple[SandboxReport, bool]:
        async with self._lock:
            if key and key in self.by_key:
                self.counters["replays"] += 1
                return self.reports[self.by_key[key]], False
            if self.faults.answer != "normal":
                # A proxy answered instead of LAPOR: nothing reached it.
                return SandboxReport("", _now(), source, key, fields), False
            tracking_id = self._new_tracking_id()
            now = _now()
            report = SandboxReport(
                tracking_id,
                now,
                source,
                key,
                fields,
                history=[{"status": STATUSES[0], "at": now.isoformat()}],
            )
            if self.file:  # on disk before it is answered as stored
                await self.file.append(report)
            self.reports[tracking_id] = report
            if key:
                self.by_key[key] = tracking_id
            self.counters["reports"] += 1
            return report, True

    def _new_tracking_id(self) -> str:
        while True:
            candidate = str(self._rng.randrange(1_000_000, 10_000_000))
            if candidate not in self.reports:
                return candidate


def _check_json_report(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadReport("laporan harus berupa objek JSON")
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadReport("field 'text' (isi laporan) wajib diisi")
    reporter = body.get("reporter")
    if reporter is not None and not isinstance(reporter, dict):
        raise BadReport("field 'reporter' harus berupa objek JSON atau null")
    if body.get("anonymous") and reporter:
        raise BadReport("laporan anonim tidak boleh memuat identitas pelapor")
    return body


def _parse_addstream(raw: bytes) -> tuple[str, dict[str, Any], str | None]:
    """`<lapor token><pelapor>…</pelapor><laporan rahasia anonim>…</laporan></lapor>`."""
    try:
        root = SafeET.fromstring(raw)
    except (ET.ParseError, ValueError) as e:
        raise BadReport(f"XML tidak valid: {e}") from None
    except Exception as e:  # defusedxml's refusals (entities, DTDs)
        raise BadReport(f"XML ditolak: {type(e).__name__}") from None
    if root.tag != "lapor":
        raise BadReport("elemen akar harus <lapor>")
    laporan = root.find("laporan")
    if laporan is None:
        raise BadReport("elemen <laporan> tidak ada")
    isi = (laporan.findtext("isi") or "").strip()
    if not isi:
        raise BadReport("<isi> wajib diisi")
    anonymous = laporan.get("anonim") == "1"
    pelapor = root.find("pelapor")
    reporter = None
    if pelapor is not None and len(pelapor):
        if anonymous:
            raise BadReport("laporan anonim tidak boleh memuat <pelapor>")
        names = {"nama": "name", "telepon": "phone", "email": "email", "twitter": "twitter"}
        reporter = {names.get(child.tag, child.tag): child.text or "" for child in pelapor}
    fields: dict[str, Any] = {
        "subject": laporan.findtext("judul") or "",
        "text": isi,
        "category": laporan.get("kategori"),
        "institution_id": laporan.get("instansi"),
        "tracking_ref": laporan.get("ref"),
        "channel": laporan.findtext("sumber"),
        "received_at": laporan.findtext("tanggal"),
        "anonymous": anonymous,
        "confidential": laporan.get("rahasia") == "1",
        "reporter": reporter,
    }
    return root.get("token", ""), fields, laporan.get("kunci")


def _json_error(
    status: int, message: str, *, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _xml_error(status: int, message: str, *, headers: dict[str, str] | None = None) -> web.Response:
    root = ET.Element("lapor")
    ET.SubElement(root, "status").text = "error"
    ET.SubElement(root, "pesan").text = message
    return web.Response(
        status=status,
        body=ET.tostring(root, encoding="utf-8", xml_declaration=True),
        content_type="application/xml",
        headers=headers,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def render_page(reports: list[SandboxReport]) -> str:
    """The bimtek page: what LAPOR received, newest first. Confidential text stays hidden."""
    rows = []
    for r in sorted(reports, key=lambda r: r.received_at, reverse=True):
        f = r.fields
        text = "<em>(rahasia)</em>" if f.get("confidential") else html.escape(str(f.get("text")))
        reporter = f.get("reporter")
        who = (
            "<em>anonim</em>"
            if f.get("anonymous") or not reporter
            else html.escape(str(reporter.get("name") or "-"))
        )
        rows.append(
            "<tr>"
            f"<td>{html.escape(r.tracking_id)}</td>"
            f"<td>{r.received_at:%d-%m-%Y %H:%M} UTC</td>"
            f"<td>{html.escape(str(f.get('institution_id') or '-'))}</td>"
            f"<td>{html.escape(str(f.get('tracking_ref') or '-'))}</td>"
            f"<td>{html.escape(str(f.get('category') or '-'))}</td>"
            f"<td>{html.escape(str(f.get('subject') or ''))}<br><small>{text}</small></td>"
            f"<td>{who}</td>"
            f"<td>{html.escape(STATUS_LABELS.get(r.status, r.status))}</td>"
            f"<td>{r.source.upper()}</td>"
            "</tr>"
        )
    body = "\n".join(rows) or '<tr><td colspan="9">Belum ada laporan yang diterima.</td></tr>'
    return f"""<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="10">
<title>LAPOR! Sandbox — Laporan Diterima</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #ccc; padding: .4em; text-align: left; vertical-align: top; }}
th {{ background: #b71c1c; color: #fff; }}
</style>
</head>
<body>
<h1>LAPOR! Sandbox</h1>
<p>Ini adalah LAPOR!-SP4N tiruan untuk pengujian dan bimbingan teknis (bimtek).
Laporan di sini <strong>tidak</strong> diteruskan ke instansi mana pun.
Jumlah laporan diterima: {len(reports)}. Halaman ini diperbarui setiap 10 detik.</p>
<table>
<tr><th>No. lacak</th><th>Diterima</th><th>Instansi</th><th>No. tiket daerah</th>
<th>Kategori</th><th>Judul / isi</th><th>Pelapor</th><th>Status</th><th>Format</th></tr>
{body}
</table>
</body>
</html>
"""


async def run_sandbox(
    host: str,
    port: int,
    token: str,
    faults: Faults,
    *,
    stop: asyncio.Event,
    reports_file: Path | None = None,
) -> None:
    """Serve until `stop` is set (the CLI sets it on SIGTERM/SIGINT)."""
    sandbox = SandboxLapor(token, faults, reports_file=reports_file)
    runner = web.AppRunner(sandbox.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    kept = f"reports in {reports_file}" if reports_file else "reports in memory only"
    print(f"fake-lapor: LAPOR! sandbox on http://{host}:{port}/ ({kept}; {faults})", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
