"""Issue 15: the sandbox pages note lists at each vendor's documented default and maximum sizes, so a
plugin that forgot to ask for more rows (or to follow the pages) would miss a footer."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from ticket_enhancer.plugins.jira import sites
from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id
from ticket_enhancer_dev.sandbox.vendor import VendorSandbox


def _seeded(tool: str, count: int, note: dict[str, object]) -> VendorSandbox:
    sandbox = VendorSandbox()
    found = sandbox.tools[tool]
    data = found.data(sandbox.state.tickets[tool], sandbox.state.notes[tool], sandbox.state.changes[tool])
    ticket = data.find(seed_ticket_id(tool))
    assert ticket is not None
    for n in range(count):
        data.add_note(ticket, {**note, "n": n})
    return sandbox


def test_servicedesk_plus_answers_ten_notes_unless_list_info_asks_for_more() -> None:
    sandbox = _seeded("servicedesk_plus", 12, {"description": "x"})
    path = f"/_sandbox/servicedesk_plus/api/v3/requests/{seed_ticket_id('servicedesk_plus')}/notes"
    first = sandbox.handle("GET", path, "", {}, b"")
    assert len(first.body["notes"]) == 10  # the documented default
    assert first.body["list_info"]["has_more_rows"] is True
    query = urlencode({"input_data": json.dumps({"list_info": {"row_count": 10, "start_index": 11}})})
    second = sandbox.handle("GET", path, query, {}, b"")
    assert [n["n"] for n in second.body["notes"]] == [10, 11]
    assert second.body["list_info"]["has_more_rows"] is False
    wide = urlencode({"input_data": json.dumps({"list_info": {"row_count": 500}})})
    assert len(sandbox.handle("GET", path, wide, {}, b"").body["notes"]) == 12  # capped at 100 a page


def test_freshservice_answers_thirty_conversations_and_a_link_to_the_next_page() -> None:
    sandbox = _seeded("freshservice", 35, {"body": "x", "private": True})
    path = f"/_sandbox/freshservice/api/v2/tickets/{seed_ticket_id('freshservice')}/conversations"
    first = sandbox.handle("GET", path, "", {"Host": "acme.freshservice.com"}, b"")
    assert len(first.body["conversations"]) == 30  # the documented default
    assert first.headers["link"].endswith('?page=2&per_page=30>; rel="next"')
    second = sandbox.handle("GET", path, "page=2", {}, b"")
    assert len(second.body["conversations"]) == 5
    assert "link" not in second.headers


def test_jira_and_zendesk_page_newest_first_when_asked() -> None:
    jira = _seeded("jira", 120, {"body": "x", "properties": []})
    path = f"/_sandbox/jira/rest/api/3/issue/{seed_ticket_id('jira')}/comment"
    page = jira.handle("GET", path, "orderBy=-created&maxResults=500", {}, b"").body
    assert (page["total"], page["maxResults"], len(page["comments"])) == (120, 100, 100)
    assert page["comments"][0]["n"] == 119
    zendesk = _seeded("zendesk", 120, {"html_body": "x", "public": False})
    path = f"/_sandbox/zendesk/api/v2/tickets/{seed_ticket_id('zendesk')}/comments"
    page = zendesk.handle("GET", path, "sort_order=desc&page%5Bsize%5D=100", {}, b"").body
    assert page["meta"]["has_more"] is True
    assert page["comments"][0]["n"] == 119
    query = urlencode(
        {"sort_order": "desc", "page[size]": "100", "page[after]": page["meta"]["after_cursor"]}
    )
    rest = zendesk.handle("GET", path, query, {}, b"").body
    assert [c["n"] for c in rest["comments"]] == list(range(19, -1, -1))
    assert rest["meta"]["has_more"] is False


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        (
            "https://api.atlassian.com/ex/jira/11223344-a1b2-3c4d-5e6f-aabbccddeeff",
            "https://api.atlassian.com/ex/confluence/11223344-a1b2-3c4d-5e6f-aabbccddeeff",
        ),
        ("https://acme.atlassian.net", "https://acme.atlassian.net"),
    ],
)
def test_confluence_is_reached_through_the_gateway_for_gateway_tenants(base: str, expected: str) -> None:
    assert sites.confluence_base(base) == expected
