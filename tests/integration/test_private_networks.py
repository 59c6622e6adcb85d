"""Issue 15, on-prem tools on private networks: an operator who deploys the workers in a VPC names the
private networks they may reach (template parameter ``AllowedPrivateCidrs`` -> the workers'
``ALLOWED_PRIVATE_CIDRS``); a tenant cannot. Without it private addresses stay refused; with it, an
address inside a named network is accepted, pinned for the job and reached with the host name in TLS.
Loopback, link-local (the metadata service) and public ranges can never be named.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.plugins.http import send
from ticket_enhancer.plugins.requests import RetryPolicy, VendorRequest
from ticket_enhancer.settings import SettingsError
from ticket_enhancer.urls import BaseUrlError, check_resolved_host, is_public_address, parse_private_cidrs
from ticket_enhancer.worker.handler import make_worker_handler

from tests.integration import test_worker
from tests.integration.test_worker import (  # noqa: F401 (atomic_conditional_writes: an autouse fixture)
    WorkerFactory,
    atomic_conditional_writes,
)
from tests.support import Stack
from tests.unit.test_vendor_pinning import HOST, _certificate, _serve

ON_PREM = "https://helpdesk.acme-corp.example"  # the harness's on-prem ServiceDesk Plus
PRIVATE = "10.20.30.40"


@pytest.fixture
def workers(aws: Stack) -> Iterator[WorkerFactory]:
    factory = WorkerFactory(aws)
    yield factory
    factory.close()


# -- the operator's list -----------------------------------------------------------------------------


def test_private_cidrs_are_parsed() -> None:
    found = parse_private_cidrs(" 10.20.0.0/16, 192.168.5.0/24,,fd00:1::/64, 100.64.1.0/24 ")
    assert [str(n) for n in found] == ["10.20.0.0/16", "192.168.5.0/24", "fd00:1::/64", "100.64.1.0/24"]
    assert parse_private_cidrs("") == ()


@pytest.mark.parametrize(
    "value",
    [
        "8.8.8.0/24",  # public
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local: the instance metadata service
        "0.0.0.0/0",
        "10.0.0.0/7",  # wider than a private range
        "10.0.0.1/8",  # host bits set
        "fe80::/10",
        "::1/128",
        "10.0.0.0/33",
        "not-a-cidr",
    ],
)
def test_anything_but_a_private_network_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="allowed private CIDR"):
        parse_private_cidrs(f"10.1.0.0/16,{value}")


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)),
    st.lists(
        st.sampled_from(["10.20.0.0/16", "172.16.0.0/12", "192.168.0.0/24", "fd00::/8", "100.64.0.0/10"])
    ),
)
def test_an_address_is_accepted_only_if_public_or_inside_a_named_network(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, named: list[str]
) -> None:
    private = parse_private_cidrs(",".join(named))
    inside = any(address.version == n.version and address in n for n in private)
    try:
        pinned = check_resolved_host(ON_PREM, lambda host, port: [str(address)], private)
    except BaseUrlError:
        assert not inside
        assert not is_public_address(address)
    else:
        assert pinned == str(address)
        assert inside or is_public_address(address)
        assert not address.is_loopback
        assert not address.is_link_local


def test_one_refused_address_among_allowed_ones_refuses_the_host() -> None:
    private = parse_private_cidrs("10.20.0.0/16")
    with pytest.raises(BaseUrlError, match="non-public"):
        check_resolved_host(ON_PREM, lambda host, port: [PRIVATE, "169.254.169.254"], private)


# -- the worker ---------------------------------------------------------------------------------------


def _private(host: str, port: int) -> list[str]:
    return [PRIVATE]


def test_without_the_parameter_a_private_address_stays_refused(workers: WorkerFactory) -> None:
    h = workers("servicedesk_plus", resolve=_private)
    job = h.job()
    assert h.run_jobs(job) == []  # final
    assert h.record(job)["state"] == "failed"
    assert "non-public address" in h.record(job)["last_error"]
    assert h.vendor.seen == []


def test_with_the_parameter_the_private_address_is_pinned_for_the_job(
    workers: WorkerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(test_worker, "PUBLIC_ADDRESSES", {PRIVATE})  # where the harness's host "is"
    h = workers("servicedesk_plus", resolve=_private)
    h.worker.private_networks = parse_private_cidrs("10.20.0.0/16")  # ALLOWED_PRIVATE_CIDRS
    job = h.job()

    assert h.run_jobs(job) == []

    assert h.record(job)["state"] == "done"
    assert {s.url.host for s in h.vendor.seen} == {PRIVATE}
    assert {s.extensions["sni_hostname"] for s in h.vendor.seen} == {"helpdesk.acme-corp.example"}


def test_a_vendor_host_resolving_privately_is_never_resolved_by_us(workers: WorkerFactory) -> None:
    """The allowance is for hosts the tenant chose; the vendors' own domains are not pinned."""
    h = workers("zendesk", resolve=_private)
    h.worker.private_networks = parse_private_cidrs("10.20.0.0/16")
    assert h.run_jobs(h.job()) == []
    assert all("sni_hostname" not in s.extensions for s in h.vendor.seen)


def test_a_malformed_parameter_fails_the_worker_at_init(aws: Stack) -> None:
    with pytest.raises(
        SettingsError, match=re.escape("ALLOWED_PRIVATE_CIDRS: allowed private CIDR '169.254.0.0/16'")
    ):
        make_worker_handler(
            "servicedesk_plus",
            dynamodb=aws.dynamodb,
            secrets=aws.secretsmanager,
            env={
                "TENANTS_TABLE": aws.tenants_table,
                "DELIVERIES_TABLE": aws.deliveries_table,
                "JOBS_TABLE": "jobs",
                "CONTEXT_TABLE": "context",
                "ALLOWED_PRIVATE_CIDRS": "169.254.0.0/16",
            },
            bedrock_client_factory=lambda: None,
        )


# -- a real pinned connection -------------------------------------------------------------------------


class VpcRoute(httpx.AsyncHTTPTransport):
    """The VPC's route to the on-prem host, stood in for by loopback: what reaches 10.20.30.40 is
    delivered to the local TLS server; the request keeps the host name for SNI and ``Host``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.addresses: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.addresses.append(request.url.host)
        request.url = request.url.copy_with(host="127.0.0.1")
        return await super().handle_async_request(request)


def test_the_pinned_private_address_is_reached_with_the_name_verified(tmp_path: Path) -> None:
    cert, key = _certificate(HOST, tmp_path)
    server, seen, names = _serve(cert, key)
    try:
        port = server.server_address[1]
        url = f"https://{HOST}:{port}/api/v3"
        address = check_resolved_host(url, _private, parse_private_cidrs("10.20.0.0/16"))
        route = VpcRoute(verify=ssl.create_default_context(cafile=str(cert)))

        async def call() -> httpx.Response:
            async with httpx.AsyncClient(transport=route) as client:
                return await send(
                    client,
                    url,
                    VendorRequest("GET", "/requests/7", idempotent=True),
                    headers={},
                    tool="servicedesk_plus",
                    operation="get_ticket",
                    policy=RetryPolicy(attempts=1, timeout=5, connect_timeout=2),
                    connect_to=address,
                )

        response = asyncio.run(call())
    finally:
        server.shutdown()
        server.server_close()
    assert response.json() == {"ok": True}
    assert route.addresses == [PRIVATE]  # the worker aimed at the checked private address
    assert names == [HOST]  # TLS server name: the host, not the address
    assert seen == [{"host": f"{HOST}:{port}", "path": "/api/v3/requests/7"}]
