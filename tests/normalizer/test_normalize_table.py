"""normalize() on real-looking Indonesian messages, one row per case.

Every row states the outcome and the fields: region, text, flags (anonymous, confidential),
reporter phone and category; some add the subject, a note (or rejection detail) and other
reporter fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from normalizer import Category, Channel, Limits, Normalized, Rejection, RejectReason, normalize
from normalizer.types import Reporter
from tests.normalizer.cases import (
    PHONE_E164,
    REGIONS,
    SHORT_CODE,
    api,
    email,
    sms,
    telegram,
    tweet,
    whatsapp,
)

P = Category.PENGADUAN
A = Category.ASPIRASI
INFO = Category.PERMINTAAN_INFORMASI
LIMITS = Limits(max_text_chars=2000, min_text_chars=3, subject_chars=40)


@dataclass(frozen=True)
class Expect:
    outcome: str  # "accepted" or a RejectReason value
    region: str | None
    text: str
    flags: tuple[bool, bool] | None  # (anonymous, confidential); None for a rejection
    phone: str | None
    category: Category | None  # None for a rejection
    subject: str | None = None
    note: str | None = None  # part of a note (accepted; None = no notes) or of the detail
    email: str | None = None
    handle: str | None = None
    name: str | None = None


def ok(region: str, text: str, category: Category = P, *, phone: str | None = PHONE_E164,
       anon: bool = False, conf: bool = False, **extra: Any) -> Expect:  # fmt: skip
    return Expect("accepted", region, text, (anon, conf), phone, category, **extra)


def no(reason: RejectReason, region: str | None, text: str, *, phone: str | None = PHONE_E164,
       **extra: Any) -> Expect:  # fmt: skip
    return Expect(reason.value, region, text, None, phone, None, **extra)


U, EMPTY, SHORT, LONG = (
    RejectReason.UNROUTED, RejectReason.EMPTY_TEXT, RejectReason.TOO_SHORT, RejectReason.TOO_LONG
)  # fmt: skip
LONG_TEXT = "jalan rusak " * 200  # 2400 chars

ROWS = [
    # --- SMS: keyword forms -------------------------------------------------------------
    pytest.param(
        sms("AGAM jln rusak parah bgt"),
        ok("AGAM", "jln rusak parah bgt", subject="Jln rusak parah bgt"),
        id="sms-slang",
    ),
    pytest.param(
        sms("agam tlg dong lampu jln di simpang 4 mati udh 3 hr"),
        ok("AGAM", "tlg dong lampu jln di simpang 4 mati udh 3 hr"),
        id="sms-tlg-dong",
    ),
    pytest.param(
        sms("aGaM Sampah menumpuk di Pasar Lubuk Basung"),
        ok("AGAM", "Sampah menumpuk di Pasar Lubuk Basung"),
        id="sms-mixed-case",
    ),
    pytest.param(
        sms("AGAM#jalan berlubang di Jorong Koto Tuo"),
        ok("AGAM", "jalan berlubang di Jorong Koto Tuo"),
        id="sms-hash-separator",
    ),
    pytest.param(
        sms("agam:banjir setinggi lutut di Tiku"),
        ok("AGAM", "banjir setinggi lutut di Tiku"),
        id="sms-colon-lower",
    ),
    pytest.param(
        sms("AGAM. Air PDAM tidak mengalir 3 hari"),
        ok("AGAM", "Air PDAM tidak mengalir 3 hari"),
        id="sms-dot",
    ),
    pytest.param(
        sms("AGAM,pungli di kantor wali nagari"),
        ok("AGAM", "pungli di kantor wali nagari"),
        id="sms-comma",
    ),
    pytest.param(sms("AGAM - drainase tersumbat"), ok("AGAM", "drainase tersumbat"), id="sms-dash"),
    pytest.param(
        sms("  Agam   jalan   licin  berlumpur "),
        ok("AGAM", "jalan licin berlumpur"),
        id="sms-extra-spaces",
    ),
    pytest.param(
        sms("AGAM\njembatan gantung putus"),
        ok("AGAM", "jembatan gantung putus"),
        id="sms-newline-after-keyword",
    ),
    pytest.param(
        sms("AGAMjalan rusak di Matur"),
        ok("AGAM", "jalan rusak di Matur"),
        id="sms-glued-caps-keyword",
    ),
    pytest.param(
        sms("AGAM2 lampu jalan mati"), ok("AGAM", "2 lampu jalan mati"), id="sms-glued-digit"
    ),
    pytest.param(
        sms("PANDEGLANGjalan ke Labuan rusak"),
        ok("PDG", "jalan ke Labuan rusak"),
        id="sms-glued-long-keyword",
    ),
    pytest.param(
        sms("Agamjalan rusak"),
        no(U, None, "Agamjalan rusak", note='"Agamjalan"'),
        id="sms-glued-ambiguous",
    ),
    pytest.param(
        sms("AGAMA saya dihina tetangga"),
        no(U, None, "AGAMA saya dihina tetangga", note='"AGAMA"'),
        id="sms-word-starting-with-keyword",
    ),
    pytest.param(
        sms("BEBEJA saluran irigasi jebol"),
        ok("PDG", "saluran irigasi jebol"),
        id="sms-second-keyword",
    ),
    pytest.param(
        sms("surabaya: Banjir di Jl. Ahmad Yani. Mobil mogok"),
        ok("SBY", "Banjir di Jl. Ahmad Yani. Mobil mogok", subject="Banjir di Jl. Ahmad Yani"),
        id="sms-sby-abbreviation-subject",
    ),
    # --- SMS: flags ---------------------------------------------------------------------
    pytest.param(
        sms("AGAM RAHASIA ANONIM kepala jorong minta uang"),
        ok("AGAM", "kepala jorong minta uang", anon=True, conf=True, note="RAHASIA, ANONIM"),
        id="sms-rahasia-anonim",
    ),
    pytest.param(
        sms("agam anonim rahasia guru sering bolos"),
        ok("AGAM", "guru sering bolos", anon=True, conf=True, note="RAHASIA, ANONIM"),
        id="sms-anonim-rahasia-lower",
    ),
    pytest.param(
        sms("AGAM Anonim: parkir liar di pasar"),
        ok("AGAM", "parkir liar di pasar", anon=True, note="ANONIM"),
        id="sms-anonim-only",
    ),
    pytest.param(
        sms("AGAM#RAHASIA#oknum petugas minta pelicin"),
        ok("AGAM", "oknum petugas minta pelicin", conf=True, note="RAHASIA"),
        id="sms-rahasia-hash",
    ),
    pytest.param(
        sms("AGAM rahasiakan nama saya, jalan rusak"),
        ok("AGAM", "rahasiakan nama saya, jalan rusak"),
        id="sms-flag-lookalike",
    ),
    # --- SMS: empty, unknown, wrong short code -------------------------------------------
    pytest.param(sms("AGAM"), no(EMPTY, "AGAM", "", note="keyword AGAM"), id="sms-only-keyword"),
    pytest.param(sms("AGAM \u200b "), no(EMPTY, "AGAM", ""), id="sms-keyword-zero-width"),
    pytest.param(sms("AGAM RAHASIA anonim"), no(EMPTY, "AGAM", ""), id="sms-only-flags"),
    pytest.param(sms("   \r\n  "), no(EMPTY, None, ""), id="sms-whitespace"),
    pytest.param(
        sms("HALO min mau lapor jalan rusak"),
        no(U, None, "HALO min mau lapor jalan rusak", note='"HALO"'),
        id="sms-unknown-keyword",
    ),
    pytest.param(
        sms("081299998888 jalan rusak"),
        no(U, None, "081299998888 jalan rusak", note="first word is no"),
        id="sms-unknown-number-not-in-detail",
    ),
    pytest.param(
        sms("AGAM jalan rusak", recipient="1717"),
        no(RejectReason.WRONG_RECIPIENT, None, "AGAM jalan rusak", note="1708"),
        id="sms-wrong-short-code",
    ),
    pytest.param(
        sms("AGAM jalan rusak", recipient="+1708"),
        ok("AGAM", "jalan rusak"),
        id="sms-short-code-digits",
    ),
    pytest.param(sms("AGAM ok"), no(SHORT, "AGAM", "ok"), id="sms-too-short"),
    pytest.param(
        sms("AGAM " + LONG_TEXT),
        no(LONG, "AGAM", "jalan rusak " * 166 + "jalan…", note="2399 characters"),
        id="sms-too-long",
    ),
    # --- SMS: text cleanup --------------------------------------------------------------
    pytest.param(
        sms("AGAM\r\nJalan rusak\r\ndi Lubuk Basung\r\n"),
        ok("AGAM", "Jalan rusak\ndi Lubuk Basung"),
        id="sms-windows-line-ends",
    ),
    pytest.param(
        sms("\ufeffAGAM\u200b jalan\u200b rusak\ufeff"),
        ok("AGAM", "jalan rusak"),
        id="sms-zero-width-bom",
    ),
    pytest.param(
        sms("AGAM jalan\x00 rusak\x00\x07"), ok("AGAM", "jalan rusak"), id="sms-nul-bytes"
    ),
    pytest.param(
        sms("AGAM warung Cafe\u0301 buang limbah ke sungai"),
        ok("AGAM", "warung Caf\u00e9 buang limbah ke sungai"),
        id="sms-combining-nfc",
    ),
    pytest.param(
        sms("AGAM jalan rusak 😡😡 tolong diperbaiki 🙏🏽"),
        ok("AGAM", "jalan rusak 😡😡 tolong diperbaiki 🙏🏽"),
        id="sms-emoji",
    ),
    pytest.param(
        sms("AGAM 👨\u200d👩\u200d👧 keluarga kami tidak dapat bansos"),
        ok("AGAM", "👨\u200d👩\u200d👧 keluarga kami tidak dapat bansos"),
        id="sms-emoji-zwj-sequence-kept",
    ),
    # --- SMS: phone formats -------------------------------------------------------------
    pytest.param(
        sms("AGAM jalan rusak", sender="6281234567890"), ok("AGAM", "jalan rusak"), id="phone-62"
    ),
    pytest.param(
        sms("AGAM jalan rusak", sender="+62 812-3456-7890"),
        ok("AGAM", "jalan rusak"),
        id="phone-plus-dashes",
    ),
    pytest.param(
        sms("AGAM jalan rusak", sender="81234567890"),
        ok("AGAM", "jalan rusak"),
        id="phone-no-trunk-zero",
    ),
    pytest.param(
        sms("AGAM jalan rusak", sender="TELKOMSEL"),
        ok("AGAM", "jalan rusak", phone=None, note="not valid"),
        id="phone-alphanumeric-sender",
    ),
    # --- SMS: category ------------------------------------------------------------------
    pytest.param(
        sms("AGAM usul dibangun taman bermain di nagari"),
        ok("AGAM", "usul dibangun taman bermain di nagari", A),
        id="cat-usul",
    ),
    pytest.param(
        sms("AGAM sebaiknya lampu merah di simpang dipasang timer"),
        ok("AGAM", "sebaiknya lampu merah di simpang dipasang timer", A),
        id="cat-sebaiknya",
    ),
    pytest.param(
        sms("AGAM mau tanya syarat bikin KTP"),
        ok("AGAM", "mau tanya syarat bikin KTP", INFO),
        id="cat-tanya",
    ),
    pytest.param(
        sms("AGAM bagaimana cara urus akta kelahiran"),
        ok("AGAM", "bagaimana cara urus akta kelahiran", INFO),
        id="cat-bagaimana",
    ),
    pytest.param(
        sms("AGAM kapan jalan ke Maninjau diperbaiki?"),
        ok("AGAM", "kapan jalan ke Maninjau diperbaiki?", INFO),
        id="cat-question",
    ),
    pytest.param(
        sms("AGAM jalan di sarana olahraga rusak"),
        ok("AGAM", "jalan di sarana olahraga rusak", P),
        id="cat-sarana-not-saran",
    ),
    # --- Twitter ------------------------------------------------------------------------
    pytest.param(
        tweet("Lampu jalan mati di Jl. Sudirman #aduanagam"),
        ok(
            "AGAM",
            "Lampu jalan mati di Jl. Sudirman",
            phone=None,
            handle="warga_lubukbasung",
            name="Warga Agam",
        ),
        id="tweet-hashtag-end",
    ),
    pytest.param(
        tweet("#AduanAgam jalan longsor di Malalak 😱"),
        ok("AGAM", "jalan longsor di Malalak 😱", phone=None),
        id="tweet-mixed-case",
    ),
    pytest.param(
        tweet(
            "@bupatiagam @kominfo_agam Sampah gak diangkut seminggu #ADUANAGAM "
            "https://t.co/AbC123xyz"
        ),
        ok("AGAM", "Sampah gak diangkut seminggu", phone=None),
        id="tweet-mentions-tco",
    ),
    pytest.param(
        tweet("Jalan rusak, mohon @dinaspu cek #aduanagam #aduansurabaya"),
        ok(
            "AGAM",
            "Jalan rusak, mohon @dinaspu cek #aduansurabaya",
            phone=None,
            note="also matched #aduansurabaya (SBY)",
        ),
        id="tweet-two-regions",
    ),
    pytest.param(
        tweet(
            "Banjir di Rungkut #AduanSurabaya #infosby",
            meta={
                "hashtags": [
                    {"start": 34, "end": 41, "tag": "infosby"},
                    {"start": 19, "end": 33, "tag": "AduanSurabaya"},
                ]
            },
        ),
        ok("SBY", "Banjir di Rungkut #infosby", phone=None),
        id="tweet-entities",
    ),
    pytest.param(
        tweet("#aduanagam https://t.co/xyz987"),
        no(EMPTY, "AGAM", "", phone=None),
        id="tweet-only-hashtag",
    ),
    pytest.param(
        tweet("#jalanrusak di kota kami"),
        no(U, None, "#jalanrusak di kota kami", phone=None, note="hashtag"),
        id="tweet-no-region-hashtag",
    ),
    # --- E-mail -------------------------------------------------------------------------
    pytest.param(
        email(
            "Jalan di Jorong Koto rusak.",
            to="Aduan Agam <ADUAN@agamkab.go.id>",
            subject="Re: Jalan rusak di Jorong Koto",
        ),
        ok(
            "AGAM",
            "Jalan di Jorong Koto rusak.",
            phone=None,
            subject="Jalan rusak di Jorong Koto",
            email="budi.santoso@gmail.com",
            name="Budi Santoso",
        ),
        id="email-name-addr-upper",
    ),
    pytest.param(
        email("Mohon ditindak.", to="info@contoh.id, Lapor <LAPOR@Pandeglangkab.go.id>"),
        ok("PDG", "Mohon ditindak.", phone=None),
        id="email-several-recipients",
    ),
    pytest.param(
        email("Sampah liar di pinggir jalan", to="aduan@surabaya.go.id, aduan@agamkab.go.id"),
        ok(
            "SBY",
            "Sampah liar di pinggir jalan",
            phone=None,
            note="also addressed to aduan@agamkab.go.id (AGAM)",
        ),
        id="email-two-regions",
    ),
    pytest.param(
        email("Halo admin", to="humas@contoh.id"),
        no(U, None, "Halo admin", phone=None, note="recipient"),
        id="email-unrouted",
    ),
    pytest.param(
        email("Pelayanan puskesmas lambat", to="humas@contoh.id", region_hint="SBY"),
        ok("SBY", "Pelayanan puskesmas lambat", phone=None),
        id="email-region-hint",
    ),
    pytest.param(
        email(
            "Yth. Bapak Bupati,\r\n\r\n\r\n\r\nSaluran air   tersumbat.\r\n\r\nSalam",
            sender="siti@yahoo.co.id",
        ),
        ok(
            "AGAM",
            "Yth. Bapak Bupati,\n\nSaluran air tersumbat.\n\nSalam",
            phone=None,
            subject="Yth. Bapak Bupati,",
            email="siti@yahoo.co.id",
        ),
        id="email-paragraphs-derived-subject",
    ),
    # --- JSON API / web -----------------------------------------------------------------
    pytest.param(
        api(
            "Jalan desa rusak berat sejak 2023",
            anonymous=True,
            reporter=Reporter(
                name="  Rina  Marlina ", phone="0812 3456 7890", email="RINA@Example.COM"
            ),
        ),
        ok(
            "AGAM",
            "Jalan desa rusak berat sejak 2023",
            anon=True,
            email="rina@example.com",
            name="Rina Marlina",
        ),
        id="api-reporter-anonymous",
    ),
    pytest.param(
        api("Pembuatan KK lama sekali", region="pdg", confidential=True),
        ok("PDG", "Pembuatan KK lama sekali", phone=None, conf=True),
        id="api-region-lower-confidential",
    ),
    pytest.param(
        api("Apakah ada bantuan pupuk?", category_hint=Category.ASPIRASI),
        ok("AGAM", "Apakah ada bantuan pupuk?", A, phone=None),
        id="api-category-hint",
    ),
    pytest.param(
        api("Jalan rusak", reporter=Reporter(phone="12345")),
        ok("AGAM", "Jalan rusak", phone=None, note="not valid"),
        id="api-invalid-phone",
    ),
    pytest.param(
        api("Jalan rusak", region="PADANG"),
        no(RejectReason.UNKNOWN_REGION, None, "Jalan rusak", phone=None, note="PADANG"),
        id="api-unknown-region",
    ),
    pytest.param(
        api("Jalan rusak", region=None, channel=Channel.WEB),
        no(U, None, "Jalan rusak", phone=None, note="no region"),
        id="web-no-region",
    ),
    # --- WhatsApp and Telegram: the SMS keyword rules, or the region's own number ----------
    pytest.param(
        whatsapp("AGAM jalan rusak di depan SD 05 Lubuk Basung"),
        ok("AGAM", "jalan rusak di depan SD 05 Lubuk Basung", name="Budi"),
        id="whatsapp-keyword-phone-from-sender",
    ),
    pytest.param(
        whatsapp("Lampu jalan mati sejak seminggu", region_hint="PDG"),
        ok("PDG", "Lampu jalan mati sejak seminggu"),
        id="whatsapp-region-number",
    ),
    pytest.param(
        whatsapp("halo pak, jalan rusak"),
        no(U, None, "halo pak, jalan rusak", note="keyword"),
        id="whatsapp-no-keyword",
    ),
    pytest.param(
        telegram("SBY RAHASIA pungli di kelurahan"),
        ok("SBY", "pungli di kelurahan", phone=None, conf=True, name="Siti", note="RAHASIA"),
        id="telegram-keyword-rahasia",
    ),
]


@pytest.mark.parametrize(("raw", "want"), ROWS)
def test_normalize(raw, want: Expect) -> None:
    got = normalize(raw, REGIONS, short_code=SHORT_CODE, limits=LIMITS)

    if want.outcome == "accepted":
        assert isinstance(got, Normalized), got
        assert (got.anonymous, got.confidential) == want.flags
        assert got.category == want.category
        if want.subject is not None:
            assert got.subject == want.subject
        if want.note is None:
            assert got.notes == ()
        else:
            assert any(want.note in n for n in got.notes), got.notes
    else:
        assert isinstance(got, Rejection), got
        assert got.reason.value == want.outcome
        if want.note is not None:
            assert want.note in got.detail
    assert got.region_code == want.region
    assert got.text == want.text
    assert got.reporter.phone == want.phone
    if want.email is not None:
        assert got.reporter.email == want.email
    if want.handle is not None:
        assert got.reporter.twitter_handle == want.handle
    if want.name is not None:
        assert got.reporter.name == want.name


def test_table_is_big_enough() -> None:
    assert len(ROWS) >= 45
