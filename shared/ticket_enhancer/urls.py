"""Tenant base URLs: the only hosts the worker will call (SSRF guard).

Always https to the tool's own domain, never an IP literal, never loopback, link-local or
private ranges. The one exception: plain http to loopback when the stack runs locally.

A host is matched exactly or as a whole-label suffix (``*.atlassian.net``), never by prefix.
Which hosts a tool allows is the tool's own fact: each plugin declares a :class:`HostPolicy`.
A host off the tool's domains (``allow_custom_host``) is DNS-checked and pinned by the worker
(:func:`check_resolved_host`).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """The base-URL hosts a tool's tenants may use: declared by each plugin (``host_policy``).

    ``patterns``: each an exact host or ``*.`` + a domain (any host under it, never the domain
    itself), matched by :func:`host_matches`, label by label. ``custom_host``: whether a tenant
    may use any other host with ``allow_custom_host`` (on-prem, self-hosted, a custom domain);
    such hosts are DNS-checked and pinned by the worker. ``expected``: how the error names them.
    """

    patterns: tuple[str, ...] = ()
    custom_host: bool = False
    expected: str = ""

    def matches(self, host: str) -> bool:
        return bool(host) and any(host_matches(host, pattern) for pattern in self.patterns)

    def describe(self) -> str:
        text = self.expected or ", ".join(self.patterns) or "no fixed host"
        return f"{text}, or --allow-custom-host" if self.custom_host else text


HOST_NAME_RE = re.compile(r"[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?)*")


class BaseUrlError(ValueError):
    """The base URL is not one the worker may call; the message says why."""


def host_matches(host: str, pattern: str) -> bool:
    """``pattern`` is an exact host, or ``*.domain``: any host ending in whole labels ``.domain``."""
    host = host.lower().rstrip(".")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def url_host(url: str) -> str:
    """The URL's host, lower case, without a trailing dot ('' when it has none or is malformed)."""
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def is_vendor_host(policy: HostPolicy, url: str) -> bool:
    """Whether ``url``'s host is on the tool's own domain (the vendor resolves it, not the tenant)."""
    return policy.matches(url_host(url))


# -- addresses --------------------------------------------------------------------------------------

_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT, RFC 2765
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated, RFC 4291 2.5.5.1
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: never globally reachable
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")  # RFC 3056


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, by the standard embeddings; else ``None``.

    IPv4-mapped ``::ffff:a.b.c.d``, IPv4-translated ``::ffff:0:a.b.c.d``, IPv4-compatible
    ``::a.b.c.d`` and NAT64 ``64:ff9b::a.b.c.d`` (the last 32 bits); NAT64 local-use
    ``64:ff9b:1::/48`` (RFC 6052 /48 format: bits 48-63 and 72-87, the octet between them is
    ``u``); 6to4 ``2002:AABB:CCDD::/48`` (bits 16-47); Teredo ``2001::/32`` (the client address,
    stored inverted in the last 32 bits).
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if any(ip in net for net in (_IPV4_MAPPED, _IPV4_TRANSLATED, _IPV4_COMPATIBLE, _NAT64_WELL_KNOWN)):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64_LOCAL_USE:
        packed = ip.packed
        return ipaddress.IPv4Address(packed[6:8] + packed[9:11])
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    return ip.teredo[1] if ip.teredo else None


def is_public_address(ip: IPAddress) -> bool:
    """Globally reachable, and so is any IPv4 address it embeds (169.254.169.254 in no form)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip in _NAT64_LOCAL_USE:
        return False  # the network's own translator: only reaches what it is configured to
    embedded = embedded_ipv4(ip)
    return ip.is_global and (embedded is None or embedded.is_global)


def _ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:  # the forms resolvers still accept: 2130706433, 0x7f000001, 127.1, 0177.0.0.1
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def check_base_url(
    policy: HostPolicy,
    url: str,
    *,
    allow_custom_host: bool = False,
    local: bool = False,
    tool: str = "",
) -> str:
    """The normalised base URL (no trailing slash), or ``BaseUrlError`` (``tool`` names it).

    Plugins call this through ``TicketingToolPlugin.check_base_url`` with their ``host_policy``
    (and may add checks of their own, such as ServiceDesk Plus's data centre).
    """
    custom = allow_custom_host and policy.custom_host
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise BaseUrlError("base URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BaseUrlError(f"base URL is malformed: {exc}") from None
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise BaseUrlError("base URL has no host")
    if parts.username or parts.password:
        raise BaseUrlError("base URL must not contain credentials")
    if parts.query or parts.fragment:
        raise BaseUrlError("base URL must not contain a query or fragment")
    ip = _ip(host)
    is_loopback = host == "localhost" or (ip is not None and ip.is_loopback)
    if local and is_loopback and parts.scheme in ("http", "https"):
        return url.rstrip("/")
    if parts.scheme != "https":
        raise BaseUrlError("base URL must use https")
    if ip is not None:  # whether public or not, in whatever form (embedded IPv4 included)
        raise BaseUrlError("base URL must be a host name, not an IP address")
    if not HOST_NAME_RE.fullmatch(host) or len(host) > 253:
        raise BaseUrlError(f"base URL host {host!r} is not a valid host name")
    if is_loopback or host.endswith((".localhost", ".local", ".internal")):
        raise BaseUrlError("base URL must not point at a local or internal host")
    if port == 0 or (port not in (None, 443) and not custom):
        raise BaseUrlError("base URL must use the default https port")
    if not policy.matches(host) and not custom:
        raise BaseUrlError(
            f"base URL host {host!r} is not a {tool or 'permitted'} host ({policy.describe()})"
        )
    return url.rstrip("/")


Resolver = Callable[[str, int], list[str]]


class HostResolutionError(BaseUrlError):
    """The host did not resolve now; that may pass (the worker retries)."""


def system_resolve(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Ranges an operator may open to workers deployed in a VPC (on-prem tools over VPN / Direct Connect):
# RFC 1918, shared address space (RFC 6598) and IPv6 unique local addresses. Never loopback,
# link-local (169.254.169.254: the metadata service), multicast, "this network" or public ranges.
PRIVATE_RANGES: tuple[IPNetwork, ...] = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
    ipaddress.IPv4Network("100.64.0.0/10"),
    ipaddress.IPv6Network("fc00::/7"),
)
ALLOWED_PRIVATE_CIDRS_ENV = "ALLOWED_PRIVATE_CIDRS"


def parse_private_cidrs(text: str) -> tuple[IPNetwork, ...]:
    """The operator's allowed private networks (comma-separated CIDRs; empty: none), or ``ValueError``
    naming the first one that is malformed or not inside ``PRIVATE_RANGES``."""
    networks: list[IPNetwork] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=True)
        except ValueError as exc:
            raise ValueError(f"allowed private CIDR {item!r} is not a network: {exc}") from None
        if not any(network.version == r.version and network.subnet_of(r) for r in PRIVATE_RANGES):  # type: ignore[arg-type]
            raise ValueError(
                f"allowed private CIDR {item!r} is not inside a private range "
                f"({', '.join(str(r) for r in PRIVATE_RANGES)})"
            )
        networks.append(network)
    return tuple(networks)


def _allowed(ip: IPAddress, private: tuple[IPNetwork, ...]) -> bool:
    return is_public_address(ip) or any(ip.version == n.version and ip in n for n in private)


def check_resolved_host(
    url: str, resolve: Resolver = system_resolve, private: tuple[IPNetwork, ...] = ()
) -> str:
    """The address to connect to for ``url``'s host; refused if any address it has is non-public.

    Non-public: not globally reachable, or embedding an IPv4 address that is not
    (:func:`is_public_address`: NAT64, 6to4, Teredo, IPv4-mapped and -compatible forms).

    For hosts the tenant chose (ServiceDesk Plus with ``allow_custom_host``): the vendors' own
    domains are theirs to resolve. The worker resolves once per job and then connects to the
    returned address only (``TenantContext.pinned_address``), keeping the host name for TLS and
    ``Host``: a resolver answering differently a moment later (DNS rebinding) is never asked.

    ``private``: networks the operator allowed (``parse_private_cidrs``, the template's
    ``AllowedPrivateCidrs`` for workers in a VPC); an address inside one is accepted as well.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        addresses = resolve(host, parts.port or 443)
    except OSError as exc:
        raise HostResolutionError(f"base URL host {host!r} does not resolve: {exc}") from None
    if not addresses:
        raise HostResolutionError(f"base URL host {host!r} does not resolve")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not _allowed(ip, private):
            embedded = embedded_ipv4(ip)
            shown = f"{address}, which embeds {embedded}" if embedded is not None else address
            raise BaseUrlError(f"base URL host {host!r} resolves to a non-public address ({shown})")
    return addresses[0].split("%", 1)[0]
