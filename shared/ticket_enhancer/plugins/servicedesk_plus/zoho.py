"""Zoho OAuth for ServiceDesk Plus Cloud: one access token per tenant for the whole deployment.

Zoho's accounts server (the data centre's own, ``datacentres``) gives at most 10 access tokens per
refresh token in 10 minutes and keeps 15 alive (the 16th invalidates the oldest); past the limit it
answers HTTP 200 with ``{"error": "Access Denied"}``. So:

* each container keeps the token in memory until shortly before it expires (``TtlCache``), and one
  coroutine per tenant asks for it at a time;
* containers share it through ``TenantContext.tokens`` (``ticket_enhancer.tokens``): the first that
  finds it missing or stale takes a lease (a conditional write) and refreshes; the others wait for
  its token, a few seconds at most, then give up retryably;
* a refusal ("Access Denied", 429, 5xx, no answer) is retryable: the job is deferred and the
  refusal recorded, so no container asks again for ``REFUSED_WAIT_SECONDS``; wrong client
  credentials or a revoked refresh token (``invalid_client``, ``invalid_code``) are final (alarmed).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ticket_enhancer import deadline
from ticket_enhancer.cache import TtlCache
from ticket_enhancer.plugins.errors import (
    VendorAuthError,
    VendorError,
    VendorRateLimitedError,
    VendorUnavailableError,
)

if TYPE_CHECKING:
    import asyncio

    from ticket_enhancer.plugins.context import TenantContext
    from ticket_enhancer.plugins.servicedesk_plus.datacentres import DataCentre
    from ticket_enhancer.tokens import SharedTokens

logger = logging.getLogger(__name__)
KIND = "zoho"
REFRESH_TIMEOUT = 10.0  # seconds for the call to Zoho (and never past the record's deadline)
TOKEN_MARGIN_SECONDS = 120.0  # a token this close to its expiry is refreshed
LEASE_SECONDS = 20.0  # one refresh (at most the HTTP call's time) and the write after it
REFUSED_WAIT_SECONDS = 300.0  # Zoho's window is 10 minutes: ask again after half of it
FORGET_INTERVAL_SECONDS = 600.0  # a refused token is replaced at most this often (per container)
WAITS = (0.25, 0.5, 1.0, 2.0, 2.0)  # how long the others wait for the lease holder's token
FINAL_ERRORS = frozenset({"invalid_client", "invalid_code", "invalid_client_secret", "unauthorized_client"})
TOOL = "servicedesk_plus"

Sleep = Callable[[float], Awaitable[None]]


def _asyncio() -> Any:
    """asyncio, imported on first use (the webhook function imports this module but never waits)."""
    import asyncio

    return asyncio


def _refused(message: str, retry_after: float = REFUSED_WAIT_SECONDS) -> VendorRateLimitedError:
    return VendorRateLimitedError(message, tool_type=TOOL, operation="oauth", retry_after=retry_after)


async def refresh(tenant: TenantContext, centre: DataCentre) -> tuple[str, float]:
    """A new access token and its epoch expiry, from the data centre's accounts host."""
    import httpx  # worker-only

    secret = tenant.secret
    if tenant.http is None or not (
        secret.zoho_client_id and secret.zoho_client_secret and secret.zoho_refresh_token
    ):
        raise VendorAuthError(
            "cloud tenant needs zoho_client_id, zoho_client_secret, zoho_refresh_token",
            tool_type=TOOL,
            operation="oauth",
        )
    form = {
        "grant_type": "refresh_token",
        "client_id": secret.zoho_client_id,
        "client_secret": secret.zoho_client_secret.get_secret_value(),
        "refresh_token": secret.zoho_refresh_token.get_secret_value(),
    }
    try:
        response = await tenant.http.post(
            centre.token_url, data=form, timeout=deadline.remaining(REFRESH_TIMEOUT)
        )
    except httpx.HTTPError as exc:
        raise VendorUnavailableError(
            f"Zoho token refresh: {type(exc).__name__}", tool_type=TOOL, operation="oauth"
        ) from None
    if response.status_code == 429 or response.status_code >= 500:
        raise _refused(f"Zoho token refresh answered HTTP {response.status_code}")
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    token, error = body.get("access_token"), str(body.get("error", ""))[:80]
    if response.is_success and isinstance(token, str) and token:
        expires = body.get("expires_in", 3600)
        seconds = (
            float(expires) if isinstance(expires, int | float) and not isinstance(expires, bool) else 3600.0
        )
        return token, time.time() + seconds
    # Zoho answers its own refusals with HTTP 200; another 4xx is not Zoho's token endpoint at all.
    if error in FINAL_ERRORS or (400 <= response.status_code < 500 and response.status_code != 429):
        raise VendorAuthError(
            f"Zoho refused the tenant's OAuth client or refresh token (HTTP {response.status_code}, "
            f"{error or 'no access_token'}): set new ones with "
            "`tenants update <tenant> --credential zoho_refresh_token=-`",
            tool_type=TOOL,
            operation="oauth",
            status=response.status_code,
        )
    # "Access Denied" (too many refreshes in 10 minutes) and anything else: wait, then try again.
    raise _refused(f"Zoho token refresh refused (HTTP {response.status_code}, {error or 'no access_token'})")


class ZohoTokens:
    """The tenant's access token: from memory, from the deployment's shared store, or refreshed."""

    def __init__(self, *, clock: Callable[[], float] = time.time, sleep: Sleep | None = None) -> None:
        self._cache: TtlCache[str, str] = TtlCache()
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}
        self._forgotten: dict[str, float] = {}  # tenant -> when a refused token was last dropped
        self._refused: dict[str, str] = {}  # tenant -> the token ServiceDesk Plus refused last
        self._clock = clock
        self._sleep = sleep  # None: asyncio.sleep, imported on first use (not on the webhook path)

    def cached(self, tenant: TenantContext) -> str | None:
        found = self._cache.get(tenant.tenant_id)
        return None if found is None or found == self._refused.get(tenant.tenant_id) else found

    async def token(self, tenant: TenantContext, centre: DataCentre) -> str:
        cached = self.cached(tenant)
        if cached is not None:
            return cached
        aio = _asyncio()
        lock = self._locks.setdefault((id(aio.get_running_loop()), tenant.tenant_id), aio.Lock())
        async with lock:
            cached = self.cached(tenant)
            if cached is not None:
                return cached
            if tenant.tokens is None:
                token, expires_at = await refresh(tenant, centre)
            else:
                try:
                    token, expires_at = await self._shared(tenant, centre, tenant.tokens)
                except VendorError:
                    raise
                except Exception as exc:  # the shared store failing (AWS) never stops the notes:
                    # this container refreshes its own token and keeps it for its hour.
                    logger.warning(
                        "shared token store unavailable: refreshing this container's own Zoho token",
                        extra={"tenant_id": tenant.tenant_id, "error": type(exc).__name__},
                    )
                    token, expires_at = await refresh(tenant, centre)
            self._cache.put(tenant.tenant_id, token, expires_at - self._clock() - TOKEN_MARGIN_SECONDS)
            return token

    async def forget(self, tenant: TenantContext, token: str) -> bool:
        """ServiceDesk Plus refused ``token`` (revoked, or invalidated by a 16th): drop it here and
        in the shared store (only if it still holds that token); True when a new token may be tried.

        At most once per ``FORGET_INTERVAL_SECONDS`` per tenant and container: a 401 that is not the
        token's fault (the technician lost a permission) must not spend Zoho's refreshes job by job."""
        now = self._clock()
        if now - self._forgotten.get(tenant.tenant_id, -FORGET_INTERVAL_SECONDS) < FORGET_INTERVAL_SECONDS:
            return False
        self._forgotten[tenant.tenant_id] = now
        # A read in flight (another record's) may bring the refused token back: it is never used again.
        self._refused[tenant.tenant_id] = token
        self._cache.drop(tenant.tenant_id)
        if tenant.tokens is not None:
            await _asyncio().to_thread(tenant.tokens.forget, tenant.tenant_id, KIND, token)
        return True

    async def _shared(
        self, tenant: TenantContext, centre: DataCentre, shared: SharedTokens
    ) -> tuple[str, float]:
        tenant_id = tenant.tenant_id
        owner = uuid.uuid4().hex
        for wait in (*WAITS, None):
            now = self._clock()
            found = await _asyncio().to_thread(shared.get, tenant_id, KIND)
            usable = found is not None and found.token != self._refused.get(tenant_id)
            if found is not None and usable and found.fresh(now, TOKEN_MARGIN_SECONDS):
                return found.token, found.expires_at
            if found is not None and not usable and found.token:  # still stored: drop it there too
                await _asyncio().to_thread(shared.forget, tenant_id, KIND, found.token)
            if found is not None and found.refused_until > now:
                raise _refused(
                    "Zoho refused a token refresh for this tenant lately", found.refused_until - now
                )
            fresh_after = now + TOKEN_MARGIN_SECONDS
            if await _asyncio().to_thread(
                shared.lease,
                tenant_id,
                KIND,
                owner,
                now=now,
                until=now + LEASE_SECONDS,
                fresh_after=fresh_after,
            ):
                return await self._refresh_leased(tenant, centre, shared, owner)
            if wait is None:
                break
            await (self._sleep or _asyncio().sleep)(wait)
        raise VendorUnavailableError(
            "another worker is refreshing the tenant's Zoho token", tool_type=TOOL, operation="oauth"
        )

    async def _refresh_leased(
        self, tenant: TenantContext, centre: DataCentre, shared: SharedTokens, owner: str
    ) -> tuple[str, float]:
        tenant_id = tenant.tenant_id
        try:
            token, expires_at = await refresh(tenant, centre)
        except VendorRateLimitedError as exc:
            until = self._clock() + (exc.retry_after or REFUSED_WAIT_SECONDS)
            await _asyncio().to_thread(shared.refuse, tenant_id, KIND, owner, until)
            raise
        except BaseException:
            await _asyncio().to_thread(shared.release, tenant_id, KIND, owner)
            raise
        await _asyncio().to_thread(shared.store, tenant_id, KIND, owner, token, expires_at)
        return token, expires_at
