"""Which addresses a feed added at run time may point at: public ones only."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.addresses import address_kind, parse_address, refused_address

PRIVATE_V4 = [
    ipaddress.ip_network(n)
    for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")
]


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("::ffff:192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("fe80::1%eth0", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
    ],
)
def test_a_non_public_address_is_named_by_its_kind(address: str, kind: str) -> None:
    assert address_kind(parse_address(address)) == kind


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_a_public_address_is_allowed(address: str) -> None:
    assert address_kind(parse_address(address)) is None


def test_one_non_public_address_of_a_host_is_enough_to_refuse_it() -> None:
    assert refused_address(["8.8.8.8", "10.0.0.5"]) == ("10.0.0.5", "private")
    assert refused_address(["8.8.8.8", "2606:4700:4700::1111"]) is None


@given(st.ip_addresses(v=4))
def test_an_ipv4_address_mapped_into_ipv6_is_judged_as_itself(ip: ipaddress.IPv4Address) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    assert address_kind(mapped) == address_kind(ip)


@given(st.ip_addresses())
def test_only_globally_reachable_unicast_addresses_are_allowed(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    def public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return ip.is_global and not (ip.is_multicast or ip.is_reserved)

    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        allowed = public(ip.ipv4_mapped)  # connected to over IPv4
    elif isinstance(ip, ipaddress.IPv6Address) and ip.sixtofour is not None:
        allowed = public(ip) and public(ip.sixtofour)
    else:
        allowed = public(ip)
    assert (address_kind(ip) is None) == allowed


@given(st.sampled_from(PRIVATE_V4).flatmap(lambda net: st.ip_addresses(network=net)))
def test_every_address_of_the_private_ranges_is_refused(ip: ipaddress.IPv4Address) -> None:
    assert address_kind(ip) in {"loopback", "private", "link-local"}
    assert refused_address([str(ip)]) == (str(ip), address_kind(ip))
