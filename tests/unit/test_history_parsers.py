"""Each tool's history and knowledge record parsers, on arbitrary JSON: a record or
``MalformedRecordError`` (skipped and counted by the page), never another exception; and what a
parser returns is plain, bounded text."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.plugins.freshservice import history as freshservice
from ticket_enhancer.plugins.jira import history as jira
from ticket_enhancer.plugins.servicedesk_plus import history as servicedesk_plus
from ticket_enhancer.plugins.servicenow import history as servicenow
from ticket_enhancer.plugins.sourcing import (
    ARTICLE_LIMIT,
    TEXT_LIMIT,
    MalformedRecordError,
    decode_cursor,
    encode_cursor,
)
from ticket_enhancer.plugins.zammad import history as zammad
from ticket_enhancer.plugins.zendesk import history as zendesk

if TYPE_CHECKING:
    from ticket_enhancer.plugins.context import TenantContext

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
    "zendesk article": lambda d: zendesk.parse_article(d, BASE),
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
        assert urlsplit(found.url).hostname == urlsplit(BASE).hostname
    elif isinstance(found, Article):
        assert found.title
        assert len(found.body) <= ARTICLE_LIMIT
        assert not found.url or urlsplit(found.url).hostname == urlsplit(BASE).hostname  # own site only


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


ZENDESK = "https://acme.zendesk.com"


@pytest.mark.parametrize(
    ("html_url", "url"),
    [
        ("https://acme.zendesk.com/hc/en-us/articles/7-x", "https://acme.zendesk.com/hc/en-us/articles/7-x"),
        ("https://evil.example/hc/en-us/articles/7", "https://acme.zendesk.com/hc/de/articles/7"),
        ("https://acme.zendesk.com.evil.example/a", "https://acme.zendesk.com/hc/de/articles/7"),
        ("https://acme.zendesk.com@evil.example/a", "https://acme.zendesk.com/hc/de/articles/7"),
        ("http://acme.zendesk.com/hc/de/articles/7", "https://acme.zendesk.com/hc/de/articles/7"),
        ("https://acme.zendesk.com:8443/a", "https://acme.zendesk.com/hc/de/articles/7"),
        ("javascript:alert(1)//acme.zendesk.com", "https://acme.zendesk.com/hc/de/articles/7"),
        (None, "https://acme.zendesk.com/hc/de/articles/7"),
    ],
)
def test_zendesk_article_links_stay_on_the_tenants_site(html_url: Any, url: str) -> None:
    """A vendor-given html_url becomes a live link only on the tenant's own host (render.link
    takes any http(s) host); otherwise the link is built there from the article's id and locale."""
    article = zendesk.parse_article(
        {"id": 7, "title": "T", "body": "<p>b</p>", "locale": "de", "html_url": html_url}, ZENDESK
    )
    assert article.url == url


def test_zendesk_article_locale_is_checked_before_it_enters_a_link() -> None:
    article = zendesk.parse_article({"id": 7, "title": "T", "locale": "../../x?"}, ZENDESK)
    assert article.url == "https://acme.zendesk.com/hc/articles/7"
    with pytest.raises(MalformedRecordError):
        zendesk.parse_article({"id": "7/../../x", "title": "T"}, ZENDESK)


@pytest.mark.parametrize(
    ("module", "cursor"),
    [
        (jira, {"space": "../../rest/api/3/myself", "cursor": "x"}),
        (jira, {"space": "١٢", "cursor": "x"}),  # digits, but not ASCII ones
        (jira, {"cursor": "x"}),
        (zammad, {"kb": "1/../../users", "answers": [1]}),
        (zammad, {"kb": "1", "answers": ["../../users/me"]}),
        (zammad, {"kb": "1", "answers": [True]}),
        (zammad, {"kb": "1"}),
    ],
)
def test_tampered_cursors_never_reach_a_request_path(module: Any, cursor: dict[str, Any]) -> None:
    """Ids a cursor carries go into request paths: anything but ASCII digits is refused before any
    call (the plugin is never touched)."""
    tenant = cast("TenantContext", SimpleNamespace(config=SimpleNamespace(options={"knowledge_space": "KB"})))
    with pytest.raises(ValueError, match="cursor"):
        asyncio.run(module.knowledge_page(None, tenant, encode_cursor(cursor)))


def test_a_large_knowledge_base_cursor_resumes() -> None:
    """Zammad's cursor lists the remaining answer ids: 5,000 of them still decode."""
    state = {"kb": "1", "answers": list(range(1_000_000, 1_005_000))}
    assert decode_cursor(encode_cursor(state)) == state


@pytest.mark.parametrize("name", sorted(PARSERS))
@pytest.mark.parametrize("tricky", ["1/../../admin", "1?x=y#z", "..", "a&b=c", "1 2"])
def test_a_tricky_id_stays_one_segment_of_its_own_link(name: str, tricky: str) -> None:
    """Whatever id the vendor sends, a record's link stays where its tool's links go on the
    tenant's site: the id is one percent-encoded segment (no new path, query or fragment)."""
    record: dict[str, Any] = {
        "id": tricky, "key": tricky, "sys_id": tricky, "number": tricky, "title": "T", "subject": "S",
        "summary": "S", "short_description": "S", "fields": {"summary": "S"},
        "_links": {"webui": "/spaces/KB/pages/1"},
    }  # fmt: skip
    try:
        found = PARSERS[name](record)
    except MalformedRecordError:
        return
    if found is None or not found.url:
        return
    parts = urlsplit(found.url)
    assert parts.hostname == urlsplit(BASE).hostname
    assert "/../" not in parts.path + "/"
    assert not parts.path.endswith("/..")
    assert "admin" not in parts.path.split("/")
    assert parts.fragment.count("#") == 0
    assert "x=y" not in parts.query.split("&")
    assert "b=c" not in parts.query.split("&")
