"""The vendor sandbox finds each tool's part (``sandbox/tools/<tool>.py``) by name for every tool the
plugin registry knows: adding a tool edits no shared sandbox file."""

from __future__ import annotations

import json

import pytest
from ticket_enhancer.plugins.registry import known_tools
from ticket_enhancer_dev.sandbox import tools
from ticket_enhancer_dev.sandbox.model import ToolData
from ticket_enhancer_dev.sandbox.tickets import SEED_TICKETS, seed_ticket_id, webhook_body
from ticket_enhancer_dev.sandbox.vendor import VendorSandbox


def test_every_registered_tool_has_a_sandbox_module() -> None:
    assert list(tools.available()) == known_tools()
    assert list(SEED_TICKETS) == known_tools()


@pytest.mark.parametrize("tool", known_tools())
def test_a_tool_module_gives_seed_ticket_id_and_webhook_body(tool: str) -> None:
    found = tools.load(tool)
    assert found is not None
    assert seed_ticket_id(tool) == str(found.seed_ticket[found.id_field])
    assert SEED_TICKETS[tool] is found.seed_ticket
    body = webhook_body(tool, "acme")
    assert json.loads(json.dumps(body)) == body  # plain JSON
    sandbox = VendorSandbox()
    assert seed_ticket_id(tool) in sandbox.state.tickets[tool]
    assert sandbox.notes(tool) == []


@pytest.mark.parametrize("tool", known_tools())
def test_add_ticket_copies_the_seed_under_a_new_id(tool: str) -> None:
    sandbox = VendorSandbox()
    sandbox.add_ticket(tool, "777")
    copy = sandbox.state.tickets[tool]["777"]
    found = tools.load(tool)
    assert found is not None
    assert str(copy[found.id_field]) == "777"
    assert sandbox.state.tickets[tool][seed_ticket_id(tool)] != copy  # the seed is untouched


def test_tools_without_a_module_are_left_out() -> None:
    assert tools.load("no_such_tool") is None
    assert tools.load("not-an-identifier") is None
    with pytest.raises(KeyError, match="no module for tool 'no_such_tool'"):
        seed_ticket_id("no_such_tool")
    answer = VendorSandbox().handle("GET", "/_sandbox/no_such_tool/x", "", {}, b"")
    assert answer.status == 404


def test_tool_data_finds_by_id_or_key_and_numbers_notes() -> None:
    tickets = {"1": {"id": "1", "key": "IT-1"}}
    data = ToolData(tickets, {}, "id", ("key",))
    assert data.find("1") is data.find("IT-1") is tickets["1"]
    assert data.find("IT-2") is None
    assert data.add_note(tickets["1"], {"body": "a"}) == 1
    assert data.add_note(tickets["1"], {"body": "b"}) == 2
    assert [n["body"] for n in data.notes_of(tickets["1"])] == ["a", "b"]
