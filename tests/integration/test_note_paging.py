"""Issue 15, everywhere: the footer check pages through a ticket's notes until the footer is found or
the list ends. The sandbox pages each list the way the vendor documents it (Freshservice ``page`` /
``per_page`` with a ``link`` header, ServiceDesk Plus ``list_info`` with ``has_more_rows``, Jira
``startAt`` / ``total``, Zendesk cursor pagination), so a ticket with more notes than one page at the
page size the plugin asks for still gets exactly one note after a POST whose answer was lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from ticket_enhancer.models import NOTE_FOOTER_PREFIX
from ticket_enhancer.plugins.base import MAX_NOTE_PAGES, TicketingToolPlugin
from ticket_enhancer.plugins.errors import VendorRequestError
from ticket_enhancer.plugins.freshservice.plugin import PAGE_SIZE as FRESHSERVICE_PAGE
from ticket_enhancer.plugins.servicedesk_plus.plugin import NOTES_PAGE_SIZE as SDP_PAGE
from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id

from tests.integration.test_worker import (  # noqa: F401 (atomic_conditional_writes: an autouse fixture)
    Harness,
    WorkerFactory,
    atomic_conditional_writes,
    facts,
)
from tests.support import Stack

# The page size each plugin asks for (Jira and Zendesk: 100 newest first).
PAGE_SIZES = {"jira": 100, "zendesk": 100, "freshservice": FRESHSERVICE_PAGE, "servicedesk_plus": SDP_PAGE}
PAGED = tuple(PAGE_SIZES)


@pytest.fixture
def workers(aws: Stack) -> Iterator[WorkerFactory]:
    """``workers(tool, ...)``: a tenant, its vendor (the sandbox) and the tool's worker."""
    factory = WorkerFactory(aws)
    yield factory
    factory.close()


def filler(tool: str, n: int) -> dict[str, Any]:
    """An earlier note or reply on the ticket, in the shape the sandbox stores for ``tool``."""
    text = f"Earlier note {n}: rebooted the router."
    if tool == "jira":
        doc = {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
        }
        return {"body": doc, "properties": []}
    if tool == "zendesk":
        return {"html_body": f"<p>{text}</p>", "public": n % 2 == 0}
    if tool == "freshservice":
        return {"body": f"<div>{text}</div>", "private": n % 2 == 0}
    return {"description": f"<p>{text}</p>", "show_to_requester": False}


def seed_notes(
    h: Harness, count: int, *, first: dict[str, Any] | None = None, last: dict[str, Any] | None = None
) -> None:
    sandbox = h.vendor.sandbox
    found = sandbox.tools[h.tool]
    with sandbox._lock:
        state = sandbox.state
        data = found.data(state.tickets[h.tool], state.notes[h.tool], state.changes[h.tool])
        ticket = data.find(seed_ticket_id(h.tool))
        assert ticket is not None
        if first is not None:
            data.add_note(ticket, first)
        for n in range(count):
            data.add_note(ticket, filler(h.tool, n))
        if last is not None:
            data.add_note(ticket, last)


def listings(h: Harness, tool: str) -> list[httpx.URL]:
    return [s.url for s in h.vendor.calls("GET", re.escape(facts(tool).list_path))]


@pytest.mark.parametrize("tool", PAGED)
def test_notes_over_more_than_one_page_and_a_lost_answer_end_with_exactly_one_note(
    workers: WorkerFactory,
    tool: str,
) -> None:
    h = workers(tool)
    page = PAGE_SIZES[tool]
    seed_notes(h, page + 5)  # e.g. 105 conversations: two pages at the size the plugin asks for
    _, note_method, note_path, _, _ = facts(tool)
    h.vendor.fail(note_method, re.escape(note_path), error=httpx.ReadTimeout, store_first=True)
    job = h.job()

    assert h.run_jobs(job) == []

    notes = h.vendor.notes(seed_ticket_id(tool))
    assert len(notes) == page + 6  # the fillers and exactly one note of ours
    ours = [n for n in notes if h.footer(job.job_id) in str(n)]
    assert len(ours) == 1
    assert h.record(job)["state"] == "done"
    assert len(h.vendor.calls(note_method, re.escape(note_path))) == 1  # never posted twice
    if tool in ("freshservice", "servicedesk_plus"):  # oldest first: our note is on the second page
        assert len(listings(h, tool)) == 2
    else:  # newest first: found on the first page
        assert len(listings(h, tool)) == 1


@pytest.mark.parametrize("tool", PAGED)
def test_a_footer_on_the_last_page_is_found_and_no_second_note_is_posted(
    workers: WorkerFactory,
    tool: str,
) -> None:
    """Our note is at the far end of the list as the plugin reads it: the oldest for newest-first
    lists (many notes arrived after it), the newest for oldest-first ones."""
    h = workers(tool)
    job = h.job()
    ours = filler(tool, -1)
    key = {"jira": "body", "zendesk": "html_body", "freshservice": "body"}.get(tool, "description")
    footer = f"{NOTE_FOOTER_PREFIX}{job.job_id}"
    if tool == "jira":
        ours[key]["content"].append({"type": "paragraph", "content": [{"type": "text", "text": footer}]})
    else:
        ours[key] = f"{ours[key]}<p>{footer}</p>"
    page = PAGE_SIZES[tool]
    oldest_first = tool in ("freshservice", "servicedesk_plus")
    seed_notes(h, 2 * page + 3, first=None if oldest_first else ours, last=ours if oldest_first else None)

    plugin: TicketingToolPlugin = h.worker.plugin
    tenant = h.worker.loop.run_until_complete(h.worker._tenant(h.tenant_id))
    found = h.worker.loop.run_until_complete(plugin.has_note(tenant, seed_ticket_id(tool), job.job_id))
    assert found is True
    assert len(listings(h, tool)) == 3
    absent = h.worker.loop.run_until_complete(plugin.has_note(tenant, seed_ticket_id(tool), "01NOSUCHJOB"))
    assert absent is False
    assert len(listings(h, tool)) == 6  # read to the end, then stopped


def test_a_list_longer_than_the_page_limit_fails_rather_than_risk_a_duplicate(
    workers: WorkerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ticket_enhancer.plugins import vendor_calls  # the footer check's home (base re-exports it)

    monkeypatch.setattr(vendor_calls, "MAX_NOTE_PAGES", 2)
    h = workers("freshservice")
    seed_notes(h, 3 * FRESHSERVICE_PAGE)
    tenant = h.worker.loop.run_until_complete(h.worker._tenant(h.tenant_id))
    with pytest.raises(VendorRequestError, match="more than 2 pages of notes"):
        h.worker.loop.run_until_complete(
            h.worker.plugin.has_note(tenant, seed_ticket_id("freshservice"), "01X")
        )
    assert len(listings(h, "freshservice")) == 2  # no third page read
    assert MAX_NOTE_PAGES == 100  # the real limit: 10,000 notes at 100 a page


def test_freshservice_follows_the_link_header_page_numbers_only(workers: WorkerFactory) -> None:
    h = workers("freshservice")
    seed_notes(h, FRESHSERVICE_PAGE + 1)
    tenant = h.worker.loop.run_until_complete(h.worker._tenant(h.tenant_id))
    h.worker.loop.run_until_complete(h.worker.plugin.has_note(tenant, seed_ticket_id("freshservice"), "01X"))
    urls = listings(h, "freshservice")
    assert [u.params["page"] for u in urls] == ["1", "2"]
    assert {u.params["per_page"] for u in urls} == {str(FRESHSERVICE_PAGE)}
    assert {u.host for u in urls} == {"acme.freshservice.com"}
