"""Indicator extraction and inventory matching: IPv4/IPv6/host names, wildcards, look-alikes."""

from __future__ import annotations

import ipaddress
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.enhance.network import MAX_INDICATORS, MAX_MATCHES, extract_indicators, match_assets
from ticket_enhancer.enhance.records import Asset

INVENTORY = [
    Asset("10.0.0.0/8", "corp-lan", "All internal addresses"),
    Asset("10.20.30.0/24", "db-subnet", "Production databases; page the DBA on call"),
    Asset("192.0.2.10", "mail-gw", "SMTP relay"),
    Asset("2001:db8:abcd::/48", "dc-v6", "Data centre IPv6"),
    Asset("VPN.Example.COM", "vpn-gw", "Cisco ASA pair"),
    Asset("*.corp.example.com", "corp-hosts", "Managed by the infra team"),
    Asset("not a network", "junk", ""),
]


def names(text: str, assets: list[Asset] = INVENTORY) -> list[tuple[str, str]]:
    return [(m.indicator, m.asset.name) for m in match_assets(text, assets)]


def test_ipv4_inside_cidr_most_specific_first() -> None:
    assert names("Cannot reach 10.20.30.40 since noon.") == [
        ("10.20.30.40", "db-subnet"),
        ("10.20.30.40", "corp-lan"),
    ]


def test_ipv4_exact_address_and_mapped_ipv6() -> None:
    assert names("relay 192.0.2.10 bounced") == [("192.0.2.10", "mail-gw")]
    assert names("peer ::ffff:192.0.2.10 reset") == [("192.0.2.10", "mail-gw")]
    assert names("relay 192.0.2.11 bounced") == []


def test_ipv6_in_network_any_spelling() -> None:
    assert names("host 2001:DB8:ABCD:0:0::17 is down") == [("2001:db8:abcd::17", "dc-v6")]
    assert names("host 2001:db8:ffff::1 is down") == []


def test_hostname_exact_match_is_case_insensitive() -> None:
    assert names("users report vpn.example.com times out") == [("vpn.example.com", "vpn-gw")]
    assert names("see https://VPN.EXAMPLE.COM/login.") == [("vpn.example.com", "vpn-gw")]


def test_wildcard_matches_subdomains_only() -> None:
    assert names("fs01.corp.example.com and a.b.corp.example.com") == [
        ("fs01.corp.example.com", "corp-hosts"),
        ("a.b.corp.example.com", "corp-hosts"),
    ]
    assert names("corp.example.com or evilcorp.example.com or corp.example.com.evil.io") == []


@pytest.mark.parametrize(
    "text",
    [
        "upgrade to version 1.2.3 please",
        "the address 999.1.1.1 is invalid",
        "build 1.2.3.4.5 failed",
        "release v10.0.0.1-beta",
        "ratio 10.5 and 3.14159 and 2024.01.15",
        "std::vector and 12:30:45 and 00:1a:2b:3c:4d:5e",
        "file report.final.docx.1 and e.g. i.e.",
    ],
)
def test_no_false_matches_for_look_alikes(text: str) -> None:
    catch_all = [Asset("0.0.0.0/0", "any-v4"), Asset("::/0", "any-v6")]
    assert match_assets(text, catch_all) == []


def test_email_domains_are_not_hosts() -> None:
    assert extract_indicators("from alice@corp.example.com").hosts == ()


def test_extraction_is_deduplicated_and_capped() -> None:
    text = " ".join(f"10.0.{i // 256}.{i % 256} 10.0.0.1" for i in range(500))
    found = extract_indicators(text)
    assert len(found.addresses) == MAX_INDICATORS
    assert len(set(found.addresses)) == MAX_INDICATORS
    assert len(match_assets(found, INVENTORY)) <= MAX_MATCHES


@pytest.mark.parametrize(
    "text",
    ["a." * 40_000, "1." * 40_000, ":" * 60_000, "a:" * 30_000, ("x" * 63 + ".") * 1_000, "fe80::" * 10_000],
)
def test_pathological_input_is_fast(text: str) -> None:
    started = time.perf_counter()
    extract_indicators(text)
    assert time.perf_counter() - started < 1.0


TOKENS = st.sampled_from(
    ["10", "0", "255", "999", ".", ":", "::", "a", "ff", "corp", "-", "@", " ", "\n", "/24"]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=2_000), st.lists(TOKENS, max_size=400).map("".join)))
def test_extraction_never_raises_and_stays_bounded(text: str) -> None:
    found = extract_indicators(text)
    assert len(found.addresses) <= MAX_INDICATORS
    assert len(found.hosts) <= MAX_INDICATORS
    for address in found.addresses:
        ipaddress.ip_address(address)  # only valid addresses come out
    for host in found.hosts:
        assert host == host.lower()
        assert "." in host
    assert len(match_assets(found, INVENTORY)) <= MAX_MATCHES
