"""``python -m ticket_enhancer_dev.local [--port P] [--time-scale N] [--root DIR]``: the same as
``ticket-enhancer local up``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ticket_enhancer_dev.local.stack import DEFAULT_PORT, DEFAULT_TIME_SCALE, run_up


def find_root(start: Path) -> Path:
    """The nearest directory holding template.yaml (else ``start``)."""
    return next((p for p in (start, *start.parents) if (p / "template.yaml").is_file()), start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ticket_enhancer_dev.local", description="Run template.yaml's stack locally."
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port on 127.0.0.1 (default 3000)")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help="divide the template's queue timings by this (default 60: visibility 360 s -> 6 s)",
    )
    parser.add_argument("--root", type=Path, help="the project root (default: where template.yaml is)")
    args = parser.parse_args(argv)
    return run_up(port=args.port, time_scale=args.time_scale, root=args.root or find_root(Path.cwd()))


if __name__ == "__main__":
    sys.exit(main())
