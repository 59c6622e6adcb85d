"""Each tool's history and knowledge record parsers, on arbitrary JSON: a record or
``MalformedRecordError`` (skipped and counted by the page), never another exception; and what a
parser returns is plain, bounded text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.plugins.freshservice import history as freshservice
from ticket_enhancer.plugins.jira import history as jira
from ticket_enhancer.plugins.servicedesk_plus import history as servicedesk_plus
from ticket_enhancer.plugins.servicenow import history as servicenow
from ticket_enhancer.plugins.sourcing import ARTICLE_LIMIT, TEXT_LIMIT, MalformedRecordError
from ticket_enhancer.plugins.zammad import history as zammad
from ticket_enhancer.plugins.zendesk import history as zendesk

BASE = "https://acme.example"
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30))
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=25,
)
# Objects that look like the tools' records (their keys), with arbitrary values.
KEYS = [
    "id", "key", "fields", "summary", "description", "comment", "comments", "subject", "title", "body",
    "status", "priority", "project", "issuetype", "components", "reporter", "organization_id", "group_id",
    "sys_id", "short_description", "close_notes", "company", "assignment_group", "number", "text",
    "department_id", "category", "created_at", "updated_at", "resolved_time", "created_time", "site",
    "group", "customer_id", "close_at", "organization", "storage", "_links", "webui", "html_url",
    "assets", "KnowledgeBaseAnswer", "KnowledgeBaseAnswerTranslation", "published_at", "stats",
]  # fmt: skip
RECORDS = st.one_of(JSON, st.dictionaries(st.sampled_from(KEYS), JSON, max_size=10))

Parser = Callable[[Any], IndexedTicket | Article | None]
PARSERS: dict[str, Parser] = {
    "jira issue": lambda d: jira.parse_issue(d, BASE),
    "confluence page": lambda d: jira.parse_page(d, BASE),
    "zendesk ticket": lambda d: zendesk.parse_ticket(d, {}, "", BASE),
    "zendesk article": zendesk.parse_article,
    "servicenow incident": lambda d: servicenow.parse_incident(d, BASE),
    "servicenow article": lambda d: servicenow.parse_article(d, BASE),
    "freshservice ticket": lambda d: freshservice.parse_ticket(d, "", BASE),
    "freshservice article": lambda d: freshservice.parse_article(d, BASE),
    "sdp request": lambda d: servicedesk_plus.parse_request(d, "", BASE),
    "sdp solution": lambda d: servicedesk_plus.parse_solution(d, BASE),
    "zammad ticket": lambda d: zammad.parse_ticket(d, [], BASE),
    "zammad answer": lambda d: zammad.parse_answer(d, "1", "1", BASE),
}


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=60, deadline=None)
@given(record=RECORDS)
def test_parsers_give_a_record_or_malformed_never_another_error(name: str, record: Any) -> None:
    try:
        found = PARSERS[name](record)
    except MalformedRecordError:
        return
    if isinstance(found, IndexedTicket):
        assert found.ticket_id
        assert found.subject
        assert found.status == "resolved"
        assert len(found.text) <= TEXT_LIMIT
        assert found.url.startswith(BASE)
    elif isinstance(found, Article):
        assert found.title
        assert len(found.body) <= ARTICLE_LIMIT


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://help.acme.example/hc/en-us/articles/1", True),
        ("http://help.acme.example/a", True),
        ("javascript:alert(1)", False),
        ("https://", False),
        ("https://x.example/a b", False),
        ('https://x.example/"onmouseover=x', False),
        ("//x.example/a", False),
        (None, False),
        ("https://x.example/" + "a" * 3000, False),
    ],
)
def test_vendor_links_are_kept_only_when_plain_http(url: Any, kept: bool) -> None:
    from ticket_enhancer.plugins.sourcing import safe_url

    assert safe_url(url) == (url if kept else "")
