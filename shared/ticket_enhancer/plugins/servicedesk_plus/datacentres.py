"""ServiceDesk Plus Cloud's data centres: each one's API host and its fixed Zoho accounts host.

The Zoho refresh token and client secret are only ever sent to an accounts host from this table,
chosen by the tenant's exact cloud host or, for a custom domain, by its ``zoho_data_centre``
option: never derived from the base URL.
"""

from __future__ import annotations

from dataclasses import dataclass

from ticket_enhancer.urls import BaseUrlError, url_host


@dataclass(frozen=True, slots=True)
class DataCentre:
    """A ServiceDesk Plus Cloud data centre: its API host and its Zoho accounts (OAuth) host."""

    code: str
    host: str
    accounts_host: str

    @property
    def token_url(self) -> str:
        return f"https://{self.accounts_host}/oauth/v2/token"


# ManageEngine's "Data Centres" page (sdpod-v3-api/getting-started/data-centers.html) and Zoho's
# multi-DC page (accounts/protocol/oauth/multi-dc.html). Never derived from a tenant's URL.
SDP_CLOUD_DATA_CENTRES: dict[str, DataCentre] = {
    dc.code: dc
    for dc in (
        DataCentre("us", "sdpondemand.manageengine.com", "accounts.zoho.com"),
        DataCentre("eu", "sdpondemand.manageengine.eu", "accounts.zoho.eu"),
        DataCentre("in", "sdpondemand.manageengine.in", "accounts.zoho.in"),
        DataCentre("au", "servicedeskplus.net.au", "accounts.zoho.com.au"),
        DataCentre("cn", "servicedeskplus.cn", "accounts.zoho.com.cn"),
        DataCentre("jp", "servicedeskplus.jp", "accounts.zoho.jp"),
        DataCentre("ca", "servicedeskplus.ca", "accounts.zohocloud.ca"),
        DataCentre("uk", "servicedeskplus.uk", "accounts.zoho.uk"),
        DataCentre("sa", "servicedeskplus.sa", "accounts.zoho.sa"),
    )
}
SDP_CLOUD_HOSTS: dict[str, DataCentre] = {dc.host: dc for dc in SDP_CLOUD_DATA_CENTRES.values()}
ZOHO_DATA_CENTRE_OPTION = "zoho_data_centre"


def sdp_data_centre(url: str, zoho_data_centre: str | None = None) -> DataCentre | None:
    """The ServiceDesk Plus Cloud data centre of a tenant, from the fixed table only.

    By the base URL's exact cloud host; for a custom domain, by the tenant's ``zoho_data_centre``
    option. ``None``: on-prem (authtoken). ``BaseUrlError`` for an unknown code, or one that names
    another data centre than the cloud host does.
    """
    by_host = SDP_CLOUD_HOSTS.get(url_host(url))
    if zoho_data_centre is None:
        return by_host
    centre = SDP_CLOUD_DATA_CENTRES.get(zoho_data_centre)
    if centre is None:
        raise BaseUrlError(
            f"unknown {ZOHO_DATA_CENTRE_OPTION} {zoho_data_centre!r}; "
            f"one of: {', '.join(SDP_CLOUD_DATA_CENTRES)}"
        )
    if by_host is not None and by_host is not centre:
        raise BaseUrlError(
            f"{ZOHO_DATA_CENTRE_OPTION} {zoho_data_centre!r} contradicts the base URL host "
            f"{by_host.host!r} (data centre {by_host.code!r})"
        )
    return centre
