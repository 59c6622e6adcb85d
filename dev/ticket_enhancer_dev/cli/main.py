"""`ticket-enhancer`: argument parsing and dispatch. Each command imports only what it needs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

from ticket_enhancer_dev.cli.errors import CliError


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one clear line on stderr, exit code 2
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _target_options() -> Parser:
    parent = Parser(add_help=False)
    group = parent.add_argument_group("target")
    group.add_argument("--local", action="store_true", help="the running `local up` stack")
    group.add_argument("--stack", metavar="NAME", help="a deployed stack (names from its outputs)")
    group.add_argument("--region", help="AWS region of --stack")
    return parent


def _history_parser(tenants: Any, target: Parser) -> None:
    history = tenants.add_parser(
        "history", parents=[target], help="what was done for which ticket, when, by which provider"
    )
    history.add_argument("tenant_id")
    history.add_argument("--ticket", metavar="TICKET_ID", help="only this ticket's jobs")
    history.add_argument("--limit", type=int, metavar="N", help="at most N jobs, newest first (default 20)")


def _content_parsers(tenants: Any, target: Parser) -> None:
    """A tenant's context: loaded from files, or synced from its tool (the deployment's ops function)."""
    for action, what in (("knowledge", "FILE.jsonl"), ("assets", "FILE.csv")):
        sub = tenants.add_parser(action, parents=[target])
        sub.add_argument("tenant_id")
        sub.add_argument("file", metavar=what)
    sync = tenants.add_parser(
        "sync", parents=[target], help="import the tool's resolved tickets and knowledge articles"
    )
    sync.add_argument("tenant_id")
    sync.add_argument("--history-days", type=int, default=180, metavar="N", help="default 180")
    sync.add_argument("--no-history", action="store_true")
    sync.add_argument("--no-knowledge", action="store_true")
    preview = tenants.add_parser("preview", parents=[target], help="print the note that would be posted")
    preview.add_argument("tenant_id")
    preview.add_argument("ticket_id")


def build_parser() -> Parser:
    target = _target_options()
    parser = Parser(prog="ticket-enhancer", description="Ticket Enhancer ops CLI.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    tenants = commands.add_parser("tenants", help="onboard and manage tenants").add_subparsers(
        dest="action", required=True, parser_class=Parser
    )
    add = tenants.add_parser("add", parents=[target], help="onboard a tenant")
    add.add_argument("tenant_id")
    add.add_argument("--tool", required=True)
    add.add_argument("--base-url", required=True)
    add.add_argument(
        "--webhook-secret", help="'-' reads it from stdin; default: $TICKET_ENHANCER_WEBHOOK_SECRET"
    )
    add.add_argument("--webhook-auth")
    add.add_argument("--api-user")
    add.add_argument("--api-token", help="'-' reads it from stdin; default: $TICKET_ENHANCER_API_TOKEN")
    add.add_argument("--option", action="append", metavar="KEY=VALUE")
    add.add_argument("--allow-custom-host", action="store_true")
    tenants.add_parser("list", parents=[target])
    for action in ("show", "enable", "disable", "remove"):
        tenants.add_parser(action, parents=[target]).add_argument("tenant_id")
    erase = tenants.add_parser(
        "erase", parents=[target], help="delete every trace of a tenant, or of one of its tickets"
    )
    erase.add_argument("tenant_id")
    erase.add_argument("--ticket", metavar="TICKET_ID", help="only this ticket's records and queued jobs")
    erase.add_argument("--yes", action="store_true", help="confirm (required with --stack)")
    _history_parser(tenants, target)
    rotate = tenants.add_parser("rotate-secret", parents=[target])
    rotate.add_argument("tenant_id")
    rotate.add_argument("--webhook-secret", help="the new secret (required for zendesk; '-' reads stdin)")
    update = tenants.add_parser("update", parents=[target], help="change a tenant's options or credentials")
    update.add_argument("tenant_id")
    update.add_argument("--base-url")
    update.add_argument("--option", action="append", metavar="KEY=VALUE")
    update.add_argument("--unset", action="append", metavar="KEY", help="remove an option")
    update.add_argument("--api-user")
    update.add_argument("--api-token", metavar="T|-")
    update.add_argument("--llm-api-key", metavar="K|-")
    update.add_argument(
        "--credential", action="append", metavar="KEY=VALUE|KEY=-", help="a tool extra such as zoho_client_id"
    )
    _content_parsers(tenants, target)

    plugins = commands.add_parser("plugins", help="list, pause or resume tool workers").add_subparsers(
        dest="action", required=True, parser_class=Parser
    )
    plugins.add_parser("list", parents=[target])
    for action in ("pause", "resume"):
        plugins.add_parser(action, parents=[target]).add_argument("tool")

    sign = commands.add_parser("sign", help="headers a tool would send for a body")
    sign.add_argument("tool")
    sign.add_argument("--secret", required=True)
    sign.add_argument("--mode")
    sign.add_argument("--body", metavar="FILE", help="body file ('-' for stdin); default: a sample body")

    local = commands.add_parser("local", help="the local stack").add_subparsers(
        dest="action", required=True, parser_class=Parser
    )
    up = local.add_parser("up", help="run the whole system on this machine")
    up.add_argument("--port", type=int, default=3000)
    up.add_argument(
        "--time-scale",
        type=float,
        default=60.0,
        help="divide the template's timings (visibility timeout) by this factor",
    )
    local.add_parser("demo", help="onboard a tenant per tool, send each a webhook, show the notes")

    dlq = commands.add_parser("dlq", help="dead-letter queues").add_subparsers(
        dest="action", required=True, parser_class=Parser
    )
    for action in ("list", "redrive"):
        dlq.add_parser(action, parents=[target]).add_argument("--tool")
    return parser


def dispatch(args: Any) -> int:  # noqa: PLR0911 (one return per command)
    from ticket_enhancer_dev.cli import target as targets

    if args.command == "sign":
        from ticket_enhancer_dev.cli import sign

        return sign.run(args)
    if args.command == "local":
        if args.action == "up":
            from ticket_enhancer_dev.local.stack import run_up

            code: int = run_up(port=args.port, time_scale=args.time_scale, root=Path.cwd())
            return code
        from ticket_enhancer_dev.cli import demo

        return demo.run(Path.cwd())
    if args.command == "plugins":
        from ticket_enhancer_dev.cli import plugins

        if args.action == "list":
            chosen = targets.resolve(args) if (args.local or args.stack) else None
            return plugins.list_(chosen)
        return plugins.set_paused(targets.resolve(args), args.tool, paused=args.action == "pause")
    if args.command == "tenants" and args.action == "erase":  # refuses before touching the target
        from ticket_enhancer_dev.cli import erase

        return erase.run(args)
    if args.command == "tenants" and args.action == "history":  # checks its arguments first
        from ticket_enhancer_dev.cli import history

        return history.run(args)
    resolved = targets.resolve(args)
    if args.command == "dlq":
        from ticket_enhancer_dev.cli import dlq

        if args.tool:
            resolved.tool(args.tool)  # validates the name
        return dlq.list_(resolved, args.tool) if args.action == "list" else dlq.redrive(resolved, args.tool)
    if args.action in ("sync", "preview"):
        from ticket_enhancer_dev.cli import sync

        return sync.sync(resolved, args) if args.action == "sync" else sync.preview(resolved, args)
    from ticket_enhancer_dev.cli import tenants

    if args.action == "update":
        from ticket_enhancer_dev.cli.tenant_update import update

        return update(resolved, args)
    actions = {
        "add": tenants.add,
        "list": tenants.list_,
        "show": tenants.show,
        "remove": tenants.remove,
        "rotate-secret": tenants.rotate_secret,
        "knowledge": tenants.knowledge,
        "assets": tenants.assets,
        "enable": tenants.enable,
        "disable": tenants.disable,
    }
    return actions[args.action](resolved, args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return dispatch(args)
    except CliError as exc:
        print(f"ticket-enhancer: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # AWS errors and the like: one line, never a secret-bearing dump
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        print(
            f"ticket-enhancer: error: {type(exc).__name__}{f' ({code})' if code else ''}: {exc}",
            file=sys.stderr,
        )
        return 1
