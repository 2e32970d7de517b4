"""GeoReport v2 bodies in both formats: JSON as is, XML by the spec's Spark convention
(a list is an element whose children are named for one item; true/false as text; a null
value is an empty element)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from aiohttp import web

FORMATS = ("xml", "json")
# A list element's children: <services><service/>, <service_requests><request/>, ...
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
# Characters XML 1.0 cannot carry at all (C0 controls but tab, LF, CR; lone surrogates...).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("\ufffd", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list | tuple):
        item = ITEM_NAMES[element.tag]
        for child in value:
            _fill(ET.SubElement(element, item), child)
    else:
        element.text = _text(value)


def to_xml(root: str, data: Any) -> str:
    element = ET.Element(root)
    _fill(element, data)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="unicode")


def render(fmt: str, root: str, data: Any, status: int = 200) -> web.Response:
    """`root` names the XML document element; JSON has none (the spec's JSON is the list)."""
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False)
        return web.Response(
            text=body, status=status, content_type="application/json", charset="utf-8"
        )
    return web.Response(
        text=to_xml(root, data), status=status, content_type="text/xml", charset="utf-8"
    )


def error_body(status: int, descriptions: list[str]) -> list[dict[str, Any]]:
    """The spec's error list: the HTTP status as `code`, one entry per problem."""
    return [{"code": status, "description": d} for d in descriptions]


def render_errors(fmt: str, status: int, descriptions: list[str]) -> web.Response:
    return render(fmt, "errors", error_body(status, descriptions), status=status)
