"""Whatever text a request carries, the XML we answer is well-formed and says the same."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from channels.open311.formats import to_xml


@given(text=st.text(), number=st.floats(allow_nan=False), flag=st.booleans())
def test_xml_is_well_formed_for_any_text(text: str, number: float, flag: bool) -> None:
    body = [{"description": text, "lat": number, "metadata": flag, "media_url": None}]
    root = ET.fromstring(to_xml("service_requests", body).encode())
    (request,) = root.findall("request")
    kept = request.findtext("description") or ""
    # Characters XML cannot carry become U+FFFD; everything else survives, CR as LF
    # (XML parsers normalise line ends).
    assert len(kept) == len(text.replace("\r\n", "\n"))
    assert request.findtext("metadata") == ("true" if flag else "false")
    assert float(request.findtext("lat")) == number
    assert request.find("media_url").text is None


def test_lists_are_named_for_their_items() -> None:
    body = {"service_code": "a", "attributes": [{"values": [{"key": "k", "name": "n"}]}]}
    root = ET.fromstring(to_xml("service_definition", body).encode())
    assert root.findtext("attributes/attribute/values/value/key") == "k"
