"""Base URL hosts matched exactly or by whole labels; ServiceDesk Plus Cloud as a fixed table.

A host that merely starts like a ServiceDesk Plus Cloud host (``sdpondemand.manageengine.evil.example``)
is not one: refused without ``allow_custom_host``, and with it a custom host that gets no Zoho
credentials unless ``zoho_data_centre`` names a data centre, whose accounts host is the table's.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import SecretStr
from ticket_enhancer.models import TenantConfig, TenantSecret
from ticket_enhancer.plugins import TenantContext
from ticket_enhancer.plugins.errors import VendorAuthError
from ticket_enhancer.plugins.servicedesk_plus.datacentres import SDP_CLOUD_DATA_CENTRES, sdp_data_centre
from ticket_enhancer.plugins.servicedesk_plus.plugin import ServiceDeskPlusPlugin, zoho_accounts_url
from ticket_enhancer.urls import BaseUrlError, host_matches

from tests.support import check_base_url, is_vendor_host

LOOKALIKES = (
    "https://sdpondemand.manageengine.evil.example/app/x",
    "https://sdpondemand.manageengine.127.0.0.1.nip.io",
    "https://sdpondemand.manageengine.com.evil.example/app/x",
    "https://sdpondemand.manageengine.co",
    "https://evil-sdpondemand.manageengine.com",
    "https://x.sdpondemand.manageengine.com/app/x",
    "https://servicedeskplus.cn.evil.example",
    "https://sdpondemand.manageengine.com.au/app/x",  # not a vendor-listed host (see the table)
)
# ManageEngine's "Data Centres" page for the ServiceDesk Plus Cloud API and Zoho's multi-DC page.
VENDOR_TABLE = {
    "sdpondemand.manageengine.com": "accounts.zoho.com",
    "sdpondemand.manageengine.eu": "accounts.zoho.eu",
    "sdpondemand.manageengine.in": "accounts.zoho.in",
    "servicedeskplus.net.au": "accounts.zoho.com.au",
    "servicedeskplus.cn": "accounts.zoho.com.cn",
    "servicedeskplus.jp": "accounts.zoho.jp",
    "servicedeskplus.ca": "accounts.zohocloud.ca",
    "servicedeskplus.uk": "accounts.zoho.uk",
    "servicedeskplus.sa": "accounts.zoho.sa",
}


@pytest.mark.parametrize(
    ("host", "pattern", "expected"),
    [
        ("acme.atlassian.net", "*.atlassian.net", True),
        ("a.b.atlassian.net", "*.atlassian.net", True),
        ("ACME.atlassian.net.", "*.atlassian.net", True),
        ("atlassian.net", "*.atlassian.net", False),
        ("evilatlassian.net", "*.atlassian.net", False),
        ("acme.atlassian.net.evil.example", "*.atlassian.net", False),
        ("sdpondemand.manageengine.com", "sdpondemand.manageengine.com", True),
        ("sdpondemand.manageengine.com.evil.example", "sdpondemand.manageengine.com", False),
        ("x.sdpondemand.manageengine.com", "sdpondemand.manageengine.com", False),
    ],
)
def test_hosts_match_exactly_or_by_whole_labels(host: str, pattern: str, expected: bool) -> None:
    assert host_matches(host, pattern) is expected


@pytest.mark.parametrize("url", LOOKALIKES)
def test_a_host_that_only_looks_like_servicedesk_plus_cloud_is_refused(url: str) -> None:
    with pytest.raises(BaseUrlError, match="not a servicedesk_plus host"):
        check_base_url("servicedesk_plus", url)


@pytest.mark.parametrize("url", LOOKALIKES)
def test_with_allow_custom_host_a_lookalike_is_a_custom_host_without_zoho(url: str) -> None:
    assert check_base_url("servicedesk_plus", url, allow_custom_host=True) == url
    assert not is_vendor_host("servicedesk_plus", url)  # the worker DNS-checks and pins it
    assert sdp_data_centre(url) is None
    assert not ServiceDeskPlusPlugin.is_cloud(url)  # authtoken: no Zoho credentials leave
    with pytest.raises(BaseUrlError):
        zoho_accounts_url(url)


def test_the_table_is_the_vendors() -> None:
    assert {dc.host: dc.accounts_host for dc in SDP_CLOUD_DATA_CENTRES.values()} == VENDOR_TABLE
    assert sorted(SDP_CLOUD_DATA_CENTRES) == sorted(["us", "eu", "in", "au", "cn", "jp", "ca", "uk", "sa"])


@pytest.mark.parametrize(("host", "accounts"), sorted(VENDOR_TABLE.items()))
def test_each_data_centre_host_maps_to_its_own_accounts_host(host: str, accounts: str) -> None:
    url = f"https://{host}/app/itdesk"
    assert check_base_url("servicedesk_plus", url) == url
    assert check_base_url("servicedesk_plus", f"https://{host.upper()}./app/itdesk/")  # normalised
    assert is_vendor_host("servicedesk_plus", url)
    assert ServiceDeskPlusPlugin.is_cloud(url)
    assert zoho_accounts_url(url) == f"https://{accounts}/oauth/v2/token"


@pytest.mark.parametrize("code", sorted(SDP_CLOUD_DATA_CENTRES))
def test_a_custom_domain_names_its_data_centre_and_gets_the_tables_accounts_host(code: str) -> None:
    url = "https://sdpondemand.manageengine.evil.example/app/x"
    options = {"allow_custom_host": "true", "zoho_data_centre": code}
    assert check_base_url("servicedesk_plus", url, allow_custom_host=True, zoho_data_centre=code) == url
    assert ServiceDeskPlusPlugin.is_cloud(url, options)
    assert zoho_accounts_url(url, options) == SDP_CLOUD_DATA_CENTRES[code].token_url
    assert "evil" not in zoho_accounts_url(url, options)


@pytest.mark.parametrize("code", ["", "EU", "evil.example", "com", "eu ", "127.0.0.1"])
def test_an_unknown_data_centre_is_refused_with_the_valid_codes(code: str) -> None:
    with pytest.raises(
        BaseUrlError, match=r"unknown zoho_data_centre .*one of: us, eu, in, au, cn, jp, ca, uk, sa"
    ):
        check_base_url(
            "servicedesk_plus", "https://sdp.acme.example", allow_custom_host=True, zoho_data_centre=code
        )


def test_a_data_centre_that_contradicts_the_cloud_host_is_refused() -> None:
    url = "https://sdpondemand.manageengine.com/app/x"
    assert check_base_url("servicedesk_plus", url, zoho_data_centre="us") == url
    with pytest.raises(BaseUrlError, match="contradicts"):
        check_base_url("servicedesk_plus", url, zoho_data_centre="eu")


def test_the_data_centre_option_is_for_servicedesk_plus_only() -> None:
    from ticket_enhancer_dev.cli.errors import CliError
    from ticket_enhancer_dev.cli.tools import check_tool_options

    with pytest.raises(CliError, match="ServiceDesk Plus only"):
        check_tool_options("jira", {"zoho_data_centre": "us"})
    check_tool_options("servicedesk_plus", {"zoho_data_centre": "us"})


# -- the plugin: where the Zoho credentials go ------------------------------------------------------


def _tenant(base_url: str, options: dict[str, str], transport: httpx.MockTransport) -> TenantContext:
    config = TenantConfig(
        tenant_id="acme",
        tool_type="servicedesk_plus",
        base_url=base_url,
        secret_id="ticket-enhancer/servicedesk_plus/acme",
        options=options,
    )
    secret = TenantSecret(
        api_token=SecretStr("on-prem-authtoken"),
        zoho_client_id="1000.CLIENT",
        zoho_client_secret=SecretStr("zoho-client-secret"),
        zoho_refresh_token=SecretStr("1000.refresh"),
    )
    return TenantContext(config=config, secret=secret, http=httpx.AsyncClient(transport=transport))


def _auth_headers(base_url: str, options: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    posted: list[str] = []

    def zoho(request: httpx.Request) -> httpx.Response:
        posted.append(str(request.url))
        return httpx.Response(200, json={"access_token": "zoho-access", "expires_in": 3600})

    async def scenario() -> dict[str, str]:
        tenant = _tenant(base_url, options, httpx.MockTransport(zoho))
        try:
            return await ServiceDeskPlusPlugin().auth_headers(tenant)
        finally:
            assert tenant.http is not None
            await tenant.http.aclose()

    return asyncio.run(scenario()), posted


def test_a_lookalike_custom_host_sends_the_authtoken_and_never_the_zoho_secret() -> None:
    headers, posted = _auth_headers(
        "https://sdpondemand.manageengine.evil.example/app/x", {"allow_custom_host": "true"}
    )
    assert posted == []
    assert headers["authtoken"] == "on-prem-authtoken"
    assert "Authorization" not in headers


def test_a_custom_domain_cloud_tenant_refreshes_at_the_tables_accounts_host() -> None:
    headers, posted = _auth_headers(
        "https://helpdesk.acme-corp.example/app/x", {"allow_custom_host": "true", "zoho_data_centre": "ca"}
    )
    assert posted == ["https://accounts.zohocloud.ca/oauth/v2/token"]
    assert headers["Authorization"] == "Zoho-oauthtoken zoho-access"


def test_an_exact_cloud_host_refreshes_at_its_own_accounts_host() -> None:
    _, posted = _auth_headers("https://servicedeskplus.net.au/app/itdesk", {})
    assert posted == ["https://accounts.zoho.com.au/oauth/v2/token"]


def test_an_unknown_data_centre_fails_the_token_refresh_without_posting() -> None:
    with pytest.raises(VendorAuthError, match="unknown zoho_data_centre"):
        _auth_headers("https://helpdesk.acme-corp.example/app/x", {"zoho_data_centre": "mars"})
