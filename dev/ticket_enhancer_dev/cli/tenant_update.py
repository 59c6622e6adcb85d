"""`ticket-enhancer tenants update ID`: change a tenant in place, so nobody hand-edits AWS.

Options (``--option KEY=VALUE``, ``--unset KEY``), the base URL (checked as at ``add``) and the
API secret's credentials (``--api-user``, ``--api-token``, ``--llm-api-key``, ``--credential``;
``-`` reads the value from standard input). Everything is validated before anything is written;
the output names what changed, never a value.
"""

from __future__ import annotations

from typing import Any

from ticket_enhancer.urls import BaseUrlError

from ticket_enhancer_dev.cli import tools
from ticket_enhancer_dev.cli.credentials import ValueReader, parse_credentials, read_document, write_document
from ticket_enhancer_dev.cli.errors import CliError
from ticket_enhancer_dev.cli.target import Target
from ticket_enhancer_dev.cli.tenants import _now, get_row, parse_options


def _credentials(args: Any, tool: str) -> dict[str, str]:
    reader = ValueReader()
    values = parse_credentials(args.credential or [], reader)
    tools.check_tool_credentials(tool, values)
    for key, given in (
        ("api_user", args.api_user),
        ("api_token", args.api_token),
        ("llm_api_key", args.llm_api_key),
    ):
        value = reader.value(given, f"--{key.replace('_', '-')}")
        if value is not None:
            if not value.strip():
                raise CliError(f"--{key.replace('_', '-')} needs a value")
            values[key] = value
    return values


def update(target: Target, args: Any) -> int:
    row = get_row(target, args.tenant_id)
    tool = str(row["tool_type"])
    options: dict[str, str] = {str(k): str(v) for k, v in (row.get("options") or {}).items()}
    changes: list[str] = []
    new_options = parse_options(args.option or [])
    for key in args.unset or []:
        if key not in options and key not in new_options:
            raise CliError(f"--unset {key!r}: the tenant has no such option")
        if key == "allow_custom_host":
            raise CliError("allow_custom_host is set by `tenants add --allow-custom-host` only")
        options.pop(key, None)
        changes.append(f"option {key} removed")
    if "allow_custom_host" in new_options:
        raise CliError("allow_custom_host is set by `tenants add --allow-custom-host` only")
    tools.check_tool_options(tool, new_options)
    options.update(new_options)
    changes += [f"option {key} set" for key in new_options]
    base_url = str(row["base_url"])
    if args.base_url is not None or new_options:  # options may change what the URL means (data centre)
        try:
            base_url = tools.plugin(tool).check_base_url(
                args.base_url or base_url,
                allow_custom_host=options.get("allow_custom_host") == "true",
                local=target.local,
                options=options,
            )
        except BaseUrlError as exc:
            raise CliError(str(exc)) from None
        if args.base_url is not None:
            changes.append("base URL set")
    credentials = _credentials(args, tool)
    if not changes and not credentials:
        raise CliError("nothing to update: give --option, --unset, --base-url or a credential")

    if credentials:  # the secret first: a tenant row never names credentials that are not stored
        sm = target.client("secretsmanager")
        document = read_document(sm, str(row["secret_id"])) or {}
        document.update(credentials)
        write_document(sm, str(row["secret_id"]), document)
        changes += [f"credential {key} set" for key in sorted(credentials)]
    target.client("dynamodb").update_item(
        TableName=target.tables["TenantsTable"],
        Key={"tenant_id": {"S": args.tenant_id}},
        UpdateExpression="SET base_url = :b, #options = :o, updated_at = :u",
        ExpressionAttributeNames={"#options": "options"},
        ExpressionAttributeValues={
            ":b": {"S": base_url},
            ":o": {"M": {k: {"S": v} for k, v in options.items()}},
            ":u": {"S": _now()},
        },
    )
    print(f"tenant {args.tenant_id} updated: {', '.join(changes)} (workers pick it up within the cache time)")
    return 0
