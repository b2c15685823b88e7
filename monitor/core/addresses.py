"""Which addresses a feed added at run time may not point at.

A feed added through the API or ``newsmon feeds add`` is fetched by the
service from where it runs: one that resolves to this machine, the private
network around it or the cloud's metadata address would let whoever can add
feeds read what only the service can reach (server-side request forgery). So
such a feed is refused unless ``fetch.allow_private_networks`` is set; the
config's own feeds are the operator's and always allowed.

Pure: addresses in, a reason out. Resolving the host is the caller's
(``monitor.feeds.manage``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# In order: the first that applies names the address (127.0.0.1 is private
# too, but "loopback" says more).
_KINDS: tuple[tuple[str, Callable[[IPAddress], bool]], ...] = (
    ("loopback", lambda ip: ip.is_loopback),
    ("unspecified", lambda ip: ip.is_unspecified),
    ("link-local", lambda ip: ip.is_link_local),
    ("multicast", lambda ip: ip.is_multicast),
    ("reserved", lambda ip: ip.is_reserved),
    ("private", lambda ip: ip.is_private),
    # what is left and still not reachable from the internet: shared address
    # space (100.64.0.0/10, carrier-grade NAT), IPv6 site-local…
    ("non-public", lambda ip: not ip.is_global),
)


def parse_address(text: str) -> IPAddress:
    """An address as ``getaddrinfo`` gives it (an IPv6 one may carry ``%scope``)."""
    return ipaddress.ip_address(text.split("%", 1)[0])


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: IPv4-mapped (``::ffff:a.b.c.d``,
    which the kernel connects to over IPv4) or 6to4 (``2002:AABB:CCDD::``)."""
    if isinstance(ip, ipaddress.IPv6Address):
        return ip.ipv4_mapped or ip.sixtofour
    return None


def address_kind(ip: IPAddress) -> str | None:
    """Why a feed may not be fetched from ``ip`` ("loopback", "private",
    "link-local"…), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return address_kind(ip.ipv4_mapped)  # connected to over IPv4: only that counts
    inner = embedded_ipv4(ip)
    if inner is not None:
        kind = address_kind(inner)
        if kind is not None:
            return kind
    for kind, applies in _KINDS:
        if applies(ip):
            return kind
    return None


def refused_address(addresses: Iterable[str]) -> tuple[str, str] | None:
    """The first of a host's resolved ``addresses`` a feed may not point at,
    with its kind; None when every one is public. One bad address is enough:
    which one a connection takes is the resolver's choice."""
    for text in addresses:
        kind = address_kind(parse_address(text))
        if kind is not None:
            return text, kind
    return None
