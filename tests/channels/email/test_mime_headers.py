"""parse_mail's memoized header parsing reads every mail as policy.default itself does."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest

from channels.email import mime
from channels.email.mime import AttachmentLimits, parse_mail

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "email"
MAILS = sorted(p for p in FIXTURES.rglob("*") if p.is_file())
LIMITS = AttachmentLimits(max_bytes=5_000_000, allowed_types=("image/jpeg", "image/png"))


@pytest.mark.parametrize("path", MAILS, ids=lambda p: p.name)
def test_every_fixture_reads_as_with_the_default_policy(path: Path) -> None:
    raw = path.read_bytes()
    plain = email.message_from_bytes(raw, policy=policy.default)
    expected = mime._parse(plain, raw, LIMITS)  # type: ignore[arg-type]
    assert parse_mail(raw, LIMITS) == expected
    assert parse_mail(raw, LIMITS) == expected  # again, now from the memo


def test_a_second_mail_with_the_same_headers_parses_none_of_them_again() -> None:
    raw = (FIXTURES / "gmail_reply_qp.eml").read_bytes()
    parse_mail(raw, LIMITS)
    before = mime._parsed_header.cache_info()
    parse_mail(raw.replace(b"Message-ID: <", b"Message-ID: <other-"), LIMITS)
    after = mime._parsed_header.cache_info()
    assert after.misses - before.misses == 1  # the new Message-ID only
    assert after.hits > before.hits


def test_a_huge_header_is_parsed_but_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    memoized: list[str] = []
    original = mime._parsed_header

    def recording(name: str, value: str) -> object:
        memoized.append(value)
        return original(name, value)

    monkeypatch.setattr(mime, "_parsed_header", recording)
    subject = "jalan rusak " * 500  # 6,000 characters
    raw = f"From: a@b.id\r\nSubject: {subject}\r\n\r\nisi aduan\r\n".encode()
    parsed = parse_mail(raw, LIMITS)
    assert not isinstance(parsed, mime.MailRejection)
    assert parsed.subject == " ".join(subject.split())[: mime.MAX_HEADER_CHARS]
    assert memoized and max(len(v) for v in memoized) <= mime._MEMO_MAX_CHARS
