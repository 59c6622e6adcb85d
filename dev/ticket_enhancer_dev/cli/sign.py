"""`ticket-enhancer sign TOOL --secret S [--mode MODE] [--body FILE]`: the headers the tool would send."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ticket_enhancer.webhooks.signing import sign

from ticket_enhancer_dev.cli.errors import CliError
from ticket_enhancer_dev.cli.tenants import auth_modes
from ticket_enhancer_dev.cli.tools import known_tools


def run(args: Any) -> int:
    if args.tool not in known_tools():
        raise CliError(f"unknown tool {args.tool!r}; known: {', '.join(known_tools())}")
    default_mode, modes = auth_modes(args.tool)
    mode = args.mode or default_mode
    if mode not in modes:
        raise CliError(
            f"--mode {mode!r} is not supported by {args.tool}; supported: {', '.join(sorted(modes))}"
        )
    if args.body is None:
        from ticket_enhancer_dev.sandbox.tickets import webhook_body

        body = json.dumps(webhook_body(args.tool, "demo")).encode()
    else:
        try:
            body = sys.stdin.buffer.read() if args.body == "-" else Path(args.body).read_bytes()
        except OSError as exc:
            raise CliError(f"cannot read {args.body}: {exc}") from None
    try:
        headers = sign(mode, body, args.secret, tool=args.tool)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    for name, value in headers.items():
        print(f"{name}: {value}")
    return 0
