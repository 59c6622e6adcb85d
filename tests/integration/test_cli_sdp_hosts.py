"""`tenants add` for ServiceDesk Plus: exact cloud hosts, custom hosts and ``zoho_data_centre``."""

from __future__ import annotations

import pytest

from tests.cli_support import Deployment

SDP = ("--tool", "servicedesk_plus", "--api-token", "technician-key")


@pytest.mark.parametrize(
    "base_url",
    [
        "https://sdpondemand.manageengine.evil.example/app/x",
        "https://sdpondemand.manageengine.127.0.0.1.nip.io",
    ],
)
def test_a_lookalike_cloud_host_is_refused_without_allow_custom_host(
    deployed: Deployment, base_url: str
) -> None:
    run = deployed.cli("tenants", "add", "lookalike", *SDP, "--base-url", base_url)
    assert run.code == 2
    assert "not a servicedesk_plus host" in run.err
    assert deployed.row("lookalike") is None


def test_a_custom_domain_cloud_portal_names_its_data_centre(deployed: Deployment) -> None:
    run = deployed.cli(
        "tenants",
        "add",
        "sdp-custom-cloud",
        *SDP,
        "--base-url",
        "https://helpdesk.acme-corp.example/app/itdesk",
        "--allow-custom-host",
        "--option",
        "zoho_data_centre=eu",
    )
    assert (run.code, run.err) == (0, "")
    row = deployed.row("sdp-custom-cloud")
    assert row is not None
    assert row["options"] == {"allow_custom_host": "true", "zoho_data_centre": "eu"}


@pytest.mark.parametrize(
    ("base_url", "code", "message"),
    [
        ("https://helpdesk.acme-corp.example", "mars", "unknown zoho_data_centre 'mars'; one of: us, eu, in"),
        ("https://helpdesk.acme-corp.example", "accounts.evil.example", "unknown zoho_data_centre"),
        ("https://sdpondemand.manageengine.com/app/x", "eu", "contradicts"),
    ],
)
def test_an_unknown_or_contradicting_data_centre_is_refused(
    deployed: Deployment, base_url: str, code: str, message: str
) -> None:
    run = deployed.cli(
        "tenants",
        "add",
        "sdp-bad-dc",
        *SDP,
        "--base-url",
        base_url,
        "--allow-custom-host",
        "--option",
        f"zoho_data_centre={code}",
    )
    assert run.code == 2
    assert message in run.err
    assert deployed.row("sdp-bad-dc") is None


def test_the_data_centre_option_is_refused_for_other_tools(deployed: Deployment) -> None:
    run = deployed.cli(
        "tenants",
        "add",
        "jira-dc",
        "--tool",
        "jira",
        "--base-url",
        "https://acme.atlassian.net",
        "--api-user",
        "bot@acme.example",
        "--api-token",
        "t",
        "--option",
        "zoho_data_centre=us",
    )
    assert run.code == 2
    assert "ServiceDesk Plus only" in run.err
