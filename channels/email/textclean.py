"""Cut what the citizen did not write for this complaint: quoted replies and signatures.

Mail clients quote in a few recognisable ways: "> " lines, an attribution line ("Pada Sen,
3 Jun 2024 pukul 10.15, Budi <budi@...> menulis:" from Gmail in Indonesian, "On ... wrote:"
in English, often wrapped over two lines), Outlook's "-----Original Message-----" or
"-----Pesan Asli-----" block, and the "-- " signature separator of RFC 3676. Everything from
the first of these on is dropped. If that would leave nothing, the text is kept whole:
a complaint pasted as a quote is still a complaint.
"""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"^\s*(pada|on|am|le)\b.{0,200}\b(menulis|wrote|schrieb|a écrit)\s*:\s*$",
    re.IGNORECASE,
)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|pesan asli|pesan yang diteruskan|forwarded message)\s*-{2,}",
    re.IGNORECASE,
)
# Outlook without a separator: "From: ..." followed shortly by "Sent: ..." / "Dikirim: ...".
_OUTLOOK_FROM = re.compile(r"^\s*(from|dari)\s*:", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(r"^\s*(sent|dikirim|date|tanggal)\s*:", re.IGNORECASE)
_MOBILE_FOOTER = re.compile(
    r"^\s*(sent from my|dikirim dari|get outlook for|kirim dari)\b.{0,60}$", re.IGNORECASE
)


def trim_reply(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    cut = _cut_index(lines)
    kept = lines[:cut]
    kept = [line for line in kept if not line.lstrip().startswith(">")]
    while kept and not kept[-1].strip():
        kept.pop()
    if kept and _MOBILE_FOOTER.match(kept[-1]):
        kept.pop()
    result = "\n".join(kept).strip()
    return result if result else text.strip()


def _cut_index(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        stripped = line.rstrip()
        if stripped == "--":
            return i
        if _ORIGINAL.match(line):
            return i
        if _ATTRIBUTION.match(line):
            return i
        # Gmail wraps a long attribution: "Pada ... Budi <" / "budi@x.id> menulis:".
        if i + 1 < len(lines) and _ATTRIBUTION.match(f"{stripped} {lines[i + 1].strip()}"):
            if re.match(r"^\s*(pada|on)\b", line, re.IGNORECASE):
                return i
        if _OUTLOOK_FROM.match(line) and any(
            _OUTLOOK_SENT.match(nxt) for nxt in lines[i + 1 : i + 4]
        ):
            return i
    return len(lines)
