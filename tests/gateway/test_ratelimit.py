"""The request budget and whom it is counted against."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from aiohttp.test_utils import make_mocked_request
from hypothesis import given
from hypothesis import strategies as st

from gateway.http_common import client_address
from gateway.ratelimit import RateLimiter


def test_a_burst_then_one_request_per_interval() -> None:
    limiter = RateLimiter(per_minute=6)  # one every 10 s once the burst is spent
    assert [limiter.allow("a", now=0.0)[0] for _ in range(6)] == [True] * 6
    assert limiter.allow("a", now=0.0) == (False, 10)
    assert limiter.allow("a", now=4.0) == (False, 6)
    assert limiter.allow("b", now=4.0) == (True, 0)  # every key has its own bucket
    assert limiter.allow("a", now=10.0)[0] is True
    assert limiter.allow("a", now=10.5)[0] is False


@given(st.lists(st.floats(min_value=0, max_value=600), min_size=1, max_size=300))
def test_one_burst_then_the_rate(times: list[float]) -> None:
    """In any span of T seconds at most one burst plus T seconds' worth pass. Fixed
    windows let two bursts through back to back across a window boundary."""
    limiter = RateLimiter(per_minute=5)
    allowed = [t for t in sorted(times) if limiter.allow("k", now=t)[0]]
    for i, start in enumerate(allowed):
        for j in range(i, len(allowed)):
            assert j - i + 1 <= 5 + (allowed[j] - start) * 5 / 60 + 1e-9


def request(peer: str, forwarded: str | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    req = make_mocked_request("GET", "/", headers=headers)
    return req.clone(remote=peer)


PROXIES = (ip_network("10.0.0.0/8"), ip_network("::1/128"))
CLIENT_ADDRESSES = [
    # label, peer, X-Forwarded-For, trusted proxies, client address
    ("no proxy configured: XFF ignored", "203.0.113.5", "198.51.100.1", (), "203.0.113.5"),
    ("untrusted peer: XFF ignored", "203.0.113.5", "198.51.100.1", PROXIES, "203.0.113.5"),
    ("trusted proxy, no XFF", "10.0.0.2", None, PROXIES, "10.0.0.2"),
    ("behind one proxy", "10.0.0.2", "198.51.100.1", PROXIES, "198.51.100.1"),
    ("spoofed left of the real hop", "10.0.0.2", "1.2.3.4, 198.51.100.1", PROXIES, "198.51.100.1"),
    ("two trusted proxies", "10.0.0.2", "198.51.100.1, 10.0.0.9", PROXIES, "198.51.100.1"),
    ("IPv6 proxy", "::1", "2001:db8::7", PROXIES, "2001:db8::7"),
    ("garbled hop stops the walk", "10.0.0.2", "198.51.100.1, bukan-ip", PROXIES, "10.0.0.2"),
    ("only proxies listed", "10.0.0.2", "10.0.0.3", PROXIES, "10.0.0.3"),
]


@pytest.mark.parametrize(
    "label,peer,forwarded,proxies,expected",
    CLIENT_ADDRESSES,
    ids=[c[0] for c in CLIENT_ADDRESSES],
)
def test_client_address(label, peer, forwarded, proxies, expected) -> None:
    assert client_address(request(peer, forwarded), proxies) == expected


def test_memory_is_bounded_and_the_longest_idle_client_is_forgotten(monkeypatch) -> None:
    monkeypatch.setattr("gateway.ratelimit.MAX_KEYS", 3)
    limiter = RateLimiter(per_minute=1)
    for t, key in enumerate(["a", "b", "c"]):
        limiter.allow(key, now=float(t))
    assert limiter.allow("a", now=3.0)[0] is False  # "a" is the most recently seen now
    limiter.allow("d", now=4.0)  # a fourth client: "b", idle longest, is forgotten
    assert limiter.allow("b", now=5.0)[0] is True
    assert limiter.allow("a", now=5.0)[0] is False


def test_trusted_proxies_are_checked_at_load() -> None:
    from pydantic import ValidationError

    from gateway.settings import HttpSection

    assert HttpSection(trusted_proxies=["10.0.0.1", "fd00::/8"]).trusted_proxies == (
        ip_network("10.0.0.1/32"),
        ip_network("fd00::/8"),
    )
    with pytest.raises(ValidationError, match="not an IP address or network: 'proksi'"):
        HttpSection(trusted_proxies=["10.0.0.0/8", "proksi"])


def test_trusted_proxies_load_from_the_config_file(tmp_path) -> None:
    """Through the strict loader, as gateway.toml is read (not only the model's own init)."""
    from gateway.settings import load_settings
    from tests.support import write_config

    path = write_config(tmp_path, "sqlite+aiosqlite:///x.db")
    text = path.read_text(encoding="utf-8").replace(
        "[http]\n", '[http]\ntrusted_proxies = ["127.0.0.1", "10.0.0.0/8", "::1"]\n', 1
    )
    path.write_text(text, encoding="utf-8")
    assert load_settings(path).http.trusted_proxies == (
        ip_network("127.0.0.1/32"),
        ip_network("10.0.0.0/8"),
        ip_network("::1/128"),
    )
