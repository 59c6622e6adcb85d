"""Freshservice's assignment group by name (its ticket carries only ``group_id``).

Against the vendor sandbox: the fetched ticket shows its group's name in ``group`` and keeps the id
in ``group_id``; a second ticket of the group asks nothing more (cached per tenant and group for an
hour); a ticket without a group asks nothing; a lookup that fails (404, 403, a network error) keeps
today's fallback (the id), logs one warning without secrets and never fails the job (the worker
still posts its note); a rate limit defers as for any vendor call; the history sync lists the groups
once and names its tickets' groups from that listing, and falls back to the ids when it cannot.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ticket_enhancer import deadline
from ticket_enhancer.models import TenantConfig, TenantSecret, Ticket
from ticket_enhancer.plugins.context import TenantContext
from ticket_enhancer.plugins.errors import VendorRateLimitedError
from ticket_enhancer.plugins.freshservice.groups import (
    FAULT_SECONDS,
    NAME_SECONDS,
    REFUSED_SECONDS,
    GroupNames,
)
from ticket_enhancer.plugins.freshservice.plugin import FreshservicePlugin
from ticket_enhancer.plugins.requests import RetryPolicy
from ticket_enhancer_dev.sandbox.history import GROUPS
from ticket_enhancer_dev.sandbox.tools.freshservice import SEED_TICKET
from ticket_enhancer_dev.sandbox.tools.freshservice_history import GROUP_IDS
from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

from tests.integration.test_worker import (  # noqa: F401 (atomic_conditional_writes: an autouse fixture)
    WorkerFactory,
    atomic_conditional_writes,
)
from tests.support import Stack

pytestmark = pytest.mark.filterwarnings("ignore:Dimension 'tool' has already been added")

TOKEN = "fs-api-key-7c41d9"  # must never reach a log
SEED_ID = str(SEED_TICKET["id"])
SEED_GROUP = str(SEED_TICKET["group_id"])
SEED_NAME = next(n for n, i in GROUP_IDS.items() if str(i) == SEED_GROUP)
OTHER_NAME = "Server Operations"
LOGGER = "ticket_enhancer.plugins.freshservice.groups"
SINCE = datetime.now(UTC) - timedelta(days=400)

Fault = Callable[[httpx.Request], httpx.Response | None]


class _Metrics:
    def add_metric(self, name: str, unit: Any, value: float) -> None:
        return None


async def _no_sleep(_: float) -> None:
    return None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fresh_plugin(clock: Clock | None = None) -> FreshservicePlugin:
    """A plugin of its own (the registry's is shared by every test): an empty group cache."""
    found = FreshservicePlugin(
        metrics=_Metrics(), sleep=_no_sleep, retry=RetryPolicy(attempts=2, base_delay=0, max_delay=0)
    )
    if clock is not None:
        found.groups = GroupNames(clock=clock)
    return found


class Vendor:
    """The sandbox behind a tenant's base URL; ``fault`` answers (or raises) before it."""

    def __init__(self) -> None:
        self.sandbox = VendorSandbox()
        self.fault: Fault | None = None
        self.paths: list[str] = []

    def tenant(self, tenant_id: str = "acme") -> TenantContext:
        config = TenantConfig(
            tenant_id=tenant_id,
            tool_type="freshservice",
            base_url="https://acme.freshservice.com/_sandbox/freshservice",
            secret_id=f"ticket-enhancer/freshservice/{tenant_id}",
        )
        secret = TenantSecret.model_validate({"api_token": TOKEN})
        inner = self.sandbox.async_transport()

        async def handle(request: httpx.Request) -> httpx.Response:
            self.paths.append(request.url.path.removeprefix("/_sandbox/freshservice"))
            if self.fault is not None and (answer := self.fault(request)) is not None:
                return answer
            return await inner.handle_async_request(request)

        return TenantContext(
            config=config, secret=secret, http=httpx.AsyncClient(transport=httpx.MockTransport(handle))
        )

    def group_calls(self) -> list[str]:
        return [p for p in self.paths if p.startswith("/api/v2/groups")]


def fetch(
    plugin: FreshservicePlugin, vendor: Vendor, *ticket_ids: str, tenant_id: str = "acme"
) -> list[Ticket]:
    async def run() -> list[Ticket]:
        context = vendor.tenant(tenant_id)
        try:
            return [await plugin.get_ticket(context, t) for t in ticket_ids]
        finally:
            assert context.http is not None
            await context.http.aclose()

    return asyncio.run(run())


def on_groups(
    status: int = 500,
    error: type[httpx.TransportError] | None = None,
    headers: dict[str, str] | None = None,
) -> Fault:
    """Every groups call answers ``status`` (or fails with ``error``); other calls reach the sandbox."""

    def fault(request: httpx.Request) -> httpx.Response | None:
        if "/api/v2/groups" not in request.url.path:
            return None
        if error is not None:
            raise error("refused", request=request)
        return httpx.Response(status, json={"message": "fault"}, headers=headers or {})

    return fault


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def no_secret_in(records: list[logging.LogRecord]) -> None:
    for record in records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in json.dumps({k: str(v) for k, v in vars(record).items()})
        assert "authorization" not in json.dumps({k: str(v) for k, v in vars(record).items()}).lower()


# -- the fetched ticket -------------------------------------------------------------------------


def test_the_ticket_shows_its_groups_name_and_keeps_its_id() -> None:
    vendor = Vendor()
    (ticket,) = fetch(fresh_plugin(), vendor, SEED_ID)
    assert (ticket.group, ticket.group_id) == (SEED_NAME, SEED_GROUP)
    assert vendor.paths == [f"/api/v2/tickets/{SEED_ID}", f"/api/v2/groups/{SEED_GROUP}"]


def test_a_second_ticket_of_the_group_asks_nothing_more_for_an_hour() -> None:
    vendor, clock = Vendor(), Clock()
    plugin = fresh_plugin(clock)
    vendor.sandbox.add_ticket("freshservice", "124", {"group_id": int(SEED_GROUP)})
    vendor.sandbox.add_ticket("freshservice", "125", {"group_id": GROUP_IDS[OTHER_NAME]})
    tickets = fetch(plugin, vendor, SEED_ID, "124", "125")
    assert [t.group for t in tickets] == [SEED_NAME, SEED_NAME, OTHER_NAME]
    assert vendor.group_calls() == [f"/api/v2/groups/{SEED_GROUP}", f"/api/v2/groups/{GROUP_IDS[OTHER_NAME]}"]

    fetch(plugin, vendor, "124")  # another job, same container, within the hour: from the cache
    assert len(vendor.group_calls()) == 2
    fetch(plugin, vendor, "124", tenant_id="globex")  # another tenant: its own lookup
    assert len(vendor.group_calls()) == 3

    clock.now += NAME_SECONDS + 1  # an hour on: asked again (a renamed group shows its new name)
    (ticket,) = fetch(plugin, vendor, "124")
    assert ticket.group == SEED_NAME
    assert len(vendor.group_calls()) == 4


def test_a_ticket_without_a_group_asks_nothing() -> None:
    vendor = Vendor()
    vendor.sandbox.add_ticket("freshservice", "126", {"group_id": None})
    (ticket,) = fetch(fresh_plugin(), vendor, "126")
    assert (ticket.group, ticket.group_id) == ("", "")
    assert vendor.group_calls() == []


@pytest.mark.parametrize(
    ("fault", "remembered_for"),
    [
        pytest.param(on_groups(404), REFUSED_SECONDS, id="404"),
        pytest.param(on_groups(403), REFUSED_SECONDS, id="403-no-admin-scope"),
        pytest.param(on_groups(error=httpx.ConnectError), FAULT_SECONDS, id="network-error"),
        pytest.param(on_groups(502), FAULT_SECONDS, id="5xx"),
    ],
)
def test_a_failed_lookup_keeps_the_id_and_warns_once_without_secrets(
    fault: Fault, remembered_for: int, caplog: pytest.LogCaptureFixture
) -> None:
    vendor, clock = Vendor(), Clock()
    vendor.fault = fault
    vendor.sandbox.add_ticket("freshservice", "124", {"group_id": int(SEED_GROUP)})
    plugin = fresh_plugin(clock)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        (ticket,) = fetch(plugin, vendor, SEED_ID)
    assert (ticket.group, ticket.group_id) == (SEED_GROUP, SEED_GROUP)  # today's fallback: the id
    (warning,) = warnings_of(caplog)
    assert warning.__dict__["group_id"] == SEED_GROUP
    assert warning.__dict__["tenant_id"] == "acme"
    no_secret_in(caplog.records)

    calls = len(vendor.group_calls())
    vendor.fault = None  # the vendor answers again, but the failure is remembered a while:
    clock.now += remembered_for - 1  # a final refusal 10 minutes, a passing fault one
    (again,) = fetch(plugin, vendor, "124")
    assert again.group == SEED_GROUP
    assert len(vendor.group_calls()) == calls  # no call, no warning per ticket meanwhile
    assert len(warnings_of(caplog)) == 1

    clock.now += 2  # then the next ticket asks again, and is named
    (later,) = fetch(plugin, vendor, "124")
    assert later.group == SEED_NAME
    assert len(vendor.group_calls()) == calls + 1


def test_an_answer_without_a_name_keeps_the_id() -> None:
    vendor = Vendor()
    vendor.fault = lambda r: (
        httpx.Response(200, json={"group": {"id": 1}}) if "/groups/" in r.url.path else None
    )
    (ticket,) = fetch(fresh_plugin(), vendor, SEED_ID)
    assert ticket.group == SEED_GROUP


def test_a_rate_limited_lookup_defers_like_every_vendor_call() -> None:
    vendor = Vendor()
    vendor.fault = on_groups(429, headers={"Retry-After": "3600"})  # longer than a call may wait
    with pytest.raises(VendorRateLimitedError) as limited:
        fetch(fresh_plugin(), vendor, SEED_ID)
    assert limited.value.retry_after == 3600


def test_a_lookup_with_no_time_left_sends_nothing_and_keeps_the_id() -> None:
    """The record's deadline bounds the group call as every vendor call (``deadline.CURRENT``)."""
    vendor, plugin = Vendor(), fresh_plugin()

    async def run() -> str:
        context = vendor.tenant()
        token = deadline.CURRENT.set(deadline.Deadline(0.0))
        try:
            return await plugin.groups.name(plugin, context, SEED_GROUP)
        finally:
            deadline.CURRENT.reset(token)
            assert context.http is not None
            await context.http.aclose()

    assert asyncio.run(run()) == ""
    assert vendor.paths == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=300),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(["group", "name", "id"]), inner, max_size=3)
        ),
        max_leaves=8,
    )
)
def test_any_answer_to_the_lookup_gives_a_bounded_name_or_the_id(body: Any) -> None:
    vendor = Vendor()
    vendor.fault = lambda r: httpx.Response(200, json=body) if "/groups/" in r.url.path else None
    (ticket,) = fetch(fresh_plugin(), vendor, SEED_ID)
    assert ticket.group_id == SEED_GROUP
    assert ticket.group
    assert len(ticket.group) <= 255


# -- the worker: the note is posted whatever the lookup does --------------------------------------


@pytest.fixture
def workers(aws: Stack) -> Iterator[WorkerFactory]:
    """``workers("freshservice")``: a tenant of its own, its vendor (the sandbox) and its worker."""
    factory = WorkerFactory(aws)
    yield factory
    factory.close()


@pytest.mark.parametrize(
    ("status", "error"), [(403, None), (404, None), (None, httpx.ConnectError)], ids=["403", "404", "network"]
)
def test_a_failed_lookup_still_posts_the_note(
    workers: WorkerFactory, status: int | None, error: type[httpx.TransportError] | None
) -> None:
    h = workers("freshservice")
    h.vendor.fail("GET", r"/api/v2/groups/\d+", status=status or 503, count=10, error=error)
    job = h.job()
    assert h.run_jobs(job) == []
    assert h.record(job)["state"] == "done"
    assert len(h.vendor.notes(SEED_ID)) == 1
    assert h.vendor.calls("GET", r"/api/v2/groups/\d+")


def test_the_worker_names_each_group_once_per_tenant(workers: WorkerFactory) -> None:
    h = workers("freshservice")
    h.vendor.sandbox.add_ticket("freshservice", "124", {"group_id": int(SEED_GROUP)})
    h.vendor.sandbox.add_ticket("freshservice", "126", {"group_id": None})
    assert h.run_jobs(h.job()) == []
    assert h.run_jobs(h.job("124")) == []
    assert h.run_jobs(h.job("126")) == []
    assert [s.path for s in h.vendor.calls("GET", r"/api/v2/groups.*")] == [f"/api/v2/groups/{SEED_GROUP}"]
    assert all(len(h.vendor.notes(t)) == 1 for t in (SEED_ID, "124", "126"))


# -- the history sync -----------------------------------------------------------------------------


def history(plugin: FreshservicePlugin, vendor: Vendor) -> list[Any]:
    async def run() -> list[Any]:
        context = vendor.tenant()
        found: list[Any] = []
        cursor: str | None = None
        try:
            while True:
                page = await plugin.history_page(context, since=SINCE, cursor=cursor)
                found += page.tickets
                cursor = page.next_cursor
                if cursor is None:
                    return found
        finally:
            assert context.http is not None
            await context.http.aclose()

    return asyncio.run(run())


def test_the_history_names_groups_from_one_listing() -> None:
    vendor = Vendor()
    tickets = history(fresh_plugin(), vendor)
    assert len([p for p in vendor.paths if p == "/api/v2/tickets"]) > 1  # several pages ...
    assert vendor.group_calls() == ["/api/v2/groups"]  # ... one listing (5 groups: one page)
    by_id = {str(i): n for n, i in GROUP_IDS.items()}
    assert {t.group for t in tickets} == set(GROUPS.values())
    assert all(t.group == by_id[t.group_id] for t in tickets)


def test_the_group_listing_follows_its_pages() -> None:
    vendor = Vendor()
    rows = [{"id": 17_100_000 + n, "name": f"Team {n}"} for n in range(150)]

    def paged(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/api/v2/groups"):
            page, size = int(request.url.params["page"]), int(request.url.params["per_page"])
            assert size == 100  # Freshservice's maximum
            more = (
                {"link": '<https://acme.freshservice.com/api/v2/groups?page=2>; rel="next"'}
                if page == 1
                else {}
            )
            return httpx.Response(200, json={"groups": rows[(page - 1) * size : page * size]}, headers=more)
        return None

    vendor.fault = paged
    plugin = fresh_plugin()

    async def run() -> Any:
        context = vendor.tenant()
        try:
            return await plugin.groups.listing(plugin, context)
        finally:
            assert context.http is not None
            await context.http.aclose()

    names = asyncio.run(run())
    assert len(names) == 150
    assert names["17100149"] == "Team 149"
    assert vendor.group_calls() == ["/api/v2/groups", "/api/v2/groups"]


@pytest.mark.parametrize("status", [403, 404, 502])
def test_a_failed_listing_never_fails_the_sync(status: int, caplog: pytest.LogCaptureFixture) -> None:
    vendor = Vendor()
    vendor.fault = lambda r: httpx.Response(status, json={}) if r.url.path.endswith("/groups") else None
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        tickets = history(fresh_plugin(), vendor)
    assert tickets
    assert all(t.group == t.group_id and t.group_id for t in tickets)  # as before: the ids
    assert len(warnings_of(caplog)) >= 1
    # remembered (a refusal 10 minutes, a 5xx one): one listing call, one warning for the whole run
    assert vendor.group_calls() == ["/api/v2/groups"] * (1 if status != 502 else 2)  # 502: retried once
    assert len(warnings_of(caplog)) == 1
    no_secret_in(caplog.records)
