"""Issue 15, Jira Cloud as customers deploy it: scoped tokens and service accounts through Atlassian's
API gateway (``https://api.atlassian.com/ex/jira/<cloudId>``, links on the site from ``serverInfo``),
Automation's "Issue data (Automation format)" body, Retry-After on 503, a comment that came out
public (``jsdPublic: true``: deleted, alarmed) and an expired token (a clear, alarmed reason).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.models import TenantConfig, TenantSecret
from ticket_enhancer.plugins.context import Headers, TenantContext, WebhookRequest
from ticket_enhancer.plugins.jira.plugin import JiraPlugin
from ticket_enhancer.urls import BaseUrlError
from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id
from ticket_enhancer_dev.sandbox.tools import jira as jira_sandbox

from tests.integration.test_worker import (  # noqa: F401 (atomic_conditional_writes: an autouse fixture)
    FakeSleep,
    Harness,
    WorkerFactory,
    atomic_conditional_writes,
    sqs_record,
)
from tests.support import Stack

CLOUD_ID = "11223344-a1b2-3c4d-5e6f-aabbccddeeff"
GATEWAY = f"https://api.atlassian.com/ex/jira/{CLOUD_ID}"
ISSUE = seed_ticket_id("jira")


@pytest.fixture
def workers(aws: Stack) -> Iterator[WorkerFactory]:
    """``workers(tool, ...)``: a tenant, its vendor (the sandbox) and the tool's worker."""
    factory = WorkerFactory(aws)
    yield factory
    factory.close()


class MetricSpy:
    """Stands in for the worker's powertools ``Metrics``: records each metric's name."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.names.append(name)

    def flush_metrics(self) -> None:
        pass


def spy(h: Harness) -> MetricSpy:
    found = MetricSpy()
    h.worker.metrics = found  # type: ignore[assignment]
    return found


# -- onboarding: which base URLs a Jira tenant may have -----------------------------------------


def test_the_api_gateway_base_url_is_accepted_with_a_cloud_id() -> None:
    plugin = JiraPlugin()
    assert plugin.check_base_url(GATEWAY) == GATEWAY
    assert plugin.check_base_url(GATEWAY + "/") == GATEWAY
    assert plugin.check_base_url("https://acme.atlassian.net") == "https://acme.atlassian.net"
    site = {"site_url": "https://acme.atlassian.net"}
    assert plugin.check_base_url(GATEWAY, options=site) == GATEWAY


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("https://api.atlassian.com", {}),
        ("https://api.atlassian.com/ex/confluence/" + CLOUD_ID, {}),  # another product
        ("https://api.atlassian.com/ex/jira/not-a-cloud-id", {}),
        (GATEWAY + "/rest/api/3", {}),
        ("http://api.atlassian.com/ex/jira/" + CLOUD_ID, {}),
        ("https://api.atlassian.com.evil.example/ex/jira/" + CLOUD_ID, {}),
        (GATEWAY, {"site_url": "https://evil.example"}),
        (GATEWAY, {"site_url": "https://acme.atlassian.net/browse"}),
    ],
)
def test_other_gateway_urls_and_bad_site_urls_are_refused(url: str, options: dict[str, str]) -> None:
    with pytest.raises(BaseUrlError):
        JiraPlugin().check_base_url(url, options=options)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefx0123456789-/.%", max_size=60))
def test_only_the_exact_gateway_path_is_accepted(path: str) -> None:
    url = "https://api.atlassian.com/" + path
    try:
        JiraPlugin().check_base_url(url)
    except BaseUrlError:
        return
    rest = url.removeprefix("https://api.atlassian.com").rstrip("/")
    assert rest.lower().startswith("/ex/jira/")
    assert len(rest.removeprefix("/ex/jira/")) == 36  # a cloud id, nothing after it


# -- the Automation format ------------------------------------------------------------------------


def _tenant() -> TenantContext:
    config = TenantConfig(tenant_id="acme", tool_type="jira", base_url=GATEWAY, secret_id="s")
    return TenantContext(config=config, secret=TenantSecret())


def test_automation_format_and_jira_format_bodies_give_the_same_metadata() -> None:
    plugin, ticket = JiraPlugin(), jira_sandbox.SEED_TICKET
    bodies = [
        jira_sandbox.automation_body(dict(ticket)),
        {"issue": jira_sandbox.automation_body(dict(ticket))},
    ]
    found = [
        plugin.extract_metadata(WebhookRequest(json.dumps(b).encode(), Headers({})), _tenant())
        for b in bodies
    ]
    assert found[0].ticket_id == found[1].ticket_id == ISSUE
    assert found[0].display_key == "IT-101"
    assert found[0].subject == found[1].subject != ""
    assert found[0].priority == found[1].priority
    assert found[0].event_type == "created"


# -- the gateway in the worker --------------------------------------------------------------------


def test_through_the_gateway_calls_keep_the_cloud_path_and_links_use_the_site(
    workers: WorkerFactory,
) -> None:
    h = workers("jira", base_url=GATEWAY)
    first, second = h.job(), h.job(event="updated")

    assert h.run_jobs(first) == []
    assert h.run_jobs(second) == []

    paths = [(s.method, s.url.host, s.url.path) for s in h.vendor.seen]
    base = f"/ex/jira/{CLOUD_ID}/rest/api/3"
    assert paths == [
        ("GET", "api.atlassian.com", f"{base}/issue/{ISSUE}"),
        ("GET", "api.atlassian.com", f"{base}/serverInfo"),  # once: cached for the tenant
        ("POST", "api.atlassian.com", f"{base}/issue/{ISSUE}/comment"),
        ("GET", "api.atlassian.com", f"{base}/issue/{ISSUE}"),
        ("POST", "api.atlassian.com", f"{base}/issue/{ISSUE}/comment"),
    ]
    assert all(s.extensions.get("sni_hostname") is None for s in h.vendor.seen)  # a vendor host: not pinned
    item = h.stack.dynamodb.get_item(
        TableName=workers.context_table,
        Key={"pk": {"S": f"{h.tenant_id}#ticket"}, "sk": {"S": ISSUE}},
    )["Item"]
    assert item["url"]["S"] == f"{jira_sandbox.SITE_URL}/browse/IT-101"  # the site, not the gateway


def test_the_site_url_option_spares_the_server_info_call(workers: WorkerFactory) -> None:
    h = workers("jira", base_url=GATEWAY, options={"site_url": "https://acme-it.atlassian.net"})
    tenant = h.worker.loop.run_until_complete(h.worker._tenant(h.tenant_id))
    ticket = h.worker.loop.run_until_complete(h.worker.plugin.get_ticket(tenant, ISSUE))
    assert ticket.url == "https://acme-it.atlassian.net/browse/IT-101"
    assert h.vendor.calls("GET", r".*/serverInfo") == []


def test_a_503_with_retry_after_is_waited_for(workers: WorkerFactory) -> None:
    sleep = FakeSleep()
    h = workers("jira", base_url=GATEWAY, plugin=JiraPlugin(sleep=sleep))
    h.vendor.fail("GET", rf"/rest/api/3/issue/{ISSUE}", status=503, retry_after=4)
    job = h.job()

    assert h.run_jobs(job) == []

    assert len(sleep.calls) == 1
    assert 4.0 <= sleep.calls[0] <= 4.4
    assert len(h.vendor.notes(ISSUE)) == 1
    assert h.record(job)["state"] == "done"


# -- what Jira answers to the post ----------------------------------------------------------------


def test_a_comment_that_came_out_public_is_deleted_and_alarmed(workers: WorkerFactory) -> None:
    h = workers("jira")
    h.vendor.sandbox.state.tickets["jira"][ISSUE]["_comments_public"] = True
    metrics = spy(h)
    job = h.job()
    record = sqs_record(job.model_dump_json())

    assert h.run(record) == []  # final: posting again would publish it again

    assert h.vendor.notes(ISSUE) == []  # deleted
    deleted = h.vendor.calls("DELETE", rf"/rest/api/3/issue/{ISSUE}/comment/\d+")
    assert len(deleted) == 1
    state = h.record(job)
    assert state["state"] == "failed"
    assert "jsdPublic: true" in state["last_error"]
    assert "it was deleted" in state["last_error"]
    assert "NotesMadePublic" in metrics.names


def test_a_public_comment_found_by_listing_after_a_lost_answer_is_deleted_too(
    workers: WorkerFactory,
) -> None:
    """The POST stored the comment but its answer was lost: the footer check finds it in the list,
    and its ``jsdPublic: true`` there is acted on like in a POST's answer."""
    h = workers("jira")
    h.vendor.sandbox.state.tickets["jira"][ISSUE]["_comments_public"] = True
    h.vendor.fail(
        "POST", re.escape(f"/rest/api/3/issue/{ISSUE}/comment"), error=httpx.ReadTimeout, store_first=True
    )
    metrics = spy(h)
    job = h.job()

    assert h.run(sqs_record(job.model_dump_json())) == []  # final

    assert h.vendor.notes(ISSUE) == []  # deleted
    assert len(h.vendor.calls("DELETE", rf"/rest/api/3/issue/{ISSUE}/comment/\d+")) == 1
    state = h.record(job)
    assert state["state"] == "failed"
    assert "jsdPublic: true" in state["last_error"]
    assert "NotesMadePublic" in metrics.names


def test_an_internal_comment_and_a_missing_jsd_public_are_fine(workers: WorkerFactory) -> None:
    h = workers("jira")
    assert h.run_jobs(h.job()) == []
    h.vendor.sandbox.state.tickets["jira"][ISSUE]["fields"]["project"]["projectTypeKey"] = "software"
    assert h.run_jobs(h.job(event="updated")) == []
    assert len(h.vendor.notes(ISSUE)) == 2
    assert h.vendor.calls("DELETE", r".*") == []


def test_an_expired_token_ends_the_job_with_a_clear_alarmed_reason(workers: WorkerFactory) -> None:
    h = workers("jira", base_url=GATEWAY)
    h.vendor.fail("GET", rf"/rest/api/3/issue/{ISSUE}", status=401)
    metrics = spy(h)
    job = h.job()

    assert h.run_jobs(job) == []  # final, not redelivered

    state = h.record(job)
    assert state["state"] == "failed"
    assert "the tenant's Jira token was refused" in state["last_error"]
    assert "VendorCredentialsRefused" in metrics.names
    assert h.vendor.notes(ISSUE) == []


@pytest.mark.parametrize(
    "base_url", ["https://evil.example", "http://acme.atlassian.net", "https://acme.atlassian.net/x"]
)
def test_a_server_info_naming_no_atlassian_site_gives_no_link(
    workers: WorkerFactory, monkeypatch: pytest.MonkeyPatch, base_url: str
) -> None:
    """``baseUrl`` is the vendor's answer: links are made only to an https atlassian.net site."""
    monkeypatch.setattr(jira_sandbox, "SITE_URL", base_url)
    h = workers("jira", base_url=GATEWAY)
    tenant = h.worker.loop.run_until_complete(h.worker._tenant(h.tenant_id))
    ticket = h.worker.loop.run_until_complete(h.worker.plugin.get_ticket(tenant, ISSUE))
    assert ticket.url is None


def test_through_the_gateway_the_knowledge_base_is_read_at_ex_confluence_and_linked_on_the_site() -> None:
    """Confluence has a gateway base of its own (``/ex/confluence/<cloudId>``); page links go to the
    site that ``serverInfo`` names."""
    from ticket_enhancer_dev.sandbox.tools import jira_history
    from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

    sandbox, seen = VendorSandbox(), []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        path = request.url.path
        for prefix in (f"/ex/jira/{CLOUD_ID}", f"/ex/confluence/{CLOUD_ID}"):
            path = path.removeprefix(prefix)
        answer = sandbox.handle(
            request.method, "/_sandbox/jira" + path, request.url.query.decode(), dict(request.headers), b""
        )
        return httpx.Response(answer.status, json=answer.body, headers=answer.headers)

    async def scenario() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            config = TenantConfig(
                tenant_id="acme",
                tool_type="jira",
                base_url=GATEWAY,
                secret_id="s",
                options={"knowledge_space": jira_history.SPACE_KEY},
            )
            secret = TenantSecret(api_user="svc@acme.example", api_token="scoped-token")  # type: ignore[arg-type]
            tenant = TenantContext(config=config, secret=secret, http=client)
            return await JiraPlugin().knowledge_page(tenant, cursor=None)

    page = asyncio.run(scenario())

    assert page.articles
    assert all(a.url.startswith(f"{jira_sandbox.SITE_URL}/wiki/spaces/") for a in page.articles)
    wiki_calls = [p for p in seen if "/wiki/" in p]
    assert wiki_calls
    assert all(p.startswith(f"/ex/confluence/{CLOUD_ID}/wiki/api/v2/") for p in wiki_calls)
    assert f"/ex/jira/{CLOUD_ID}/rest/api/3/serverInfo" in seen
