"""`check_base_url`: the only hosts a worker may call (the SSRF guard for tenant base URLs)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.plugins.servicedesk_plus.datacentres import SDP_CLOUD_HOSTS
from ticket_enhancer.urls import BaseUrlError, HostResolutionError, check_resolved_host

from tests.support import check_base_url

TOOLS = ("jira", "zendesk", "servicenow", "freshservice", "servicedesk_plus")
GOOD = {
    "jira": "https://acme.atlassian.net",
    "zendesk": "https://acme.zendesk.com",
    "servicenow": "https://acme.service-now.com",
    "freshservice": "https://acme.freshservice.com",
    "servicedesk_plus": "https://sdpondemand.manageengine.com/app/itdesk",
}
SUFFIXES = {
    "jira": "atlassian.net",
    "zendesk": "zendesk.com",
    "servicenow": "service-now.com",
    "freshservice": "freshservice.com",
    "servicedesk_plus": "manageengine.com",
}


@pytest.mark.parametrize("tool", TOOLS)
def test_each_tools_own_domain_is_accepted_and_normalised(tool: str) -> None:
    assert check_base_url(tool, GOOD[tool]) == GOOD[tool]
    assert check_base_url(tool, GOOD[tool] + "/") == GOOD[tool]
    assert check_base_url(tool, GOOD[tool].replace("https://", "HTTPS://")) == GOOD[tool].replace(
        "https://", "HTTPS://"
    )


def test_servicedesk_plus_cloud_regions_and_on_prem() -> None:
    assert check_base_url("servicedesk_plus", "https://sdpondemand.manageengine.eu") == (
        "https://sdpondemand.manageengine.eu"
    )
    with pytest.raises(BaseUrlError, match="not a servicedesk_plus host"):
        check_base_url("servicedesk_plus", "https://sdp.acme.example")
    assert check_base_url("servicedesk_plus", "https://sdp.acme.example:8443/", allow_custom_host=True) == (
        "https://sdp.acme.example:8443"
    )


def test_custom_host_is_only_for_servicedesk_plus() -> None:
    with pytest.raises(BaseUrlError, match="not a jira host"):
        check_base_url("jira", "https://jira.acme.example", allow_custom_host=True)
    with pytest.raises(BaseUrlError, match="default https port"):
        check_base_url("jira", "https://acme.atlassian.net:8443", allow_custom_host=True)
    with pytest.raises(BaseUrlError, match="default https port"):
        check_base_url("servicedesk_plus", "https://sdp.acme.example:0", allow_custom_host=True)


@pytest.mark.parametrize(
    ("tool", "url", "message"),
    [
        ("acme_desk", "https://acme.atlassian.net", "unknown tool"),
        ("jira", "https://[::1", "malformed"),
        ("jira", "https://acme.atlassian.net:99999", "malformed"),
        ("jira", "https://acme.atlassian.net:http", "malformed"),
        ("jira", "acme.atlassian.net", "no host"),
        ("jira", "https://", "no host"),
        ("jira", "https://acme.atlassian.net\n", "control"),
        ("jira", "https://ac me.atlassian.net", "whitespace"),
        ("jira", "https://bot:pw@acme.atlassian.net", "credentials"),
        ("jira", "https://acme.atlassian.net@evil.example", "credentials"),
        ("jira", "https://evil.example#.atlassian.net", "query or fragment"),
        ("jira", "https://evil.example?.atlassian.net", "query or fragment"),
        ("jira", "https://evil.example\\.atlassian.net", "not a valid host name"),
        ("jira", "https://evil.example%2f.atlassian.net", "not a valid host name"),
        ("jira", "http://acme.atlassian.net", "https"),
        ("jira", "ws://acme.atlassian.net", "https"),
        ("jira", "https://acme.atlassian.net:444", "default https port"),
        ("jira", "https://atlassian.net", "not a jira host"),
        ("jira", "https://evilatlassian.net", "not a jira host"),
        ("jira", "https://acme.atlassian.net.evil.example", "not a jira host"),
        ("zendesk", "https://acme.atlassian.net", "not a zendesk host"),
        ("servicedesk_plus", "https://sdpondemand.manageengine", "not a servicedesk_plus host"),
    ],
)
def test_rejected_with_a_reason(tool: str, url: str, message: str) -> None:
    with pytest.raises(BaseUrlError, match=message):
        check_base_url(tool, url, allow_custom_host=tool == "servicedesk_plus" and "sdpondemand" not in url)


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``host`` as an address, in any form a resolver accepts (else ``ValueError``/``OSError``)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return ipaddress.IPv4Address(socket.inet_aton(host))


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "203.0.113.5",
        "[::1]",
        "[fe80::1]",
        "[fd00::1]",
        "[::ffff:127.0.0.1]",
        "[2001:db8::1]",
        "2130706433",  # 127.0.0.1 as one number
        "0x7f000001",
        "0177.0.0.1",
        "127.1",
        "0",
    ],
)
@pytest.mark.parametrize("local", [False, True])
def test_ip_literals_never_pass_even_as_custom_hosts(host: str, local: bool) -> None:
    url = f"https://{host}/app"
    if local and _ip(host).is_loopback:  # the local stack's one exception
        assert check_base_url("servicedesk_plus", url, allow_custom_host=True, local=local) == url
        return
    with pytest.raises(BaseUrlError):
        check_base_url("servicedesk_plus", url, allow_custom_host=True, local=local)


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST", "db.localhost", "printer.local", "metadata.google.internal"]
)
def test_local_and_internal_names_are_refused(host: str) -> None:
    with pytest.raises(BaseUrlError, match="local or internal"):
        check_base_url("servicedesk_plus", f"https://{host}", allow_custom_host=True)


def test_plain_http_to_loopback_only_when_the_stack_is_local() -> None:
    sandbox = "http://127.0.0.1:3000/_sandbox/jira"
    assert check_base_url("jira", sandbox, local=True) == sandbox
    assert check_base_url("jira", "http://localhost:3000/_sandbox/jira/", local=True) == (
        "http://localhost:3000/_sandbox/jira"
    )
    assert check_base_url("jira", "http://[::1]:3000/x", local=True) == "http://[::1]:3000/x"
    with pytest.raises(BaseUrlError, match="https"):
        check_base_url("jira", sandbox)
    for not_loopback in ("http://169.254.169.254/latest", "http://10.0.0.1:3000", "http://192.168.0.2"):
        with pytest.raises(BaseUrlError):
            check_base_url("jira", not_loopback, local=True)
    with pytest.raises(BaseUrlError, match="not an IP address"):
        check_base_url("servicedesk_plus", "https://169.254.169.254", allow_custom_host=True, local=True)
    with pytest.raises(BaseUrlError, match="https"):
        check_base_url("jira", "ftp://127.0.0.1/x", local=True)


# -- properties ----------------------------------------------------------------------------------


def _is_ip_literal(host: str) -> bool:
    try:
        _ip(host)
    except (OSError, ValueError):
        return False
    return True


label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
ipv4 = st.ip_addresses(v=4)
ip_hosts = st.one_of(
    ipv4.map(str),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]"),
    ipv4.map(lambda ip: str(int(ip))),
    ipv4.map(lambda ip: hex(int(ip))),
    ipv4.map(lambda ip: ".".join(f"0{int(b):o}" for b in str(ip).split("."))),
)
name_hosts = st.one_of(
    st.builds(lambda sub, tool: f"{sub}.{SUFFIXES[tool]}", label, st.sampled_from(TOOLS)),
    st.builds(lambda a, b: f"{a}.{b}", label, label),
    st.sampled_from(sorted(SDP_CLOUD_HOSTS)),
    st.builds(lambda tld: f"sdpondemand.manageengine.{tld}", label),  # a prefix is no match
)
schemes = st.sampled_from(["https", "http", "HTTPS", "ftp", "ws", "wss", "file", "gopher", "javascript", ""])
ports = st.one_of(st.just(""), st.integers(0, 65535).map(lambda p: f":{p}"))
paths = st.sampled_from(["", "/", "/app/itdesk", "/_sandbox/jira", "//x"])


@settings(max_examples=400, deadline=None)
@given(
    tool=st.sampled_from(TOOLS),
    host=ip_hosts,
    scheme=schemes,
    port=ports,
    path=paths,
    custom=st.booleans(),
)
def test_never_accepts_an_ip_literal_host_when_not_local(
    *, tool: str, host: str, scheme: str, port: str, path: str, custom: bool
) -> None:
    with pytest.raises(BaseUrlError):
        check_base_url(tool, f"{scheme}://{host}{port}{path}", allow_custom_host=custom, local=False)


@settings(max_examples=400, deadline=None)
@given(
    tool=st.sampled_from(TOOLS),
    host=st.one_of(name_hosts, ip_hosts),
    scheme=schemes,
    port=ports,
    path=paths,
    custom=st.booleans(),
)
def test_whatever_is_accepted_is_https_to_a_host_name(
    *, tool: str, host: str, scheme: str, port: str, path: str, custom: bool
) -> None:
    url = f"{scheme}://{host}{port}{path}"
    try:
        accepted = check_base_url(tool, url, allow_custom_host=custom, local=False)
    except BaseUrlError:
        return
    parts = urlsplit(accepted)
    assert parts.scheme == "https"
    assert parts.hostname
    assert not _is_ip_literal(parts.hostname)
    assert not accepted.endswith("/")
    if not (custom and tool == "servicedesk_plus"):
        assert parts.port in (None, 443)
        if tool == "servicedesk_plus":  # the exact hosts of the data-centre table, nothing else
            assert parts.hostname.lower() in SDP_CLOUD_HOSTS
        else:
            assert parts.hostname.endswith("." + SUFFIXES[tool])


@settings(max_examples=300, deadline=None)
@given(tool=st.sampled_from(TOOLS), url=st.text(max_size=60), custom=st.booleans())
def test_arbitrary_text_is_refused_or_is_a_clean_https_url(tool: str, url: str, custom: bool) -> None:
    try:
        accepted = check_base_url(tool, url, allow_custom_host=custom, local=False)
    except BaseUrlError:
        return
    parts = urlsplit(accepted)
    assert parts.scheme == "https"
    assert parts.hostname
    assert not _is_ip_literal(parts.hostname)
    assert parts.username is None
    assert parts.password is None
    assert parts.query == ""
    assert parts.fragment == ""


def _resolving_to(*addresses: str) -> Callable[[str, int], list[str]]:
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.5",
        "192.168.1.1",
        "172.16.0.1",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "::1",
        "fd00:ec2::254",
        "fe80::1%eth0",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",  # NAT64, 6to4, IPv4-compatible: tests/unit/test_embedded_ipv4.py
        "2002:a9fe:a9fe::1",
        "::169.254.169.254",
        "0.0.0.0",  # noqa: S104 (an address to refuse, not a bind)
    ],
)
def test_custom_host_resolving_to_an_internal_address_is_refused(address: str) -> None:
    with pytest.raises(BaseUrlError, match="resolves to a non-public address"):
        check_resolved_host("https://sdp.acme-corp.example", _resolving_to("93.184.216.34", address))


def test_custom_host_resolving_to_public_addresses_is_accepted() -> None:
    check_resolved_host(
        "https://sdp.acme-corp.example:8443", _resolving_to("93.184.216.34", "2606:2800:220:1::1")
    )


def test_unresolvable_host_is_a_resolution_error_not_a_refusal() -> None:
    def fails(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(HostResolutionError, match="does not resolve"):
        check_resolved_host("https://sdp.acme-corp.example", fails)
    with pytest.raises(HostResolutionError):
        check_resolved_host("https://sdp.acme-corp.example", _resolving_to())
