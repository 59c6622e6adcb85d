"""Jira Cloud's two base URLs: the site (``https://<site>.atlassian.net``) and Atlassian's API gateway
(``https://api.atlassian.com/ex/jira/<cloudId>``).

Scoped API tokens (the only kind a service account can create) and OAuth apps must call the
gateway; the REST paths after the base are the same. Links in notes go to the site, whose URL the
gateway gives at ``GET /rest/api/3/serverInfo`` (``baseUrl``), or the tenant's ``site_url`` option.
Confluence (the knowledge base) is at ``https://api.atlassian.com/ex/confluence/<cloudId>`` then.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ticket_enhancer.urls import BaseUrlError, host_matches

GATEWAY_HOST = "api.atlassian.com"
SITE_PATTERN = "*.atlassian.net"
SITE_URL_OPTION = "site_url"
# A cloud id is a UUID (``_edge/tenant_info`` answers {"cloudId": "..."}).
_GATEWAY_PATH = re.compile(r"/ex/jira/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def is_gateway(url: str) -> bool:
    """Whether ``url`` is on Atlassian's API gateway."""
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".") == GATEWAY_HOST
    except ValueError:
        return False


def check_gateway_path(url: str) -> str:
    """The cloud id of a gateway base URL, or ``BaseUrlError``: the path must be exactly
    ``/ex/jira/<cloudId>`` (no other product, no deeper path)."""
    path = urlsplit(url).path.rstrip("/")
    match = _GATEWAY_PATH.fullmatch(path.lower())
    if match is None:
        raise BaseUrlError(
            "an api.atlassian.com base URL must be https://api.atlassian.com/ex/jira/<cloudId> "
            "(the cloud id from https://<site>.atlassian.net/_edge/tenant_info)"
        )
    return match[1]


def site_url(value: str) -> str | None:
    """``value`` as a site URL for links (``https://<site>.atlassian.net``, no path), else None."""
    try:
        parts = urlsplit(value.strip())
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or port not in (None, 443) or parts.username or parts.password:
        return None
    if parts.path.strip("/") or parts.query or parts.fragment or not host_matches(host, SITE_PATTERN):
        return None
    return f"https://{host}"


def check_site_option(value: str) -> str:
    """The ``site_url`` option, normalised, or ``BaseUrlError``."""
    found = site_url(value)
    if found is None:
        raise BaseUrlError(
            f"option {SITE_URL_OPTION} must be https://<site>.atlassian.net, got {value[:80]!r}"
        )
    return found


def confluence_base(base_url: str) -> str:
    """Where the site's Confluence (the JSM knowledge base) is: through the gateway
    ``https://api.atlassian.com/ex/confluence/<cloudId>`` for a gateway tenant (a scoped token
    needs Confluence read scopes too), else the site itself (``/wiki/...`` paths follow)."""
    if is_gateway(base_url):
        return f"https://{GATEWAY_HOST}/ex/confluence/{check_gateway_path(base_url)}"
    return base_url.rstrip("/")
