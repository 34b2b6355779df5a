"""X-Forwarded-For is believed only from the proxies in D07_TRUSTED_PROXIES (issue 13 item 5): a client that
writes its own header is still itself, and behind a trusted proxy each real client has its own budget of the
public verification route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from d07.platform.devstack.procs import free_port, stop_process
from d07.platform.proxies import TrustedProxies, parse_networks
from d07.platform.settings import ServiceSettings
from tests.support.services import Endpoint, Platform, _start, wait_ready

PROXY = "127.0.0.2"  # a loopback address of its own: the "ingress" the awards process below trusts
PER_MINUTE = 5
VERIFY = "/v1/certificates/verify/ABCD-EFGH-JKLM"


def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy() -> None:
    proxies = TrustedProxies(parse_networks("10.0.0.0/8, fd00::/8,192.168.1.7"))
    assert proxies.client("203.0.113.5", "1.2.3.4") == "203.0.113.5"  # not a proxy: its header is ignored
    assert proxies.client("10.1.2.3", "198.51.100.9") == "198.51.100.9"
    # A client's own entries stay left of what the proxy appended: the rightmost untrusted hop is the client.
    assert proxies.client("10.1.2.3", "1.2.3.4, 198.51.100.9") == "198.51.100.9"
    assert proxies.client("10.1.2.3", "198.51.100.9, 192.168.1.7") == "198.51.100.9"  # two proxies
    assert proxies.client("10.1.2.3", "1.2.3.4, garbage, 198.51.100.9") == "198.51.100.9"
    assert proxies.client("10.1.2.3", "garbage") == "10.1.2.3"
    assert proxies.client("10.1.2.3", None) == "10.1.2.3"
    assert proxies.client("fd00::1", "2001:db8::7") == "2001:db8::7"
    assert TrustedProxies().client("10.1.2.3", "198.51.100.9") == "10.1.2.3"  # none by default


def test_a_bad_cidr_fails_at_start() -> None:
    assert ServiceSettings(trusted_proxies="10.0.0.0/8,::1").trusted_proxies == "10.0.0.0/8,::1"
    with pytest.raises(ValueError, match="not a CIDR"):
        ServiceSettings(trusted_proxies="10.0.0.0/8,ingress")


@pytest.fixture(scope="module")
def awards(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """An awards process of its own (a fresh rate limit) that trusts PROXY."""
    env = dict(
        platform.env, D07_TRUSTED_PROXIES=f"{PROXY}/32", D07_CERTIFICATE_VERIFY_PER_MINUTE=str(PER_MINUTE)
    )
    ep = Endpoint("awards", free_port(), free_port())
    _start(ep, env, Path(tmp_path_factory.mktemp("proxied")))
    try:
        wait_ready([ep])
        yield ep
    finally:
        assert ep.proc is not None
        stop_process(ep.proc, timeout=15)


def statuses(url: str, *, source: str, forwarded: list[str]) -> list[int]:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=10) as client:
        return [client.get(url, headers={"X-Forwarded-For": f}).status_code for f in forwarded]


def test_spoofed_forwarded_addresses_from_an_untrusted_client_are_still_limited(awards: Endpoint) -> None:
    spoofed = [f"198.51.100.{i}" for i in range(60)]
    answers = statuses(awards.url + VERIFY, source="127.0.0.1", forwarded=spoofed)
    assert answers[:PER_MINUTE] == [200] * PER_MINUTE
    assert answers[PER_MINUTE:] == [429] * (60 - PER_MINUTE)


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(awards: Endpoint) -> None:
    url = awards.url + VERIFY
    first = statuses(url, source=PROXY, forwarded=["203.0.113.7"] * (PER_MINUTE + 1))
    assert first == [200] * PER_MINUTE + [429]
    # Another citizen behind the same proxy, even one who writes the first client's address itself.
    second = statuses(url, source=PROXY, forwarded=["203.0.113.7, 203.0.113.8"] * PER_MINUTE)
    assert second == [200] * PER_MINUTE
