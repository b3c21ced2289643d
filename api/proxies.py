"""Who the client is: the peer's address, or what a trusted proxy says in ``X-Forwarded-For``.

``TRACEMARK_TRUSTED_PROXIES`` lists the addresses and networks of the reverse proxies in
front of the service (none by default). ``X-Forwarded-For`` is read only when the direct
peer is one of them, from the right: each hop added by a trusted proxy is believed, and the
first address that is not a trusted proxy is the client. Anything a client writes into the
header itself sits to the left of that address and is never read, so spoofing it changes
nothing: not the rate limiter's key, not the device hash kept with scans.

The service does not let uvicorn rewrite the client address (``tracemark serve`` runs it
with ``proxy_headers=False``): uvicorn trusts ``X-Forwarded-For`` from 127.0.0.1 by default,
so any local client could claim any address.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence

from ledger.errors import InvalidInput

__all__ = ["Network", "client_address", "parse_trusted_proxies"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_MAX_HOPS = 16  # hops of X-Forwarded-For read at most: a proxy chain is short


def parse_trusted_proxies(
    text: str, name: str = "TRACEMARK_TRUSTED_PROXIES"
) -> tuple[Network, ...]:
    """Addresses and networks (``10.0.0.5``, ``172.18.0.0/16``, ``::1``) separated by commas
    or whitespace; a value that is not one stops the service from starting."""
    found: list[Network] = []
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise InvalidInput(f"{name}: {item!r} is not an IP address or network (CIDR)") from None
        if network not in found:
            found.append(network)
    return tuple(found)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in proxies)


def client_address(peer: str, forwarded: Iterable[bytes], proxies: Sequence[Network]) -> str:
    """The client's address: ``peer`` itself unless it is a trusted proxy; then the nearest
    address in the ``X-Forwarded-For`` values (``forwarded``, in header order) that is not."""
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [
        hop.strip()
        for value in forwarded
        for hop in value.decode("latin-1").split(",")
        if hop.strip()
    ]
    client = peer
    for hop in reversed(hops[-_MAX_HOPS:]):
        if not _trusted(client, proxies):
            break
        parsed = _address(hop)
        if parsed is None:  # garbage from the hop before: believe no further
            break
        client = str(parsed)
    return client
