"""`xml` mode: the legacy `addstream` XML of design §5.

    <lapor token="…">
      <pelapor><nama/><telepon/><email/><twitter/></pelapor>      (absent when anonymous)
      <laporan rahasia="0|1" anonim="0|1" kategori instansi ref kunci>
        <judul/><isi/><sumber/><tanggal/>
      </laporan>
    </lapor>

answered by `<lapor><status>ok</status><trackingid>1234567</trackingid></lapor>`.
The document is built with ElementTree (so every value is escaped) and answers are parsed
with defusedxml (no entity expansion, no external DTDs).
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from gateway.lapor.client import Report, RetryableError, error_for_status, snippet
from gateway.lapor.config import LaporConfig
from gateway.lapor.http import HttpTransport


class XmlClient:
    def __init__(self, cfg: LaporConfig):
        self.cfg = cfg
        self.transport = HttpTransport(cfg.timeout_s)

    @property
    def supports_status(self) -> bool:
        return False

    def document(self, report: Report, idempotency_key: str) -> bytes:
        root = ET.Element("lapor", token=self.cfg.token)
        if report.reporter is not None and not report.anonymous:
            pelapor = ET.SubElement(root, "pelapor")
            for tag, value in (
                ("nama", report.reporter.name),
                ("telepon", report.reporter.phone),
                ("email", report.reporter.email),
                ("twitter", report.reporter.twitter),
            ):
                if value:
                    ET.SubElement(pelapor, tag).text = value
        laporan = ET.SubElement(
            root,
            "laporan",
            rahasia="1" if report.confidential else "0",
            anonim="1" if report.anonymous else "0",
            kategori=report.category,
            instansi=report.institution_id,
            ref=report.tracking_ref,
            kunci=idempotency_key,
        )
        ET.SubElement(laporan, "judul").text = report.subject
        ET.SubElement(laporan, "isi").text = report.text
        ET.SubElement(laporan, "sumber").text = report.channel
        ET.SubElement(laporan, "tanggal").text = report.received_at
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)

    async def send(self, report: Report, idempotency_key: str) -> str:
        status, text, retry_after = await self.transport.request(
            "POST",
            self.cfg.base_url + self.cfg.xml_path,
            headers={
                "Content-Type": "application/xml; charset=utf-8",
                "Idempotency-Key": idempotency_key,
            },
            body=self.document(report, idempotency_key),
        )
        if not 200 <= status < 300:
            raise error_for_status(status, text, retry_after)
        return parse_tracking_id(text)

    async def status(self, tracking_id: str) -> str:
        raise NotImplementedError("the addstream XML API has no status call")

    async def close(self) -> None:
        await self.transport.close()


def parse_tracking_id(text: str) -> str:
    """The tracking id from an addstream answer; anything else is an unreadable answer."""
    try:
        root = SafeET.fromstring(text)
    except (ET.ParseError, DefusedXmlException, ValueError):
        raise RetryableError(f"answer is not valid XML: {snippet(text)}") from None
    tracking_id = (root.findtext(".//trackingid") or "").strip()
    if not tracking_id:
        raise RetryableError(f"answer has no <trackingid>: {snippet(text)}")
    return tracking_id
