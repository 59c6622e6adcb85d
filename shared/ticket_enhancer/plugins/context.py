"""What a plugin call receives: the raw webhook request and the tenant it is for."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # httpx is imported only on the worker path
    import httpx

    from ticket_enhancer.models import TenantConfig, TenantSecret
    from ticket_enhancer.tokens import SharedTokens


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only header mapping (HTTP APIs lowercase names; REST APIs do not)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items: dict[str, str] = {k.lower(): v for k, v in (items or {}).items()}

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:  # values may be signatures or tokens: never print them
        return f"Headers({sorted(self._items)})"


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A delivery as received: raw body bytes (never re-serialised), headers, path parameters."""

    body: bytes
    headers: Headers
    path_parameters: Mapping[str, str] = field(default_factory=dict)
    # When the request arrived (epoch seconds): signature timestamps are checked against it.
    # None: the plugin's own clock.
    received_at: float | None = None

    @property
    def tenant_id(self) -> str:
        return self.path_parameters.get("tenant_id", "")

    def __repr__(self) -> str:  # the body is ticket text: keep it out of logs
        return f"WebhookRequest(body=<{len(self.body)} bytes>, headers={self.headers!r})"


@dataclass(frozen=True, slots=True)
class TenantContext:
    """The tenant a call is for: its config, its secret and the shared HTTP client.

    ``pinned_address``: for a host the tenant chose, the address checked to be public for this job;
    vendor calls connect there (``plugins.http.send``), so DNS is not asked again mid-job.
    ``tokens``: access tokens shared by every worker container (``ticket_enhancer.tokens``), for
    issuers that limit refreshes (Zoho); None outside the worker (each process refreshes its own).
    """

    config: TenantConfig
    secret: TenantSecret
    http: httpx.AsyncClient | None = None
    pinned_address: str | None = None
    tokens: SharedTokens | None = None

    @property
    def tenant_id(self) -> str:
        return self.config.tenant_id
