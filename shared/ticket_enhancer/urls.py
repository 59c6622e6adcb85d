"""Tenant base URLs: the only hosts the worker will call (SSRF guard).

Always https to the tool's own domain, never an IP literal, never loopback, link-local or
private ranges. The one exception: plain http to loopback when the stack runs locally.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

ALLOWED_HOST_SUFFIXES: dict[str, tuple[str, ...]] = {
    "jira": (".atlassian.net",),
    "zendesk": (".zendesk.com",),
    "servicenow": (".service-now.com",),
    "freshservice": (".freshservice.com",),
    "servicedesk_plus": (),  # sdpondemand.manageengine.<tld>, or any host with allow_custom_host
}
SDP_CLOUD_PREFIX = "sdpondemand.manageengine."
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
HOST_NAME_RE = re.compile(r"[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?)*")


class BaseUrlError(ValueError):
    """The base URL is not one the worker may call; the message says why."""


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:  # the forms resolvers still accept: 2130706433, 0x7f000001, 127.1, 0177.0.0.1
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def check_base_url(  # noqa: PLR0912 (one branch per rule, each with its own message)
    tool: str, url: str, *, allow_custom_host: bool = False, local: bool = False
) -> str:
    """The normalised base URL (no trailing slash), or ``BaseUrlError``."""
    if tool not in ALLOWED_HOST_SUFFIXES:
        raise BaseUrlError(f"unknown tool {tool!r}")
    custom = allow_custom_host and tool == "servicedesk_plus"  # on-prem ServiceDesk Plus only
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
    if ip is not None:
        raise BaseUrlError("base URL must be a host name, not an IP address")
    if not HOST_NAME_RE.fullmatch(host) or len(host) > 253:
        raise BaseUrlError(f"base URL host {host!r} is not a valid host name")
    if is_loopback or host.endswith((".localhost", ".local", ".internal")):
        raise BaseUrlError("base URL must not point at a local or internal host")
    if port == 0 or (port not in (None, 443) and not custom):
        raise BaseUrlError("base URL must use the default https port")
    suffixes = ALLOWED_HOST_SUFFIXES[tool]
    on_domain = any(host.endswith(s) and len(host) > len(s) for s in suffixes)
    if tool == "servicedesk_plus":
        on_domain = host.startswith(SDP_CLOUD_PREFIX) and host.count(".") >= 2
    if not on_domain and not custom:
        expected = ", ".join(f"*{s}" for s in suffixes) or f"{SDP_CLOUD_PREFIX}* (or --allow-custom-host)"
        raise BaseUrlError(f"base URL host {host!r} is not a {tool} host ({expected})")
    return url.rstrip("/")


Resolver = Callable[[str, int], list[str]]


class HostResolutionError(BaseUrlError):
    """The host did not resolve now; that may pass (the worker retries)."""


def system_resolve(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


def check_resolved_host(url: str, resolve: Resolver = system_resolve) -> str:
    """The address to connect to for ``url``'s host; refused if any address it has is non-public.

    For hosts the tenant chose (on-prem ServiceDesk Plus with ``allow_custom_host``): the vendors'
    own domains are theirs to resolve. The worker resolves once per job and then connects to the
    returned address only (``TenantContext.pinned_address``), keeping the host name for TLS and
    ``Host``: a resolver answering differently a moment later (DNS rebinding) is never asked.
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
        mapped = getattr(ip, "ipv4_mapped", None)
        if not ip.is_global or (mapped is not None and not mapped.is_global):
            raise BaseUrlError(f"base URL host {host!r} resolves to a non-public address ({address})")
    return addresses[0].split("%", 1)[0]
