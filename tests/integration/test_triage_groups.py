"""The assignment group, alike in the tool's history and in the ticket the worker fetches.

For each tool, against the vendor sandbox: the history source's resolved tickets and the fetched new
ticket name their group the same way (its stable id in ``group_id`` where the tool has one, its name
in ``group``), so the triage suggestion for a new ticket is the group its similar resolved tickets
were in, with the id and name the new ticket itself carries. Zendesk (whose ticket carries only the
group's id, its name sideloaded), ServiceNow (``assignment_group``: sys_id and display value) and
Freshservice (only ``group_id``: its name read from the groups API) were the tools where the two
sides once disagreed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ticket_enhancer.enhance.triage import suggest_triage
from ticket_enhancer.models import Ticket
from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id
from ticket_enhancer_dev.sandbox.tools import (
    freshservice_history,
    servicenow_history,
    zammad_history,
    zendesk_history,
)
from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

from tests.integration.test_context_end_to_end import replaced, the_case
from tests.integration.test_history_sources import TOOLS, all_history, plugin, tenant

pytestmark = pytest.mark.filterwarnings("ignore:Dimension 'tool' has already been added")

GROUP = "Network Operations"  # the group of the sandbox's VPN cases (sandbox/history.py)
# Every tool's seed ticket (a VPN incident) is in that group, but Zammad's (its Service Desk): a copy
# of it assigned there, as an agent would.
NEW_TICKETS: dict[str, tuple[str, dict[str, Any]]] = {
    "zammad": ("4712", {"group_id": zammad_history.GROUP_IDS[GROUP], "group": GROUP}),
}


@pytest.fixture
def sandbox() -> VendorSandbox:
    return VendorSandbox()


def fetched(name: str, sandbox: VendorSandbox, ticket_id: str | None = None) -> Ticket:
    """The ticket as the worker fetches it: ``ticket_id``, or the tool's new ticket (``NEW_TICKETS``,
    else its seed)."""
    if ticket_id is None:
        ticket_id, fields = NEW_TICKETS.get(name, (seed_ticket_id(name), {}))
        if fields:
            sandbox.add_ticket(name, ticket_id, fields)

    async def run() -> Ticket:
        context = tenant(TOOLS[name], sandbox)
        try:
            return await plugin(name).get_ticket(context, ticket_id)  # type: ignore[no-any-return]
        finally:
            if context.http is not None:
                await context.http.aclose()

    return asyncio.run(run())


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_the_group_suggested_for_a_new_ticket_is_its_similar_tickets_by_id_and_name(
    name: str, sandbox: VendorSandbox
) -> None:
    _, history = all_history(name, sandbox)
    ticket = fetched(name, sandbox)
    assert ticket.group_id  # every tool's ticket names its group by a stable id
    assert ticket.group == GROUP  # ... and shows its name, not the id
    same_group = [t for t in history if t.group_id == ticket.group_id]
    assert same_group  # the history's tickets carry the id the fetched ticket carries
    assert {t.group for t in same_group} == {ticket.group}  # and the same name for it

    suggestion = suggest_triage(f"{ticket.subject}\n{ticket.description}", history, exclude=ticket.ticket_id)
    assert suggestion is not None
    assert suggestion.group is not None
    assert (suggestion.group.id, suggestion.group.value) == (ticket.group_id, ticket.group)
    assert suggestion.group.votes >= 2


# The tools whose sides once disagreed, with a new ticket in another group than their seed's: the
# ticket's group field as the tool stores it.
GROUP_FIELDS: dict[str, Any] = {
    "freshservice": lambda group: {"group_id": freshservice_history.GROUP_IDS[group]},
    "zendesk": lambda group: {"group_id": zendesk_history.GROUP_IDS[group]},
    "servicenow": lambda group: {"assignment_group": servicenow_history.sys_id("group", group)},
}


@pytest.mark.parametrize("name", sorted(GROUP_FIELDS))
def test_a_new_ticket_in_another_group_gets_that_group_suggested(name: str, sandbox: VendorSandbox) -> None:
    _, history = all_history(name, sandbox)
    case = the_case()  # a full disk: Server Operations' work, not Network Operations'
    new_id = "5f3c9a1e2b7d4c6e8a0b1c2d3e4f5a6b" if name == "servicenow" else "778"
    copy = replaced(sandbox.tools[name].copy_as(new_id), case.subject, case.description)
    sandbox.add_ticket(name, new_id, copy | GROUP_FIELDS[name](case.group))
    ticket = fetched(name, sandbox, new_id)
    assert ticket.group == case.group != GROUP
    suggestion = suggest_triage(f"{ticket.subject}\n{ticket.description}", history, exclude=ticket.ticket_id)
    assert suggestion is not None
    assert suggestion.group is not None
    assert (suggestion.group.id, suggestion.group.value) == (ticket.group_id, case.group)
