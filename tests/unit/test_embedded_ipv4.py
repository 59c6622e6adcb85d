"""IPv4 addresses embedded in IPv6 are checked as that IPv4 address (169.254.169.254 in no form).

NAT64 (``64:ff9b::/96`` and the local-use ``64:ff9b:1::/48``), 6to4 (``2002::/16``), Teredo,
IPv4-mapped and IPv4-compatible forms: ``check_resolved_host`` refuses a host resolving to any
of them when the IPv4 address inside is not global.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.urls import BaseUrlError, check_resolved_host, embedded_ipv4

from tests.support import check_base_url

URL = "https://sdp.acme-corp.example/app/itdesk"
V4 = ipaddress.IPv4Address


def _resolving_to(*addresses: str) -> Callable[[str, int], list[str]]:
    return lambda host, port: list(addresses)


def nat64(v: V4) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(v))


def nat64_local(v: V4) -> ipaddress.IPv6Address:
    """RFC 6052 /48 format in ``64:ff9b:1::/48``: octets 6-7 and 9-10, octet 8 (``u``) zero."""
    packed = bytearray(ipaddress.IPv6Address("64:ff9b:1::").packed)
    packed[6:8], packed[9:11] = v.packed[:2], v.packed[2:]
    return ipaddress.IPv6Address(bytes(packed))


def six_to_four(v: V4) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address((0x2002 << 112) | (int(v) << 80) | 1)


def teredo(v: V4) -> ipaddress.IPv6Address:
    """Server 65.54.227.120, the client address stored inverted in the last 32 bits."""
    server = int(V4("65.54.227.120"))
    return ipaddress.IPv6Address((0x20010000 << 96) | (server << 64) | (int(v) ^ 0xFFFFFFFF))


def mapped(v: V4) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address((0xFFFF << 32) | int(v))


def compatible(v: V4) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(int(v))


EMBEDDINGS = (nat64, nat64_local, six_to_four, teredo, mapped, compatible)


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a9fe:a9fe",
        "64:ff9b::169.254.169.254",
        "64:ff9b:1:a9fe:a9:fe00::",  # 169.254.169.254 in the RFC 6052 /48 format
        "2002:a9fe:a9fe::1",
        "::169.254.169.254",
        "::ffff:169.254.169.254",
        "::ffff:0:169.254.169.254",
        "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo, client 169.254.169.254 inverted
    ],
)
def test_the_metadata_address_is_refused_in_every_ipv6_form(address: str) -> None:
    assert embedded_ipv4(ipaddress.ip_address(address)) == V4("169.254.169.254")
    with pytest.raises(BaseUrlError, match=r"non-public address .*embeds 169\.254\.169\.254"):
        check_resolved_host(URL, _resolving_to("93.184.216.34", address))


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::a00:5", "64:ff9b::7f00:1", "2002:c0a8:101::1", "::10.0.0.1", "64:ff9b::6440:1"],
)
def test_private_loopback_and_shared_ranges_are_refused_when_embedded(address: str) -> None:
    with pytest.raises(BaseUrlError, match="non-public address"):
        check_resolved_host(URL, _resolving_to(address))


def test_public_addresses_in_nat64_and_6to4_form_are_accepted() -> None:
    for address in ("64:ff9b::5db8:d822", "2002:5db8:d822::1", "::ffff:93.184.216.34"):
        assert check_resolved_host(URL, _resolving_to(address)) == address


def test_the_local_use_nat64_prefix_is_never_public() -> None:
    """RFC 8215: the network's own translator, not globally reachable, whatever it embeds."""
    with pytest.raises(BaseUrlError, match="non-public address"):
        check_resolved_host(URL, _resolving_to(str(nat64_local(V4("93.184.216.34")))))


def test_addresses_without_an_embedding() -> None:
    for address in ("2606:2800:220:1::1", "93.184.216.34", "fe80::1"):
        assert embedded_ipv4(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("host", ["[64:ff9b::a9fe:a9fe]", "[2002:a9fe:a9fe::1]", "[::169.254.169.254]"])
def test_embedded_forms_are_never_base_url_hosts(host: str) -> None:
    for local in (False, True):
        with pytest.raises(BaseUrlError):
            check_base_url("servicedesk_plus", f"https://{host}/app", allow_custom_host=True, local=local)


# -- property: for every IPv4 address -------------------------------------------------------------

NON_GLOBAL = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
]
ipv4s = st.one_of(
    st.ip_addresses(v=4),
    st.sampled_from(NON_GLOBAL).flatmap(lambda net: st.ip_addresses(network=net)),
)


@settings(max_examples=500, deadline=None)
@given(v=ipv4s, embed=st.sampled_from(EMBEDDINGS))
def test_every_embedding_of_a_non_global_ipv4_is_refused(
    v: V4, embed: Callable[[V4], ipaddress.IPv6Address]
) -> None:
    address = embed(v)
    assert embedded_ipv4(address) == v
    if v.is_global:
        return
    with pytest.raises(BaseUrlError, match="non-public address"):
        check_resolved_host(URL, _resolving_to(str(address)))


@settings(max_examples=300, deadline=None)
@given(v=st.ip_addresses(v=4).filter(lambda v: v.is_global))
def test_the_nat64_embedding_of_a_global_ipv4_is_accepted(v: V4) -> None:
    address = str(nat64(v))
    assert check_resolved_host(URL, _resolving_to(address)) == address
    assert check_resolved_host(URL, _resolving_to(str(six_to_four(v)))) == str(six_to_four(v))
