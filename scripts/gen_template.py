"""Generate template.yaml: one webhook function, queue, DLQ, worker and alarms per ticketing tool.

Usage: python scripts/gen_template.py [--check] [--include TOOL | --only TOOL] [--output DIR]
(`make template` runs it with no options: the built-in tools, written in this repository)

The generator lives in ``scripts/template/`` (its docstring says where a new resource goes); this
script is its command line.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `scripts.template` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.template.constants import DEPENDENCY_LAYERS, RUNTIME, WORKER_TIMEOUT
from scripts.template.selection import Tool, select_tools
from scripts.template.writer import TEMPLATE_PATH, build_template, function_files, main, render

# Tool type -> CamelCase name of each generated tool (the registry's, as `make template` writes them).
TOOLS: dict[str, str] = {tool.name: tool.camel for tool in select_tools()}

__all__ = [
    "DEPENDENCY_LAYERS",
    "RUNTIME",
    "TEMPLATE_PATH",
    "TOOLS",
    "WORKER_TIMEOUT",
    "Tool",
    "build_template",
    "function_files",
    "main",
    "render",
    "select_tools",
]

if __name__ == "__main__":
    sys.exit(main())
