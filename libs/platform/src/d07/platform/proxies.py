"""Who the client really is: `X-Forwarded-For` honoured only from the proxies the operator lists.

D07_TRUSTED_PROXIES (CIDRs, comma-separated; empty by default) names the proxies in front of a service (the
ingress controller's pods, say). A request from any other peer is its own client, whatever headers it sends.
A request from a trusted proxy is from the first address of its `X-Forwarded-For`, read from the right, that
is not itself a trusted proxy: a client cannot push its own entries past the proxy's appended one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDED_FOR = "x-forwarded-for"


def parse_networks(value: str | Iterable[str]) -> tuple[Network, ...]:
    """The networks of a comma-separated list (or an iterable) of CIDRs or addresses; ValueError naming a bad
    one."""
    items = value.split(",") if isinstance(value, str) else list(value)
    networks: list[Network] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not a CIDR or an address: {item!r}") from None
    return tuple(networks)


class TrustedProxies:
    """The proxies whose `X-Forwarded-For` is believed."""

    def __init__(self, networks: Sequence[Network] = ()) -> None:
        self.networks = tuple(networks)

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """The real client's address of a request from `peer` carrying `forwarded_for` (the header's
        value, all of its lines joined with commas)."""
        if not forwarded_for or not self.networks or not self.trusts(peer):
            return peer
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        client = peer
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                break  # garbage in the chain: believe nothing left of it
            client = hop
            if not self.trusts(hop):
                break
        return client
