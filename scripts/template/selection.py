"""Which tools the template is generated for: the plugin registry's built-ins (plus entry-point
plugins with ``TICKET_ENHANCER_ENTRY_POINTS=1``), ``--include`` more, or ``--only`` some.

A tool whose plugin is an entry-point plugin (a package of its own, installed where the generator
runs) gets the pip requirement of that package: its functions' ``requirements.txt``, which
``sam build`` installs into each function's artifact, and ``TICKET_ENHANCER_ENTRY_POINTS=1`` in
their environment so the function's registry finds it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass


class SelectionError(ValueError):
    """A tool that cannot be generated: unknown, or its plugin does not load."""


@dataclass(frozen=True)
class Tool:
    name: str  # the tool type ("jira")
    camel: str  # CamelCase for logical ids ("Jira"), declared by the plugin
    # An entry-point plugin: the pip requirement of its package; None for a built-in.
    requirement: str | None = None


def select_tools(include: Sequence[str] = (), only: Sequence[str] = ()) -> list[Tool]:
    """The tools to generate, in order: the registry's (built-ins first), then ``include``; or
    exactly ``only``. Names in ``include``/``only`` may be entry-point plugins (discovered here)."""
    from ticket_enhancer.plugins.errors import PluginError
    from ticket_enhancer.plugins.registry import PluginManager, known_tools

    manager = PluginManager()
    default = known_tools()
    if include or only:
        manager.discover_entry_points()
    wanted = list(dict.fromkeys(only)) if only else list(dict.fromkeys([*default, *include]))
    statuses = manager.plugin_status()
    tools: list[Tool] = []
    for name in wanted:
        if name not in statuses:
            raise SelectionError(
                f"unknown tool {name!r}: neither a built-in nor an installed entry-point plugin "
                f"(known: {', '.join(sorted(statuses))})"
            )
        try:
            camel = manager.get_plugin(name).logical_name()
        except PluginError as exc:
            raise SelectionError(f"tool {name!r} cannot be loaded: {exc}") from None
        packaged = statuses[name].source == "entry-point"
        tools.append(Tool(name, camel, requirement(name) if packaged else None))
    return tools


def requirement(tool: str) -> str:
    """The pip requirement that installs the package providing entry-point plugin ``tool``: the
    local directory or file it was installed from (``name @ file:///...``, from its PEP 610
    ``direct_url.json``), else ``name==version`` from an index."""
    from importlib.metadata import entry_points

    from ticket_enhancer.plugins.registry import ENTRY_POINT_GROUP

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name != tool or ep.dist is None:
            continue
        name, version = ep.dist.metadata["Name"], ep.dist.version
        for needed in ep.dist.requires or ():
            project = re.split(r"[\s;<>=!~\[(@]", needed.strip(), maxsplit=1)[0]
            if re.sub(r"[-_.]+", "-", project).lower() == "ticket-enhancer":  # PEP 503 normalised
                raise SelectionError(
                    f"tool {tool!r}: its package {name} requires {needed.strip()!r}; the SharedLayer "
                    "provides ticket_enhancer, and sam build would put a second copy in the function"
                )
        direct = json.loads(ep.dist.read_text("direct_url.json") or "{}")
        url = direct.get("url", "") if isinstance(direct, dict) else ""
        if isinstance(url, str) and url.startswith("file://"):
            return f"{name} @ {url}"
        return f"{name}=={version}"
    raise SelectionError(f"tool {tool!r}: no installed distribution provides its entry point")
