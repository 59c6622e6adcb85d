"""``PluginManager``: the process-wide registry of ticketing-tool plugins.

* Built-ins are known statically (``builtins.BUILTIN_PLUGINS``) and imported on first use.
* Third-party plugins come from the ``ticket_enhancer.plugins`` entry-point group, scanned once and
  only when asked (``discover_entry_points()``, or ``load_plugins_on_startup()`` with
  ``TICKET_ENHANCER_ENTRY_POINTS=1``), never at every cold start.
* Every plugin is validated when registered; failures are recorded per plugin and never affect
  another plugin.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import EntryPoint
from typing import TYPE_CHECKING, Any

from ticket_enhancer.plugins.base import TicketingToolPlugin
from ticket_enhancer.plugins.builtins import BUILTIN_PLUGINS
from ticket_enhancer.plugins.errors import (
    PluginNotFoundError,
    PluginUnavailableError,
    PluginValidationError,
)

if TYPE_CHECKING:
    from ticket_enhancer.webhooks.schemes import WebhookScheme

logger = logging.getLogger(__name__)

PLUGIN_API_VERSION = "1.0"
ENTRY_POINT_GROUP = "ticket_enhancer.plugins"
ENV_ENTRY_POINTS = "TICKET_ENHANCER_ENTRY_POINTS"
ENV_TOOL = "TICKET_ENHANCER_TOOL"


class PluginState(StrEnum):
    REGISTERED = "registered"  # known, not imported or set up yet
    LOADED = "loaded"  # imported, validated, set up
    FAILED = "failed"  # import, validation or setup failed: see ``error``


@dataclass(slots=True)
class PluginStatus:
    tool_type: str
    source: str  # "builtin", "entry-point" or "registered"
    state: PluginState
    version: str | None = None
    error: str | None = None


@dataclass(slots=True)
class _Entry:
    status: PluginStatus
    loader: Callable[[], Any] | None = None
    plugin: TicketingToolPlugin | None = None
    set_up: bool = False  # setup() succeeded (so teardown() is owed)


def _import_target(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def _check_api(tool_type: str, cls: type[TicketingToolPlugin]) -> None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    declared = getattr(cls, "__plugin_api__", None)
    if not isinstance(declared, str) or not declared:
        raise PluginValidationError(f"Plugin {tool_type!r} ({cls.__name__}) does not declare __plugin_api__")
    try:
        supported = SpecifierSet(declared)
    except InvalidSpecifier:
        raise PluginValidationError(
            f"Plugin {tool_type!r} ({cls.__name__}) has an invalid __plugin_api__ {declared!r}"
        ) from None
    if PLUGIN_API_VERSION not in supported:
        raise PluginValidationError(
            f"Plugin {tool_type!r} ({cls.__name__}) supports plugin API {declared!r}, but this "
            f"ticket_enhancer provides plugin API {PLUGIN_API_VERSION}"
        )


def validate_plugin(tool_type: object, plugin: object) -> TicketingToolPlugin:
    """Check a plugin against the contract; return it typed, or raise ``PluginValidationError``."""
    if not isinstance(tool_type, str) or not tool_type.strip():
        raise PluginValidationError(f"tool_type must be a non-empty string, got {tool_type!r}")
    if isinstance(plugin, type):
        missing = sorted(getattr(plugin, "__abstractmethods__", ()))
        if issubclass(plugin, TicketingToolPlugin) and missing:
            raise PluginValidationError(
                f"Plugin {tool_type!r} ({plugin.__name__}) does not implement abstract methods: "
                + ", ".join(missing)
            )
        raise PluginValidationError(
            f"Plugin {tool_type!r} must be an instance of TicketingToolPlugin, got the class "
            f"{plugin.__name__}; register an instance"
        )
    if not isinstance(plugin, TicketingToolPlugin):
        raise PluginValidationError(
            f"Plugin {tool_type!r} must be an instance of TicketingToolPlugin, got {type(plugin).__name__}"
        )
    cls = type(plugin)
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        raise PluginValidationError(
            f"Plugin {tool_type!r} ({cls.__name__}) does not implement abstract methods: {', '.join(missing)}"
        )
    for attr in ("__tool_type__", "__version__"):
        if not isinstance(getattr(cls, attr, None), str) or not getattr(cls, attr):
            raise PluginValidationError(f"Plugin {tool_type!r} ({cls.__name__}) does not declare {attr}")
    if cls.__tool_type__ != tool_type:
        raise PluginValidationError(
            f"Plugin {cls.__name__} declares __tool_type__ {cls.__tool_type__!r} "
            f"but was registered as {tool_type!r}"
        )
    _check_api(tool_type, cls)
    _check_schemes(tool_type, cls)
    return plugin


def _check_schemes(tool_type: str, cls: type[TicketingToolPlugin]) -> None:
    """A plugin's own webhook schemes are ``WebhookScheme``s with names of their own, and its
    default mode is one it supports."""
    from ticket_enhancer.webhooks.schemes import COMMON_SCHEMES, WebhookScheme

    common = {s.name for s in COMMON_SCHEMES}
    for scheme in cls.webhook_schemes:
        if not isinstance(scheme, WebhookScheme):
            raise PluginValidationError(
                f"Plugin {tool_type!r} ({cls.__name__}) declares a webhook scheme that is not a "
                f"WebhookScheme: {scheme!r}"
            )
        if scheme.name in common:
            raise PluginValidationError(
                f"Plugin {tool_type!r} ({cls.__name__}) redefines the common webhook scheme {scheme.name!r}"
            )
    if cls.webhook_scheme(cls.default_auth_mode) is None:
        raise PluginValidationError(
            f"Plugin {tool_type!r} ({cls.__name__}) has default_auth_mode {cls.default_auth_mode!r} "
            f"but no webhook scheme of that name (supported: {', '.join(sorted(cls.auth_modes))})"
        )


class PluginManager:
    """One registry per process: ``PluginManager() is PluginManager()``.

    Tests build isolated registries with ``PluginManager.make_test_instance()``.
    """

    _instance: PluginManager | None = None
    _instance_lock = threading.Lock()

    def __new__(cls) -> PluginManager:
        with cls._instance_lock:
            if cls._instance is None:
                instance = super().__new__(cls)
                instance._init(BUILTIN_PLUGINS, None)
                cls._instance = instance
            return cls._instance

    @classmethod
    def make_test_instance(
        cls,
        plugins: Mapping[str, TicketingToolPlugin] | None = None,
        *,
        builtins: Mapping[str, str] | None = None,
        entry_points_fn: Callable[[], Iterable[EntryPoint]] | None = None,
    ) -> PluginManager:
        """A fresh, non-shared registry: no discovery, no built-ins unless given."""
        instance = super().__new__(cls)
        instance._init(builtins or {}, entry_points_fn or (lambda: ()))
        for name, plugin in (plugins or {}).items():
            instance.register_plugin(name, plugin)
        return instance

    def _init(
        self, builtins: Mapping[str, str], entry_points_fn: Callable[[], Iterable[EntryPoint]] | None
    ) -> None:
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._entry_points_fn = entry_points_fn or (lambda: _entry_points(ENTRY_POINT_GROUP))
        self._discovered = False
        for name, target in builtins.items():
            self._entries[name] = _Entry(
                PluginStatus(name, "builtin", PluginState.REGISTERED),
                loader=functools.partial(_import_target, target),
            )

    # -- registration ----------------------------------------------------------------------
    def register_plugin(self, tool_type: str, plugin: TicketingToolPlugin, *, replace: bool = False) -> None:
        """Register an instance under ``tool_type`` (validated now, not at first call)."""
        checked = validate_plugin(tool_type, plugin)
        with self._lock:
            existing = self._entries.get(tool_type)
            if existing is not None and not replace:
                raise PluginValidationError(
                    f"Plugin {tool_type!r} is already registered ({existing.status.source}); "
                    "pass replace=True to replace it"
                )
            if existing is not None:
                self._teardown(existing)
            self._entries[tool_type] = _Entry(
                PluginStatus(
                    tool_type, "registered", PluginState.REGISTERED, version=type(checked).__version__
                ),
                plugin=checked,
            )

    def unregister_plugin(self, tool_type: str) -> None:
        with self._lock:
            entry = self._entries.pop(tool_type, None)
        if entry is None:
            raise PluginNotFoundError(tool_type, self.list_registered_plugins())
        self._teardown(entry)

    def list_registered_plugins(self) -> list[str]:
        with self._lock:
            return sorted(self._entries)

    def is_plugin_registered(self, tool_type: str) -> bool:
        with self._lock:
            return tool_type in self._entries

    def plugin_status(self) -> dict[str, PluginStatus]:
        """State of every plugin: registered, loaded or failed (with its error). Switching a tool
        off is an operator's act on the deployment, not on a process's registry: `plugins pause`
        (its worker), `tenants disable` (one tenant)."""
        with self._lock:
            return {name: entry.status for name, entry in sorted(self._entries.items())}

    # -- lookup -----------------------------------------------------------------------------
    def get_plugin(self, tool_type: str) -> TicketingToolPlugin:
        """The plugin for ``tool_type``, importing and setting it up on first use."""
        entry = self._require(tool_type)
        status = entry.status
        if status.state is PluginState.LOADED and entry.plugin is not None:
            return entry.plugin
        with self._lock:
            if status.state is PluginState.REGISTERED:
                self._load(entry)
            if status.state is PluginState.FAILED or entry.plugin is None:
                raise PluginUnavailableError(f"Plugin {tool_type!r} failed to load: {status.error}")
            return entry.plugin

    def _require(self, tool_type: str) -> _Entry:
        with self._lock:
            entry = self._entries.get(tool_type)
        if entry is None:
            raise PluginNotFoundError(tool_type, self.list_registered_plugins())
        return entry

    def _load(self, entry: _Entry) -> None:
        status = entry.status
        try:
            if entry.plugin is None:
                if entry.loader is None:
                    raise PluginUnavailableError(
                        f"plugin {status.tool_type!r} has neither an instance nor a loader"
                    )
                loaded = entry.loader()
                instance = loaded() if isinstance(loaded, type) else loaded
                entry.plugin = validate_plugin(status.tool_type, instance)
                status.version = type(entry.plugin).__version__
            entry.plugin.setup()
            entry.set_up = True
        except Exception as exc:  # one plugin failing never breaks another
            entry.plugin = None
            status.state = PluginState.FAILED
            status.error = f"{type(exc).__name__}: {exc}"
            logger.warning(
                "plugin failed to load", extra={"tool_type": status.tool_type, "error": status.error}
            )
            return
        status.state = PluginState.LOADED
        status.error = None

    @staticmethod
    def _teardown(entry: _Entry) -> None:
        if entry.plugin is not None and entry.set_up:
            entry.set_up = False
            try:
                entry.plugin.teardown()
            except Exception:  # a teardown failure must not block replacement or removal
                logger.exception("plugin teardown failed", extra={"tool_type": entry.status.tool_type})

    # -- discovery and startup ---------------------------------------------------------------
    def discover_entry_points(self) -> list[str]:
        """Register third-party plugins from the entry-point group (once per process)."""
        with self._lock:
            if self._discovered:
                return []
            self._discovered = True
            found: list[str] = []
            for ep in self._entry_points_fn():
                name = ep.name
                if name in self._entries:
                    logger.warning(
                        "entry-point plugin ignored: name already registered",
                        extra={"tool_type": name, "entry_point": ep.value},
                    )
                    continue
                self._entries[name] = _Entry(
                    PluginStatus(name, "entry-point", PluginState.REGISTERED), loader=ep.load
                )
                found.append(name)
            return found

    def load_plugins_on_startup(self, tool_types: Iterable[str] | None = None) -> dict[str, PluginStatus]:
        """Idempotent start-up: discover entry points when enabled, then import and set up the
        plugins this process needs (``tool_types``, else ``$TICKET_ENHANCER_TOOL``, else all).
        Failures are recorded in the returned statuses, never raised."""
        if os.environ.get(ENV_ENTRY_POINTS, "").lower() in ("1", "true", "yes"):
            self.discover_entry_points()
        if tool_types is None:
            wanted = os.environ.get(ENV_TOOL)
            tool_types = [wanted] if wanted else self.list_registered_plugins()
        with self._lock:
            for name in tool_types:
                entry = self._entries.get(name)
                if entry is not None and entry.status.state is PluginState.REGISTERED:
                    self._load(entry)
        return self.plugin_status()


def known_tools() -> list[str]:
    """Every tool this process can serve: the built-ins, plus entry-point plugins when enabled
    (``TICKET_ENHANCER_ENTRY_POINTS=1``). What the CLI, the template generator, ``events/`` and the
    local demo list, so a tool is known in one place."""
    manager = PluginManager()
    if os.environ.get(ENV_ENTRY_POINTS, "").lower() in ("1", "true", "yes"):
        manager.discover_entry_points()
    order = {name: index for index, name in enumerate(BUILTIN_PLUGINS)}  # built-ins first, as listed
    return sorted(manager.list_registered_plugins(), key=lambda name: (order.get(name, len(order)), name))


def webhook_schemes() -> dict[str, WebhookScheme]:
    """Every webhook auth scheme a known tool supports, by name: the common ones and each
    plugin's own (a tool that fails to load is left out). For signing and tests; a tenant's
    scheme is always looked up through its own plugin (``TicketingToolPlugin.webhook_scheme``)."""
    from ticket_enhancer.plugins.errors import PluginError
    from ticket_enhancer.webhooks.schemes import BUILTIN_SCHEMES

    found: dict[str, WebhookScheme] = dict(BUILTIN_SCHEMES)
    manager = PluginManager()
    for tool in known_tools():
        try:
            plugin = manager.get_plugin(tool)
        except PluginError:
            continue
        for scheme in plugin.webhook_schemes:
            found.setdefault(scheme.name, scheme)
    return found


def plugin_for_function(tool_type: str) -> TicketingToolPlugin:
    """What a function's init calls: start-up for just this tool (entry points when enabled),
    then the loaded plugin, or ``PluginUnavailableError`` with the reason it failed."""
    manager = PluginManager()
    manager.load_plugins_on_startup([tool_type])
    return manager.get_plugin(tool_type)


def _entry_points(group: str) -> Iterable[EntryPoint]:
    from importlib.metadata import entry_points

    return entry_points(group=group)
