"""Jira Cloud history (resolved issues, enhanced JQL search) and knowledge (Confluence space pages).

History: ``GET /rest/api/3/search/jql`` (the enhanced search; the old ``/search`` is gone) with the
fields we read, comments inline, paged by ``nextPageToken`` until ``isLast``: one call per page of
up to ``history_page_size`` issues. Jira may return fewer issues than asked when many fields are
requested (documented); we follow the token either way. When the inline ``comment`` field holds
fewer comments than its ``total`` (long conversations), that issue costs one more call,
``GET /rest/api/3/issue/{id}/comment?orderBy=-created``, for its newest comments. The resolution
text is the last public comment by someone other than the reporter that is not one of our notes;
the ``resolution`` name ("Done") when there is none. Scope: the project key; category: the issue
type; group: the first component.

Knowledge: the JSM knowledge base is a Confluence space on the same site (tenant option
``knowledge_space``, the space key): ``GET /wiki/api/v2/spaces?keys=KEY`` for its id, then
``GET /wiki/api/v2/spaces/{id}/pages?body-format=storage&status=current`` paged by the cursor in
``_links.next``. Page URL: ``{site}/wiki`` + ``_links.webui``. A tenant on Atlassian's API gateway
(scoped tokens) reaches Confluence at ``https://api.atlassian.com/ex/confluence/<cloudId>`` and links
to its site (``JiraPlugin.site_url``), for issues and pages alike.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.plugins.base import text_field
from ticket_enhancer.plugins.capabilities import HistoryPage, KnowledgePage
from ticket_enhancer.plugins.fields import adf_text, named, obj
from ticket_enhancer.plugins.jira import sites
from ticket_enhancer.plugins.requests import VendorRequest
from ticket_enhancer.plugins.sourcing import (
    ARTICLE_LIMIT,
    TEXT_LIMIT,
    Comment,
    MalformedRecordError,
    decode_cursor,
    encode_cursor,
    fetch,
    fetch_detail,
    iso_utc,
    last_resolution,
    numeric_id,
    parse_each,
    reduce_html,
    safe_url,
    segment,
)

if TYPE_CHECKING:
    from ticket_enhancer.plugins.context import TenantContext
    from ticket_enhancer.plugins.jira.plugin import JiraPlugin

SEARCH = "/rest/api/3/search/jql"
FIELDS = (
    "summary,description,status,resolution,resolutiondate,created,priority,project,issuetype,"
    "components,reporter,comment"
)
SEARCH_PERMISSION = "the 'Browse projects' project permission (scoped token: read:jira-work)"
SPACES = "/wiki/api/v2/spaces"
SPACE_PERMISSION = (
    "Confluence 'View' on the knowledge space (scoped token: read:space:confluence, read:page:confluence)"
)
KNOWLEDGE_SPACE_OPTION = "knowledge_space"


def _jql(since: datetime) -> str:
    # JQL dates take "yyyy-MM-dd HH:mm" in the API user's time zone; a day's margin covers any
    # offset (re-imported tickets are idempotent for the sync).
    return f'statusCategory = Done AND resolved >= "{since:%Y-%m-%d}" ORDER BY resolved ASC'


def _truncated(fields: dict[str, Any]) -> bool:
    """Whether the inline ``comment`` field holds fewer comments than the issue has."""
    inline = obj(fields.get("comment"))
    total, comments = inline.get("total"), inline.get("comments")
    return isinstance(total, int) and isinstance(comments, list) and total > len(comments)


def _comments(fields: dict[str, Any]) -> list[Comment]:
    raw = obj(fields.get("comment")).get("comments")
    found: list[Comment] = []
    for item in raw if isinstance(raw, list) else []:
        comment = obj(item)
        public = comment.get("jsdPublic") is not False  # JSM internal comments say false
        author = obj(comment.get("author"))
        found.append(Comment(adf_text(comment.get("body")), text_field(author.get("accountId")), public))
    return found


def parse_issue(issue_data: Any, base_url: str, latest: dict[str, Any] | None = None) -> IndexedTicket:
    """An issue of the search; ``latest``: its newest comments (``{"comments": [...]}``, oldest
    first) when the inline field was truncated."""
    issue = obj(issue_data)
    fields = issue.get("fields")
    key, issue_id = text_field(issue.get("key")), text_field(issue.get("id"))
    if not isinstance(fields, dict) or not (key and issue_id):
        raise MalformedRecordError("issue without id, key or fields")
    subject = text_field(fields.get("summary"))
    if not subject:
        raise MalformedRecordError("issue without a summary")
    reporter = text_field(obj(fields.get("reporter")).get("accountId"))
    components = fields.get("components")
    first_component = obj(components[0]) if isinstance(components, list) and components else {}
    comments = _comments({"comment": latest} if latest is not None else fields)
    resolution = last_resolution(comments, reporter) or (named(fields.get("resolution")) or "")
    return IndexedTicket(
        ticket_id=issue_id,
        display_key=key,
        subject=subject,
        text=adf_text(fields.get("description"), TEXT_LIMIT),
        url=f"{base_url.rstrip('/')}/browse/{segment(key)}",
        created=iso_utc(fields.get("created")),
        resolution=resolution,
        resolved=iso_utc(fields.get("resolutiondate")),
        status="resolved",
        category=named(fields.get("issuetype")) or "",
        group=text_field(first_component.get("name")),
        group_id=text_field(first_component.get("id")),  # as the fetched issue's (a project's own)
        priority=named(fields.get("priority")) or "",
        scope=text_field(obj(fields.get("project")).get("key")),
    )


async def history_page(
    plugin: JiraPlugin, tenant: TenantContext, since: datetime, cursor: str | None
) -> HistoryPage:
    state = decode_cursor(cursor)
    params = {"jql": _jql(since), "fields": FIELDS, "maxResults": str(plugin.history_page_size)}
    if token := text_field(state.get("token")):
        params["nextPageToken"] = token
    response = await fetch(
        plugin,
        tenant,
        VendorRequest("GET", SEARCH, params=params, idempotent=True),
        endpoint=f"GET {SEARCH}",
        permission=SEARCH_PERMISSION,
    )
    body = obj(response.json())
    issues = body.get("issues")
    tickets: list[IndexedTicket] = []
    skipped = 0
    site = await plugin.site_url(tenant) or tenant.config.base_url  # links: the site, not the gateway
    for issue in issues if isinstance(issues, list) else []:
        try:
            latest = await _latest_comments(plugin, tenant, obj(issue))
            tickets.append(parse_issue(issue, site, latest))
        except MalformedRecordError:
            skipped += 1
    next_token = text_field(body.get("nextPageToken"))
    done = body.get("isLast") is True or not next_token
    return HistoryPage(tuple(tickets), None if done else encode_cursor({"token": next_token}), skipped)


async def _latest_comments(
    plugin: JiraPlugin, tenant: TenantContext, issue: dict[str, Any]
) -> dict[str, Any] | None:
    """The issue's newest comments, oldest first, when the search's inline field was cut short (one
    more call for such an issue only); None when the inline comments are complete."""
    fields, issue_id = obj(issue.get("fields")), text_field(issue.get("id"))
    if not issue_id.isdigit() or not _truncated(fields):
        return None
    data = await fetch_detail(
        plugin,
        tenant,
        VendorRequest(
            "GET",
            f"/rest/api/3/issue/{issue_id}/comment",
            params={"orderBy": "-created", "maxResults": "50"},
            idempotent=True,
        ),
        endpoint="GET /rest/api/3/issue/{id}/comment",
        permission=SEARCH_PERMISSION,
    )
    comments = obj(data).get("comments")
    return {"comments": list(reversed(comments))} if isinstance(comments, list) else None


def _next_cursor(links: dict[str, Any]) -> str:
    """The ``cursor`` parameter of ``_links.next`` (a relative URL), "" at the end."""
    query = parse_qs(urlsplit(text_field(links.get("next"))).query)
    return (query.get("cursor") or [""])[0]


def parse_page(page_data: Any, base_url: str) -> Article:
    page = obj(page_data)
    page_id, title = text_field(page.get("id")), text_field(page.get("title"))
    if not page_id or not title:
        raise MalformedRecordError("page without id or title")
    storage = obj(obj(page.get("body")).get("storage"))
    webui = text_field(obj(page.get("_links")).get("webui"))
    url = safe_url(f"{base_url.rstrip('/')}/wiki{webui}") if webui.startswith("/") else ""
    return Article(
        article_id=page_id, title=title, body=reduce_html(storage.get("value"), ARTICLE_LIMIT), url=url
    )


async def knowledge_page(plugin: JiraPlugin, tenant: TenantContext, cursor: str | None) -> KnowledgePage:
    space_key = tenant.config.options.get(KNOWLEDGE_SPACE_OPTION, "").strip()
    if not space_key:
        return KnowledgePage()  # no knowledge space configured: nothing to import
    state = decode_cursor(cursor)
    space_id = numeric_id(state.get("space"))  # it goes into the request path
    if cursor is not None and not space_id:
        raise ValueError("not a cursor of this source")
    site = await plugin.site_url(tenant) or tenant.config.base_url  # page links go to the site
    # Through the API gateway Confluence has a base of its own (/ex/confluence/<cloudId>).
    wiki = dataclasses.replace(
        tenant,
        config=tenant.config.model_copy(update={"base_url": sites.confluence_base(tenant.config.base_url)}),
    )
    if not space_id:
        response = await fetch(
            plugin,
            wiki,
            VendorRequest("GET", SPACES, params={"keys": space_key}, idempotent=True),
            endpoint=f"GET {SPACES}",
            permission=SPACE_PERMISSION,
        )
        results = obj(response.json()).get("results")
        space = obj(results[0]) if isinstance(results, list) and results else {}
        space_id = numeric_id(space.get("id"))
        if not space_id:
            return KnowledgePage()  # no such space, or not visible to the API user
    path = f"{SPACES}/{space_id}/pages"
    params = {"body-format": "storage", "status": "current", "limit": str(plugin.knowledge_page_size)}
    if page_cursor := text_field(state.get("cursor")):
        params["cursor"] = page_cursor
    response = await fetch(
        plugin,
        wiki,
        VendorRequest("GET", path, params=params, idempotent=True),
        endpoint=f"GET {SPACES}/{{id}}/pages",
        permission=SPACE_PERMISSION,
    )
    body = obj(response.json())
    found, skipped = parse_each(
        body.get("results"),
        lambda page: parse_page(page, site),
        keep=lambda page: text_field(obj(page).get("status")) in ("", "current"),
    )
    next_page = _next_cursor(obj(body.get("_links")))
    following = encode_cursor({"space": space_id, "cursor": next_page}) if next_page else None
    return KnowledgePage(found, following, skipped)
