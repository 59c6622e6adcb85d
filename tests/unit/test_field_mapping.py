"""One field mapping per tool (``plugins/mapping.py``): the webhook body and the fetched ticket are
read through the same ``FieldMap``, so the same ticket gives the same fields either way."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.models import Priority, TenantConfig, TenantSecret, Ticket, TicketMetadata
from ticket_enhancer.plugins import PluginManager, TicketingToolPlugin
from ticket_enhancer.plugins.builtins import BUILTIN_PLUGINS
from ticket_enhancer.plugins.context import Headers, TenantContext, WebhookRequest
from ticket_enhancer.plugins.fields import named, text_field
from ticket_enhancer.plugins.mapping import NOTHING, FieldMap, date, field, label, maybe, name, text
from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id, webhook_body
from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

from tests.support import BASE_URLS

pytestmark = pytest.mark.filterwarnings("ignore:Dimension 'tool' has already been added")

BUILT_IN = sorted(BUILTIN_PLUGINS)
COMPARED = ("subject", "description", "priority", "requester", "created_at")
# ServiceDesk Plus on-prem (authtoken): the sandbox answers without Zoho's OAuth round trip.
BASE = {**BASE_URLS, "servicedesk_plus": "https://sdp.acme-corp.example"}


class Metrics:
    def add_metric(self, name: str, unit: Any, value: float) -> None:
        """Latency metrics are not what this test is about."""


def plugin(tool: str) -> TicketingToolPlugin:
    return PluginManager().get_plugin(tool)


def tenant(tool: str, http: httpx.AsyncClient | None = None) -> TenantContext:
    config = TenantConfig(
        tenant_id="acme", tool_type=tool, base_url=BASE[tool], secret_id=f"ticket-enhancer/{tool}/acme"
    )
    secret = TenantSecret.model_validate(
        {"webhook_secrets": ["s" * 16], "api_user": "agent@example.com", "api_token": "token-0123456789"}
    )
    return TenantContext(config=config, secret=secret, http=http)


def metadata(tool: str, body: dict[str, Any]) -> TicketMetadata:
    request = WebhookRequest(body=json.dumps(body).encode(), headers=Headers({}))
    return plugin(tool).extract_metadata(request, tenant(tool))


def fetched(sandbox: VendorSandbox, tool: str, ticket_id: str) -> Ticket:
    """``get_ticket`` against the sandbox, as the worker calls it (the tool's REST paths)."""

    def handler(request: httpx.Request) -> httpx.Response:
        answer = sandbox.handle(
            request.method,
            f"/_sandbox/{tool}{request.url.path}",
            request.url.query.decode(),
            dict(request.headers),
            request.content,
        )
        return httpx.Response(answer.status, json=answer.body, headers=answer.headers)

    async def run() -> Ticket:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            found = type(plugin(tool))(metrics=Metrics())  # its own instance: the registry's is shared
            return await found.get_ticket(tenant(tool, client), ticket_id)

    return asyncio.run(run())


def values(ticket: TicketMetadata | Ticket) -> dict[str, Any]:
    return {key: getattr(ticket, key) for key in COMPARED}


EMPTY = (None, "", Priority.MEDIUM)


def assert_same(
    from_webhook: TicketMetadata, from_api: Ticket, carried: set[str], shaped: frozenset[str] = frozenset()
) -> None:
    """The fields the body carries are the fetched ticket's; the others are left empty by the body,
    but for those the vendor ``shaped`` differently in the two (checked by the caller)."""
    webhook, api = values(from_webhook), values(from_api)
    for key in COMPARED:
        if key in carried:
            assert webhook[key] == api[key], key
            assert api[key] not in EMPTY, key  # a real value, not both empty
        elif key in shaped:
            assert webhook[key] not in EMPTY, key
            assert api[key] not in EMPTY, key
        else:
            assert webhook[key] in EMPTY, key


# -- the sandbox's own webhook body for its seed ticket, and that ticket fetched -------------------

# Fields a tool's webhook body and its API give in different shapes (the tests check them apart).
SANDBOX_SHAPED = {"zammad": frozenset({"requester"})}
SAMPLE_SHAPED = {"zammad": frozenset({"requester"}), "freshservice": frozenset({"requester"})}

# What each tool's webhook body (``sandbox/tools/<tool>.py``) carries: admin-written bodies carry
# what their template names; Jira, Zendesk and Zammad send the ticket itself.
SANDBOX_CARRIES: dict[str, set[str]] = {
    "jira": set(COMPARED),
    "zendesk": set(COMPARED),
    "servicenow": {"subject", "priority"},  # priority "1" in the body, "1 - Critical" fetched
    "freshservice": {"subject", "priority"},  # "Urgent" in the body, 4 fetched
    "servicedesk_plus": {"subject", "priority"},
    "zammad": {"subject", "description", "priority", "created_at"},  # the requester: see below
}


@pytest.mark.parametrize("tool", BUILT_IN)
def test_the_sandbox_webhook_body_and_fetched_ticket_map_alike(tool: str) -> None:
    sandbox = VendorSandbox()
    from_webhook = metadata(tool, webhook_body(tool, "acme"))
    from_api = fetched(sandbox, tool, from_webhook.ticket_id)
    assert from_webhook.ticket_id == from_api.ticket_id
    assert seed_ticket_id(tool) in {from_api.ticket_id, from_api.display_key}
    assert_same(from_webhook, from_api, SANDBOX_CARRIES[tool], SANDBOX_SHAPED.get(tool, frozenset()))
    if tool == "zammad":  # the same person: an object in the body, the login in the expanded ticket
        assert from_webhook.requester == "Dana Fields <dana@example.com>"
        assert from_api.requester == "dana@example.com"


# -- each plugin's sample webhook body, and the same ticket as the tool's API holds it --------------


def _zammad_stored(sample: dict[str, Any]) -> dict[str, Any]:
    """``GET /api/v1/tickets/{id}?expand=true`` shape: associations by name; the first article."""
    ticket = sample["ticket"]
    article = sample["article"]
    return {
        **{key: ticket[key] for key in ("id", "number", "title", "state", "created_at", "updated_at")},
        "priority": ticket["priority"]["name"],
        "group": ticket["group"]["name"],
        "organization": ticket["organization"]["name"],
        "customer": ticket["customer"]["login"],
        "article": {key: article[key] for key in ("from", "body", "content_type", "type", "sender")},
    }


def _freshservice_stored(sample: dict[str, Any]) -> dict[str, Any]:
    """``GET /api/v2/tickets/{id}`` shape: numbers for priority and status, the requester by id."""
    body = sample["freshservice_webhook"]
    return {
        "id": body["ticket_id"],
        "subject": body["ticket_subject"],
        "description": f"<div>{body['ticket_description']}</div>",
        "description_text": body["ticket_description"],
        "priority": body["ticket_priority"],
        "status": 2,  # Open
        "requester_id": 1000,
    }


# The sample's ticket as the tool's REST API holds it (the sandbox serves it in the API's shape).
STORED: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "jira": lambda s: {key: s["issue"][key] for key in ("id", "key", "fields")},
    "zendesk": lambda s: dict(s["detail"]),
    "servicenow": dict,  # a record, stored as values (the sandbox answers display values beside them)
    "freshservice": _freshservice_stored,
    "servicedesk_plus": lambda s: dict(s["request"]),
    "zammad": _zammad_stored,
}
SAMPLE_CARRIES: dict[str, set[str]] = {
    "jira": set(COMPARED),
    "zendesk": set(COMPARED),
    "servicenow": set(COMPARED),
    "freshservice": {"subject", "description", "priority"},  # the requester: email in, id out
    "servicedesk_plus": set(COMPARED),
    "zammad": {"subject", "description", "priority", "created_at"},
}


@pytest.mark.parametrize("tool", BUILT_IN)
def test_the_sample_webhook_and_the_same_ticket_fetched_map_alike(tool: str) -> None:
    found = plugin(tool)
    sample = json.loads(json.dumps(found.sample_webhook))
    from_webhook = metadata(tool, sample)
    sandbox = VendorSandbox()
    stored = STORED[tool](sample)
    sandbox.add_ticket(tool, from_webhook.ticket_id, stored)
    from_api = fetched(sandbox, tool, from_webhook.ticket_id)
    assert from_webhook.ticket_id == from_api.ticket_id
    assert_same(from_webhook, from_api, SAMPLE_CARRIES[tool], SAMPLE_SHAPED.get(tool, frozenset()))
    if tool == "freshservice":  # the body names the requester by email, the API by id
        assert (from_webhook.requester, from_api.requester) == ("demo.user@example.com", "1000")
    if tool == "zammad":
        assert from_webhook.requester == "Demo User <demo.user@example.com>"
        assert from_api.requester == "demo.user@example.com"


# -- the mapping itself ---------------------------------------------------------------------------


def test_every_built_in_tool_declares_its_mapping() -> None:
    for tool in BUILT_IN:
        assert isinstance(plugin(tool).fields, FieldMap), tool


def test_a_field_reads_keys_and_paths_in_order_first_non_empty_wins() -> None:
    subject = text("summary", ("fields", "summary"))
    assert subject({"summary": "", "fields": {"summary": "VPN"}}) == "VPN"
    assert subject({"summary": "Top", "fields": {"summary": "VPN"}}) == "Top"
    assert subject({"fields": "not an object"}) == ""
    assert subject({}, {"summary": 42}) == "42"  # the next source when the first has nothing
    assert maybe("priority")({"priority": ""}) is None
    assert name("priority")({"priority": {"name": "High"}}) == "High"
    assert label("group")({"group": {"id": 3}}) == "3"
    assert label("group")({}) == ""
    assert date("created")({"created": "yesterday"}) is None
    assert NOTHING({"anything": "x"}) == ""


def test_first_present_reads_the_first_key_with_a_value_even_when_it_reads_empty() -> None:
    """ServiceNow's requester: the caller when the record has one, whatever it reads as."""
    present = field("caller_id", "opened_by", read=named, first_present=True)
    assert present({"caller_id": [1], "opened_by": "Bob"}) is None
    assert present({"caller_id": False, "opened_by": "Bob"}) == "Bob"
    assert present({}) is None
    assert field("caller_id", "opened_by", read=named)({"caller_id": [1], "opened_by": "Bob"}) == "Bob"


def test_webhook_keys_replace_the_api_keys_in_webhook_bodies_only() -> None:
    subject = text("subject", webhook=("ticket_subject", "subject"))
    body = {"ticket_subject": "From the body", "subject": "plain"}
    assert subject(body, webhook=True) == "From the body"
    assert subject(body) == "plain"
    created = date("created_at", webhook=())  # webhook bodies never carry it
    assert created({"created_at": "2024-01-02T03:04:05Z"}, webhook=True) is None
    assert created({"created_at": "2024-01-02T03:04:05Z"}) is not None


def test_the_base_class_assembles_event_and_ticket_through_the_mapping() -> None:
    zendesk = plugin("zendesk")
    detail = dict(zendesk.sample_webhook["detail"])
    event = zendesk.webhook_event(detail, event_type="created", delivery_id="d-1")
    assert (event.ticket_id, event.subject, event.priority_raw, event.delivery_id) == (
        "123",
        "Printer on floor 3 prints blank pages",
        "HIGH",
        "d-1",
    )
    ticket = zendesk.mapped_ticket(
        {**detail, "group_id": 7}, tenant("zendesk"), "999", url=lambda i: f"u/{i}"
    )
    assert (ticket.ticket_id, ticket.display_key, ticket.url) == ("123", "123", "u/123")
    assert (ticket.group_id, ticket.group) == ("7", "")  # the name: sideloaded, parse_ticket's own
    assert ticket.priority is Priority.HIGH
    missing = zendesk.mapped_ticket({}, tenant("zendesk"), "999", display_key=lambda i: f"#{i}")
    assert (missing.ticket_id, missing.display_key, missing.url) == ("999", "#999", None)


def test_a_plugin_without_a_mapping_says_so() -> None:
    class Bare(type(plugin("zendesk"))):  # type: ignore[misc]
        fields = None

    with pytest.raises(TypeError, match="declares no field mapping"):
        Bare().webhook_event({})


# -- properties -------------------------------------------------------------------------------------

KEYS = ["id", "subject", "fields", "summary", "priority", "name", "created", "status"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=20,
)
paths = st.lists(st.sampled_from(KEYS), min_size=1, max_size=3).map(tuple)


def _at(source: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        source = source.get(part) if isinstance(source, dict) else None
    return source


@settings(max_examples=300, deadline=None)
@given(
    source=st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6),
    keys=st.lists(paths, max_size=3),
    reader=st.sampled_from([text_field, named]),
)
def test_a_field_is_its_first_non_empty_key_never_an_error(
    source: dict[str, Any], keys: list[tuple[str, ...]], reader: Callable[[Any], Any]
) -> None:
    mapped = field(*keys, read=reader)
    expected = next((v for k in keys if (v := reader(_at(source, k)))), reader(None))
    assert mapped(source) == expected
    assert mapped(source, webhook=True) == expected  # no webhook keys: the same keys


@settings(max_examples=200, deadline=None)
@given(tool=st.sampled_from(BUILT_IN), ticket=st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6))
def test_mapped_fields_have_their_types_on_any_json(tool: str, ticket: dict[str, Any]) -> None:
    fields = plugin(tool).fields
    assert fields is not None
    for webhook in (False, True):
        assert isinstance(fields.subject(ticket, webhook=webhook), str)
        assert isinstance(fields.description(ticket, webhook=webhook), str)
        assert isinstance(fields.scope(ticket, webhook=webhook), str)
        for optional in (fields.priority, fields.requester, fields.status):
            assert isinstance(optional(ticket, webhook=webhook), str | None)
        assert isinstance(fields.created_at(ticket, webhook=webhook), datetime | None)
