"""Which tools the template generator emits, and how an entry-point plugin's package gets into its
functions (``scripts/template/selection.py``); the end-to-end path is
``tests/integration/test_plugin_package.py``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from scripts.template import selection
from scripts.template.selection import SelectionError, requirement, select_tools


@dataclass
class FakeDist:
    direct_url: dict[str, Any] | None = None
    requires: list[str] | None = None
    version: str = "1.2.3"
    metadata: dict[str, str] = field(default_factory=lambda: {"Name": "acme-desk-plugin"})

    def read_text(self, name: str) -> str | None:
        assert name == "direct_url.json"
        return json.dumps(self.direct_url) if self.direct_url is not None else None


@dataclass
class FakeEntryPoint:
    name: str
    dist: FakeDist | None


def installed(monkeypatch: pytest.MonkeyPatch, dist: FakeDist, name: str = "acme_desk") -> None:
    import importlib.metadata

    def entry_points(group: str) -> list[FakeEntryPoint]:
        if group != "ticket_enhancer.plugins":  # another library's plugins (pydantic's)
            return []
        return [FakeEntryPoint("other", FakeDist()), FakeEntryPoint(name, dist)]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


@pytest.mark.parametrize(
    ("direct_url", "expected"),
    [
        ({"url": "file:///src/acme", "dir_info": {}}, "acme-desk-plugin @ file:///src/acme"),
        ({"url": "file:///src/acme", "dir_info": {"editable": True}}, "acme-desk-plugin @ file:///src/acme"),
        ({"url": "file:///w/acme-1.2.3-py3-none-any.whl", "archive_info": {}}, None),
        (None, "acme-desk-plugin==1.2.3"),  # from an index
        ({"url": "https://git.example/acme.git", "vcs_info": {"vcs": "git"}}, "acme-desk-plugin==1.2.3"),
    ],
)
def test_the_requirement_names_where_the_package_came_from(
    monkeypatch: pytest.MonkeyPatch, direct_url: dict[str, Any] | None, expected: str | None
) -> None:
    installed(monkeypatch, FakeDist(direct_url))
    wanted = expected or f"acme-desk-plugin @ {direct_url['url'] if direct_url else ''}"
    assert requirement("acme_desk") == wanted


@pytest.mark.parametrize(
    "needed", ["ticket-enhancer>=1", "Ticket_Enhancer", "ticket.enhancer ; python_version>'3'"]
)
def test_a_plugin_that_requires_ticket_enhancer_is_refused(
    monkeypatch: pytest.MonkeyPatch, needed: str
) -> None:
    installed(monkeypatch, FakeDist(requires=["httpx>=0.27", needed]))
    with pytest.raises(SelectionError, match="SharedLayer provides ticket_enhancer"):
        requirement("acme_desk")


def test_other_requirements_are_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    installed(monkeypatch, FakeDist(requires=["ticket-enhancer-extras==1", "httpx"]))
    assert requirement("acme_desk") == "acme-desk-plugin==1.2.3"


def test_a_tool_without_an_installed_distribution_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    installed(monkeypatch, FakeDist(), name="somebody_else")
    with pytest.raises(SelectionError, match="no installed distribution provides its entry point"):
        requirement("acme_desk")


def test_the_default_is_the_registrys_built_ins_with_no_requirement() -> None:
    tools = select_tools()
    assert [t.name for t in tools][:2] == ["jira", "zendesk"]
    assert all(t.requirement is None for t in tools)
    assert {t.name: t.camel for t in tools}["servicedesk_plus"] == "ServiceDeskPlus"


def test_only_picks_and_orders_and_unknown_names_are_refused() -> None:
    assert [t.name for t in select_tools(only=["zammad", "jira", "zammad"])] == ["zammad", "jira"]
    with pytest.raises(SelectionError, match=r"^unknown tool 'nope': neither a built-in"):
        select_tools(include=["nope"])
    assert selection.Tool("x", "X").requirement is None
