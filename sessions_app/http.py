"""Who is on the other end of a request: the one place that decides a client's address.

Behind a load balancer every request arrives from the balancer. Only proxies named in TRUSTED_PROXIES
(`DJANGO_TRUSTED_PROXIES`) are believed about who they forward for: the client is the first address in
`X-Forwarded-For` that is not a trusted proxy, read from the right (each proxy appends the peer it saw, so
the entries left of the first untrusted one were written by the client and prove nothing). A request from any
other peer is that peer, whatever headers it sends. The audit trail, the sign-in limits and the log lines all
use this address.
"""
from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

if TYPE_CHECKING:  # imported by the logging set-up, before the apps are ready: no DRF or models at run time
    from django.contrib.auth.models import User
    from rest_framework.request import Request


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a page behind login_required: its user is signed in (never AnonymousUser). For the
    type checker only; Django builds plain HttpRequests."""

    user: User


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# More hops than any real chain of proxies; a longer header is read no further than this from the right.
MAX_FORWARDED_HOPS = 20


def client_address(request: HttpRequest | Request) -> str:
    """The client's IP address as text: the first untrusted hop of X-Forwarded-For when the peer is a trusted
    proxy, the peer's own address (REMOTE_ADDR) otherwise. Never raises; garbage in the header is not believed."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    networks = trusted_proxy_networks()
    if not networks:  # no proxy is believed: the peer is the client, whatever it is (nothing to parse)
        return remote
    peer = _parse(remote)
    if peer is None or not _trusted(peer, networks):
        return remote
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    hops = [hop.strip() for hop in forwarded.split(",")][-MAX_FORWARDED_HOPS:]
    nearest = peer
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            # Not an address a proxy would write: the client wrote it, so the hop nearer to us is the client.
            break
        nearest = address
        if not _trusted(address, networks):
            break
    return str(nearest)


def trusted_proxy_networks() -> tuple[Network, ...]:
    """TRUSTED_PROXIES parsed. Raises ImproperlyConfigured naming an entry that is not an address or network."""
    return _networks(tuple(settings.TRUSTED_PROXIES))


@functools.lru_cache(maxsize=8)
def _networks(entries: Iterable[str]) -> tuple[Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"DJANGO_TRUSTED_PROXIES: {entry!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)."
            ) from None
    return tuple(networks)


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def _parse(text: str) -> Address | None:
    """An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or `[2001:db8::1]:4711`;
    IPv4-mapped IPv6 as IPv4. None for anything else (`unknown`, names, empty)."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
