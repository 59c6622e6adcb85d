"""The plugin registry contract (docs/contract.md, "Plugin API")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet
from ticket_enhancer.plugins import (
    ENTRY_POINT_GROUP,
    PLUGIN_API_VERSION,
    PluginManager,
    PluginNotFoundError,
    PluginState,
    PluginUnavailableError,
    PluginValidationError,
    TicketingToolPlugin,
    WebhookEvent,
    WebhookRequest,
)
from ticket_enhancer.plugins.builtins import BUILTIN_PLUGINS

from tests.unit.fake_plugins.stub import StubPlugin

REPO = Path(__file__).resolve().parents[2]
FAKES = "tests.unit.fake_plugins"
GOOD = f"{FAKES}.good:GoodPlugin"
LAZY = f"{FAKES}.lazy:LazyPlugin"
BROKEN = f"{FAKES}.broken_import:Whatever"
BAD_SETUP = f"{FAKES}.bad_setup:BadSetupPlugin"
CONTRACT_TOOLS = ["jira", "zendesk", "servicenow", "freshservice", "servicedesk_plus", "zammad"]


# -- test plugins ---------------------------------------------------------------------------
class AlphaPlugin(StubPlugin):
    __tool_type__ = "alpha"
    __version__ = "1.2.3"
    __plugin_api__ = ">=1,<2"


class BetaPlugin(StubPlugin):
    __tool_type__ = "beta"
    __version__ = "0.0.1"


class JiraLookalikePlugin(StubPlugin):
    __tool_type__ = "jira"
    __version__ = "9.9.9"


class NoVersionPlugin(StubPlugin):
    __tool_type__ = "noversion"


class FuturePlugin(StubPlugin):
    __tool_type__ = "future"
    __version__ = "3.0.0"
    __plugin_api__ = ">=2,<3"


class BadSpecPlugin(StubPlugin):
    __tool_type__ = "badspec"
    __version__ = "1.0.0"
    __plugin_api__ = "one point oh"


class IncompletePlugin(TicketingToolPlugin):
    """Implements one primitive of six."""

    __tool_type__ = "incomplete"
    __version__ = "1.0.0"

    def parse_webhook(self, payload: dict[str, Any], request: WebhookRequest) -> WebhookEvent:
        return WebhookEvent(ticket_id="1")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TICKET_ENHANCER_ENTRY_POINTS", raising=False)
    monkeypatch.delenv("TICKET_ENHANCER_TOOL", raising=False)


def validation_message(manager: PluginManager, tool_type: Any, plugin: Any) -> str:
    with pytest.raises(PluginValidationError) as caught:
        manager.register_plugin(tool_type, plugin)
    return str(caught.value)


# -- the process-wide registry -----------------------------------------------------------------
def test_plugin_manager_is_a_singleton() -> None:
    assert PluginManager() is PluginManager()


def test_singleton_lists_every_builtin_tool() -> None:
    manager = PluginManager()
    assert set(CONTRACT_TOOLS) <= set(manager.list_registered_plugins())
    assert all(manager.is_plugin_registered(tool) for tool in CONTRACT_TOOLS)
    assert not manager.is_plugin_registered("acme_desk")


def test_test_instance_is_isolated_and_empty() -> None:
    first = PluginManager.make_test_instance()
    second = PluginManager.make_test_instance()
    assert first is not second
    assert first is not PluginManager()
    assert first.list_registered_plugins() == []
    first.register_plugin("alpha", AlphaPlugin())
    assert second.list_registered_plugins() == []
    assert not PluginManager().is_plugin_registered("alpha")


def test_test_instance_does_not_discover_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKET_ENHANCER_ENTRY_POINTS", "1")
    manager = PluginManager.make_test_instance()
    assert manager.discover_entry_points() == []
    assert manager.load_plugins_on_startup() == {}


def test_test_instance_takes_plugins() -> None:
    alpha = AlphaPlugin()
    manager = PluginManager.make_test_instance({"alpha": alpha})
    assert manager.get_plugin("alpha") is alpha


def test_builtins_are_listed_before_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, f"{FAKES}.lazy", raising=False)
    manager = PluginManager.make_test_instance(builtins={"lazy": LAZY})
    assert manager.list_registered_plugins() == ["lazy"]
    assert manager.is_plugin_registered("lazy")
    assert manager.plugin_status()["lazy"].state is PluginState.REGISTERED
    assert manager.plugin_status()["lazy"].source == "builtin"
    assert f"{FAKES}.lazy" not in sys.modules

    plugin = manager.get_plugin("lazy")

    assert f"{FAKES}.lazy" in sys.modules
    assert type(plugin).__name__ == "LazyPlugin"
    status = manager.plugin_status()["lazy"]
    assert (status.state, status.version, status.error) == (PluginState.LOADED, "0.1.0", None)


# -- register / get / unregister ------------------------------------------------------------------
def test_register_get_unregister() -> None:
    manager = PluginManager.make_test_instance()
    alpha = AlphaPlugin()
    manager.register_plugin("alpha", alpha)
    assert manager.is_plugin_registered("alpha")
    assert manager.list_registered_plugins() == ["alpha"]
    status = manager.plugin_status()["alpha"]
    assert (status.source, status.state, status.version) == ("registered", PluginState.REGISTERED, "1.2.3")

    assert manager.get_plugin("alpha") is alpha
    assert manager.plugin_status()["alpha"].state is PluginState.LOADED

    manager.unregister_plugin("alpha")
    assert not manager.is_plugin_registered("alpha")
    assert manager.list_registered_plugins() == []
    assert alpha.teardown_calls == 1
    with pytest.raises(PluginNotFoundError):
        manager.get_plugin("alpha")


def test_list_is_sorted() -> None:
    manager = PluginManager.make_test_instance(builtins={"lazy": LAZY})
    manager.register_plugin("beta", BetaPlugin())
    manager.register_plugin("alpha", AlphaPlugin())
    assert manager.list_registered_plugins() == ["alpha", "beta", "lazy"]


def test_setup_is_called_once() -> None:
    alpha = AlphaPlugin()
    manager = PluginManager.make_test_instance({"alpha": alpha})
    assert alpha.setup_calls == 0  # registering validates, it does not set up
    manager.get_plugin("alpha")
    manager.get_plugin("alpha")
    manager.load_plugins_on_startup()
    assert alpha.setup_calls == 1


def test_setup_of_lazily_imported_plugin_is_called_once() -> None:
    manager = PluginManager.make_test_instance(builtins={"good": GOOD})
    manager.load_plugins_on_startup()
    plugin = manager.get_plugin("good")
    assert manager.get_plugin("good") is plugin
    assert isinstance(plugin, StubPlugin)
    assert plugin.setup_calls == 1


def test_unregistering_a_plugin_never_set_up_skips_teardown() -> None:
    alpha = AlphaPlugin()
    manager = PluginManager.make_test_instance({"alpha": alpha})
    manager.unregister_plugin("alpha")
    assert (alpha.setup_calls, alpha.teardown_calls) == (0, 0)


# -- validation ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "   "])
def test_empty_tool_type_is_rejected(name: str) -> None:
    manager = PluginManager.make_test_instance()
    assert (
        validation_message(manager, name, AlphaPlugin())
        == f"tool_type must be a non-empty string, got {name!r}"
    )


@pytest.mark.parametrize("name", [None, 7, b"alpha"])
def test_non_str_tool_type_is_rejected(name: object) -> None:
    manager = PluginManager.make_test_instance()
    assert (
        validation_message(manager, name, AlphaPlugin())
        == f"tool_type must be a non-empty string, got {name!r}"
    )


def test_object_that_is_not_a_plugin_is_rejected() -> None:
    manager = PluginManager.make_test_instance()
    assert (
        validation_message(manager, "alpha", object())
        == "Plugin 'alpha' must be an instance of TicketingToolPlugin, got object"
    )


def test_plugin_class_instead_of_instance_is_rejected() -> None:
    manager = PluginManager.make_test_instance()
    assert validation_message(manager, "alpha", AlphaPlugin) == (
        "Plugin 'alpha' must be an instance of TicketingToolPlugin, got the class AlphaPlugin; "
        "register an instance"
    )


def test_class_with_missing_abstract_methods_names_them_sorted() -> None:
    manager = PluginManager.make_test_instance()
    assert validation_message(manager, "incomplete", IncompletePlugin) == (
        "Plugin 'incomplete' (IncompletePlugin) does not implement abstract methods: "
        "note_request, notes_request, parse_notes, parse_ticket, ticket_request"
    )


def test_instance_with_missing_abstract_methods_names_them() -> None:
    class Hollow(AlphaPlugin):
        pass

    hollow = Hollow()  # instantiated while complete, then declared incomplete
    Hollow.__abstractmethods__ = frozenset({"parse_ticket", "note_request"})
    manager = PluginManager.make_test_instance()
    assert validation_message(manager, "alpha", hollow) == (
        "Plugin 'alpha' (Hollow) does not implement abstract methods: note_request, parse_ticket"
    )


def test_tool_type_mismatch_is_rejected() -> None:
    manager = PluginManager.make_test_instance()
    assert validation_message(manager, "beta", AlphaPlugin()) == (
        "Plugin AlphaPlugin declares __tool_type__ 'alpha' but was registered as 'beta'"
    )


def test_missing_version_is_rejected() -> None:
    manager = PluginManager.make_test_instance()
    assert validation_message(manager, "noversion", NoVersionPlugin()) == (
        "Plugin 'noversion' (NoVersionPlugin) does not declare __version__"
    )


def test_incompatible_plugin_api_names_both_versions() -> None:
    manager = PluginManager.make_test_instance()
    message = validation_message(manager, "future", FuturePlugin())
    assert message == (
        "Plugin 'future' (FuturePlugin) supports plugin API '>=2,<3', but this ticket_enhancer "
        "provides plugin API 1.0"
    )
    assert ">=2,<3" in message
    assert PLUGIN_API_VERSION in message


def test_invalid_plugin_api_specifier_is_rejected() -> None:
    manager = PluginManager.make_test_instance()
    assert validation_message(manager, "badspec", BadSpecPlugin()) == (
        "Plugin 'badspec' (BadSpecPlugin) has an invalid __plugin_api__ 'one point oh'"
    )


def test_rejected_plugin_is_not_registered() -> None:
    manager = PluginManager.make_test_instance()
    validation_message(manager, "future", FuturePlugin())
    assert not manager.is_plugin_registered("future")


def test_duplicate_name_is_rejected() -> None:
    first = AlphaPlugin()
    manager = PluginManager.make_test_instance({"alpha": first})
    assert validation_message(manager, "alpha", AlphaPlugin()) == (
        "Plugin 'alpha' is already registered (registered); pass replace=True to replace it"
    )
    assert manager.get_plugin("alpha") is first


def test_builtin_names_count_as_registered() -> None:
    manager = PluginManager.make_test_instance(builtins={"jira": BUILTIN_PLUGINS["jira"]})
    assert validation_message(manager, "jira", JiraLookalikePlugin()) == (
        "Plugin 'jira' is already registered (builtin); pass replace=True to replace it"
    )
    lookalike = JiraLookalikePlugin()
    manager.register_plugin("jira", lookalike, replace=True)
    assert manager.get_plugin("jira") is lookalike
    assert manager.plugin_status()["jira"].source == "registered"


def test_replace_tears_down_the_old_plugin() -> None:
    old, new = AlphaPlugin(), AlphaPlugin()
    manager = PluginManager.make_test_instance({"alpha": old})
    assert manager.get_plugin("alpha") is old
    manager.register_plugin("alpha", new, replace=True)
    assert old.teardown_calls == 1
    assert manager.get_plugin("alpha") is new
    assert (new.setup_calls, new.teardown_calls) == (1, 0)


def test_replace_with_an_invalid_plugin_keeps_the_old_one() -> None:
    old = AlphaPlugin()
    manager = PluginManager.make_test_instance({"alpha": old})
    with pytest.raises(PluginValidationError):
        manager.register_plugin("alpha", object(), replace=True)  # type: ignore[arg-type]
    assert manager.get_plugin("alpha") is old
    assert old.teardown_calls == 0


# -- not found ---------------------------------------------------------------------------------
def test_not_found_names_tool_type_and_lists_registered() -> None:
    manager = PluginManager.make_test_instance({"beta": BetaPlugin()}, builtins={"lazy": LAZY})
    manager.register_plugin("alpha", AlphaPlugin())
    with pytest.raises(PluginNotFoundError) as caught:
        manager.get_plugin("acme_desk")
    assert (
        str(caught.value) == "No plugin registered for tool_type 'acme_desk'; registered: alpha, beta, lazy"
    )
    assert caught.value.tool_type == "acme_desk"
    assert caught.value.registered == ["alpha", "beta", "lazy"]
    assert isinstance(caught.value, LookupError)


def test_not_found_on_empty_registry_says_none() -> None:
    manager = PluginManager.make_test_instance()
    with pytest.raises(PluginNotFoundError) as caught:
        manager.get_plugin("jira")
    assert str(caught.value) == "No plugin registered for tool_type 'jira'; registered: none"


def test_unregister_unknown_raises_not_found() -> None:
    manager = PluginManager.make_test_instance({"alpha": AlphaPlugin()})
    with pytest.raises(PluginNotFoundError, match=r"'ghost'; registered: alpha$"):
        manager.unregister_plugin("ghost")


# -- lazy built-ins that fail ------------------------------------------------------------------
def test_import_failure_is_recorded_and_isolated() -> None:
    manager = PluginManager.make_test_instance(builtins={"good": GOOD, "broken": BROKEN})
    statuses = manager.load_plugins_on_startup()

    assert statuses["broken"].state is PluginState.FAILED
    assert statuses["broken"].error == "ImportError: broken_import needs the package 'not_installed_anywhere'"
    assert statuses["good"].state is PluginState.LOADED
    assert type(manager.get_plugin("good")).__name__ == "GoodPlugin"
    with pytest.raises(PluginUnavailableError) as caught:
        manager.get_plugin("broken")
    assert str(caught.value) == (
        "Plugin 'broken' failed to load: "
        "ImportError: broken_import needs the package 'not_installed_anywhere'"
    )


def test_failing_setup_is_recorded_and_isolated() -> None:
    manager = PluginManager.make_test_instance(builtins={"bad_setup": BAD_SETUP, "good": GOOD})
    with pytest.raises(PluginUnavailableError, match="RuntimeError: cannot reach the licence server"):
        manager.get_plugin("bad_setup")
    status = manager.plugin_status()["bad_setup"]
    assert status.state is PluginState.FAILED
    assert status.error == "RuntimeError: cannot reach the licence server"
    assert manager.get_plugin("good").__tool_type__ == "good"
    # A failed plugin stays failed: no second import or setup attempt per call.
    with pytest.raises(PluginUnavailableError, match="licence server"):
        manager.get_plugin("bad_setup")


def test_failing_setup_of_registered_instance_is_recorded() -> None:
    class Grumpy(AlphaPlugin):
        def setup(self) -> None:
            raise OSError("disk full")

    manager = PluginManager.make_test_instance({"alpha": Grumpy(), "beta": BetaPlugin()})
    statuses = manager.load_plugins_on_startup()
    assert (statuses["alpha"].state, statuses["alpha"].error) == (PluginState.FAILED, "OSError: disk full")
    assert statuses["beta"].state is PluginState.LOADED


def test_lazy_target_failing_validation_is_failed() -> None:
    manager = PluginManager.make_test_instance(builtins={"other": GOOD})
    with pytest.raises(PluginUnavailableError) as caught:
        manager.get_plugin("other")
    assert str(caught.value) == (
        "Plugin 'other' failed to load: PluginValidationError: Plugin GoodPlugin declares "
        "__tool_type__ 'good' but was registered as 'other'"
    )


# -- start-up and discovery -----------------------------------------------------------------------
class CountingEntryPoints:
    """An ``entry_points_fn`` that counts how often discovery scans the group."""

    def __init__(self, *eps: EntryPoint) -> None:
        self.eps = eps
        self.calls = 0

    def __call__(self) -> Iterable[EntryPoint]:
        self.calls += 1
        return self.eps


def entry_point(name: str, value: str = GOOD) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_startup_is_idempotent() -> None:
    alpha = AlphaPlugin()
    manager = PluginManager.make_test_instance({"alpha": alpha}, builtins={"good": GOOD})
    first = manager.load_plugins_on_startup()
    loaded = manager.get_plugin("good")
    second = manager.load_plugins_on_startup()
    assert {name: s.state for name, s in first.items()} == {
        "alpha": PluginState.LOADED,
        "good": PluginState.LOADED,
    }
    assert {name: s.state for name, s in second.items()} == {name: s.state for name, s in first.items()}
    assert manager.get_plugin("good") is loaded
    assert alpha.setup_calls == 1


def test_startup_loads_only_the_requested_tool_types() -> None:
    manager = PluginManager.make_test_instance(builtins={"good": GOOD, "bad_setup": BAD_SETUP})
    statuses = manager.load_plugins_on_startup(tool_types=["good", "not_registered"])
    assert statuses["good"].state is PluginState.LOADED
    assert statuses["bad_setup"].state is PluginState.REGISTERED
    assert "not_registered" not in statuses


def test_startup_honours_tool_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKET_ENHANCER_TOOL", "bad_setup")
    manager = PluginManager.make_test_instance(builtins={"good": GOOD, "bad_setup": BAD_SETUP})
    statuses = manager.load_plugins_on_startup()
    assert statuses["bad_setup"].state is PluginState.FAILED
    assert statuses["good"].state is PluginState.REGISTERED


def test_startup_tool_types_argument_beats_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKET_ENHANCER_TOOL", "bad_setup")
    manager = PluginManager.make_test_instance(builtins={"good": GOOD, "bad_setup": BAD_SETUP})
    statuses = manager.load_plugins_on_startup(tool_types=["good"])
    assert statuses["good"].state is PluginState.LOADED
    assert statuses["bad_setup"].state is PluginState.REGISTERED


def test_entry_points_ignored_unless_enabled() -> None:
    scan = CountingEntryPoints(entry_point("good"))
    manager = PluginManager.make_test_instance(entry_points_fn=scan)
    assert manager.load_plugins_on_startup() == {}
    assert scan.calls == 0
    assert not manager.is_plugin_registered("good")


@pytest.mark.parametrize("flag", ["1", "true", "YES"])
def test_entry_points_discovered_once_when_enabled(monkeypatch: pytest.MonkeyPatch, flag: str) -> None:
    monkeypatch.setenv("TICKET_ENHANCER_ENTRY_POINTS", flag)
    scan = CountingEntryPoints(entry_point("good"))
    manager = PluginManager.make_test_instance(entry_points_fn=scan)

    statuses = manager.load_plugins_on_startup()
    manager.load_plugins_on_startup()
    assert manager.discover_entry_points() == []

    assert scan.calls == 1
    status = statuses["good"]
    assert (status.source, status.state, status.version) == ("entry-point", PluginState.LOADED, "2.3.4")
    assert manager.get_plugin("good").__tool_type__ == "good"


def test_discover_entry_points_returns_new_names() -> None:
    scan = CountingEntryPoints(entry_point("good"), entry_point("lazy", LAZY))
    manager = PluginManager.make_test_instance(entry_points_fn=scan)
    assert manager.discover_entry_points() == ["good", "lazy"]
    assert manager.plugin_status()["lazy"].state is PluginState.REGISTERED  # imported on first use


def test_entry_point_colliding_with_builtin_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKET_ENHANCER_ENTRY_POINTS", "1")
    scan = CountingEntryPoints(entry_point("jira"), entry_point("good"))
    manager = PluginManager.make_test_instance(
        builtins={"jira": BUILTIN_PLUGINS["jira"]}, entry_points_fn=scan
    )
    statuses = manager.load_plugins_on_startup()
    assert statuses["jira"].source == "builtin"
    assert statuses["jira"].state is PluginState.LOADED
    assert type(manager.get_plugin("jira")).__name__ == "JiraPlugin"
    assert statuses["good"].source == "entry-point"


def test_failing_entry_point_does_not_affect_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKET_ENHANCER_ENTRY_POINTS", "1")
    scan = CountingEntryPoints(entry_point("broken", BROKEN), entry_point("good"))
    manager = PluginManager.make_test_instance(entry_points_fn=scan)
    statuses = manager.load_plugins_on_startup()
    assert statuses["broken"].state is PluginState.FAILED
    assert statuses["good"].state is PluginState.LOADED


# -- the real built-ins -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def builtin_manager() -> PluginManager:
    return PluginManager.make_test_instance(builtins=BUILTIN_PLUGINS)


def test_builtin_map_covers_the_contract_tools() -> None:
    assert sorted(BUILTIN_PLUGINS) == sorted(CONTRACT_TOOLS)


@pytest.mark.parametrize("tool", CONTRACT_TOOLS)
def test_real_builtin_loads(builtin_manager: PluginManager, tool: str) -> None:
    plugin = builtin_manager.get_plugin(tool)
    cls = type(plugin)
    assert cls.__tool_type__ == tool
    assert isinstance(cls.__version__, str)
    assert cls.__version__
    assert PLUGIN_API_VERSION in SpecifierSet(cls.__plugin_api__)
    status = builtin_manager.plugin_status()[tool]
    assert (status.state, status.version, status.error) == (PluginState.LOADED, cls.__version__, None)


def test_real_builtins_all_load_at_startup() -> None:
    manager = PluginManager.make_test_instance(builtins=BUILTIN_PLUGINS)
    statuses = manager.load_plugins_on_startup()
    assert {name: s.state for name, s in statuses.items()} == dict.fromkeys(
        CONTRACT_TOOLS, PluginState.LOADED
    )


# -- the webhook import path -------------------------------------------------------------------------
WEBHOOK_IMPORT_PROBE = """
import json, sys
import jira_webhook
others = ("zendesk", "servicenow", "freshservice", "servicedesk_plus", "zammad")
prefixes = tuple(f"ticket_enhancer.plugins.{tool}" for tool in others)
print(json.dumps({
    "handler": callable(getattr(jira_webhook, "handler", None)),
    "other_plugins": sorted(m for m in sys.modules if m.startswith(prefixes)),
    "httpx": sorted(m for m in sys.modules if m == "httpx" or m.startswith("httpx.")),
    "moto": sorted(m for m in sys.modules if m == "moto" or m.startswith("moto.")),
}))
"""


def test_webhook_import_path_loads_only_its_own_tool() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TICKET_ENHANCER_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO / "shared"), str(REPO / "functions" / "jira_webhook")]),
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        # what the template sets (ticket_enhancer.settings: init fails without them)
        TENANTS_TABLE="tenants",
        DELIVERIES_TABLE="deliveries",
        QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/jira.fifo",
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter, fixed script)
        [sys.executable, "-c", WEBHOOK_IMPORT_PROBE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"handler": True, "other_plugins": [], "httpx": [], "moto": []}


def test_plugin_for_function_starts_up_only_its_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    """A function's init loads its own plugin and no other (and discovers entry points only when enabled)."""
    from ticket_enhancer.plugins import registry

    manager = PluginManager.make_test_instance(builtins=BUILTIN_PLUGINS)
    monkeypatch.setattr(registry.PluginManager, "_instance", manager)
    monkeypatch.delenv("TICKET_ENHANCER_ENTRY_POINTS", raising=False)

    plugin = registry.plugin_for_function("zendesk")

    assert plugin.__tool_type__ == "zendesk"
    states = {name: status.state for name, status in manager.plugin_status().items()}
    assert states["zendesk"] is PluginState.LOADED
    assert {states[name] for name in states if name != "zendesk"} == {PluginState.REGISTERED}
