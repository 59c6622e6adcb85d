"""Find IP addresses and host names in ticket text and match them against a tenant's inventory.

The patterns are bounded (fixed-width character classes, capped repetition, no nested ambiguous
quantifiers), the scanned text is capped, and at most :data:`MAX_INDICATORS` distinct values of
each kind are kept, so hostile text cannot make extraction slow or large. Candidates are validated
with :mod:`ipaddress`, which rejects look-alikes such as ``999.1.1.1``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ticket_enhancer.enhance.records import Asset, AssetMatch

__all__ = ["MAX_INDICATORS", "Indicators", "extract_indicators", "match_assets"]

MAX_INDICATORS = 50  # per kind (addresses, host names)
MAX_MATCHES = 50
MAX_SCAN_CHARS = 64_000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Four dotted groups, not part of a longer dotted/word run (so 1.2.3.4.5 and v1.2.3.4a are skipped).
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\w)")
# A run of hex digits, colons and dots (for ::ffff:1.2.3.4) with a colon; validated afterwards.
_IPV6 = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f.]{0,4}:)[0-9A-Fa-f:.]{2,45}(?![\w:])")
# Dot-separated labels ending in an alphabetic TLD; not preceded by "@" (e-mail domains).
_HOST = re.compile(
    r"(?<![\w.@-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,10}[A-Za-z]{2,24}(?![\w-]|\.\w)"
)


@dataclass(frozen=True, slots=True)
class Indicators:
    """Distinct addresses and host names (lower-case), in order of first appearance."""

    addresses: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()


def _distinct(values: Iterator[str], limit: int) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
        if len(seen) >= limit:
            break
    return tuple(seen)


def _unmapped(address: IPAddress) -> IPAddress:
    """``::ffff:10.0.0.1`` is the IPv4 address ``10.0.0.1``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _addresses(text: str) -> Iterator[str]:
    """Valid addresses in order of appearance (IPv4 and IPv6 interleaved by position)."""
    first_seen: dict[str, int] = {}
    for pattern in (_IPV4, _IPV6):
        distinct = 0
        for match in pattern.finditer(text):
            try:
                address = ipaddress.ip_address(match.group(0).rstrip("."))
            except ValueError:
                continue
            if address.is_unspecified:
                continue
            value = str(_unmapped(address))
            if value not in first_seen:
                first_seen[value] = match.start()
                distinct += 1
                if distinct >= MAX_INDICATORS:
                    break
    return iter(sorted(first_seen, key=first_seen.__getitem__))


def extract_indicators(text: str) -> Indicators:
    """The IP addresses and host names mentioned in ``text`` (bounded; never raises on text)."""
    text = text[:MAX_SCAN_CHARS]
    hosts = (m.group(0).lower() for m in _HOST.finditer(text))
    return Indicators(
        addresses=_distinct(_addresses(text), MAX_INDICATORS),
        hosts=_distinct(hosts, MAX_INDICATORS),
    )


@dataclass(frozen=True, slots=True)
class _Rule:
    asset: Asset
    network: IPNetwork | None = None
    host: str | None = None  # exact host name, lower-case
    suffix: str | None = None  # ".example.com" for "*.example.com"

    @property
    def specificity(self) -> int:
        if self.network is not None:
            return self.network.prefixlen
        return 1000 if self.host is not None else len(self.suffix or "")


def _rule(asset: Asset) -> _Rule | None:
    key = asset.cidr_or_host.strip().lower().rstrip(".")
    if not key:
        return None
    try:
        return _Rule(asset, network=ipaddress.ip_network(key, strict=False))
    except ValueError:
        pass
    if key.startswith("*."):
        suffix = key[1:]
        return _Rule(asset, suffix=suffix) if len(suffix) > 1 and "*" not in suffix else None
    return None if "*" in key or "/" in key else _Rule(asset, host=key)


def _covers(rule: _Rule, address: IPAddress | None, host: str | None) -> bool:
    if rule.network is not None:
        return address is not None and address.version == rule.network.version and address in rule.network
    if host is None:
        return False
    if rule.host is not None:
        return host == rule.host
    return rule.suffix is not None and host.endswith(rule.suffix)


def _as_address(value: str) -> IPAddress:
    return _unmapped(ipaddress.ip_address(value))


def match_assets(indicators: Indicators | str, assets: Iterable[Asset]) -> list[AssetMatch]:
    """Inventory entries covering each indicator: an address inside a CIDR (or equal to an IP), a
    host name equal to an entry (case-insensitive) or under a ``*.suffix`` wildcard.

    Ordered by indicator appearance, then most specific entry first; at most :data:`MAX_MATCHES`.
    """
    if isinstance(indicators, str):
        indicators = extract_indicators(indicators)
    rules = [rule for rule in map(_rule, assets) if rule is not None]
    probes: list[tuple[str, IPAddress | None, str | None]] = [
        (value, _as_address(value), None) for value in indicators.addresses
    ]
    probes += [(value, None, value) for value in indicators.hosts]
    matches: list[AssetMatch] = []
    for label, address, host in probes:
        hits = sorted((r for r in rules if _covers(r, address, host)), key=lambda r: -r.specificity)
        for rule in hits:
            matches.append(AssetMatch(indicator=label, asset=rule.asset))
            if len(matches) >= MAX_MATCHES:
                return matches
    return matches
