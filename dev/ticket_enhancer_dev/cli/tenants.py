"""`ticket-enhancer tenants ...`: onboard and run tenants (config to DynamoDB, secrets to Secrets Manager)."""

from __future__ import annotations

import csv
import ipaddress
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ticket_enhancer import retention
from ticket_enhancer.enhance.triage import TRIAGE_VALUES
from ticket_enhancer.enhance.usage import note_option_problems
from ticket_enhancer.tenants import (
    WEBHOOK_SECRET_SUFFIX,
    deserialize_item,
    secret_name,
    valid_tenant_id,
    webhook_secret_name,
)
from ticket_enhancer.urls import BaseUrlError
from ticket_enhancer.webhooks import schemes

from ticket_enhancer_dev.cli import erase_index, tools
from ticket_enhancer_dev.cli.credentials import (
    CREDENTIAL_KEYS,
    ENV_API_TOKEN,
    ENV_WEBHOOK_SECRET,
    ValueReader,
    delete_secret,
    read_document,
    store_webhook_secrets,
    webhook_secrets,
)
from ticket_enhancer_dev.cli.errors import CliError
from ticket_enhancer_dev.cli.setup_guides import setup_text
from ticket_enhancer_dev.cli.target import Target

PROVIDERS = ("offline", "bedrock", "openai")
HOST_RE = re.compile(r"(?=.{1,253}$)(\*\.)?([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def webhook_scheme(tool: str, mode: str) -> schemes.WebhookScheme:
    """The tool's scheme for ``mode`` (its plugin's own, or a common one); ``CliError`` if none."""
    plugin = tools.plugin(tool)
    scheme = plugin.webhook_scheme(mode)
    if scheme is None:
        supported = ", ".join(sorted(plugin.auth_modes))
        raise CliError(f"--webhook-auth {mode!r} is not supported by {tool}; supported: {supported}")
    return scheme


def new_webhook_secret(scheme: schemes.WebhookScheme) -> str:
    return scheme.new_secret()


def check_webhook_secret(scheme: schemes.WebhookScheme, secret: str) -> None:
    if not schemes.strong_secret(secret):
        raise CliError(f"--webhook-secret must be at least {schemes.MIN_SECRET_BYTES} bytes (blanks aside)")
    problem = scheme.secret_problem(secret)
    if problem:
        raise CliError(problem)


def auth_modes(tool: str) -> tuple[str, frozenset[str]]:
    plugin = tools.plugin(tool)
    return plugin.default_auth_mode, plugin.auth_modes


def parse_options(pairs: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--option takes KEY=VALUE, got {pair!r}")
        options[key.strip()] = value.strip()
    provider = options.get("synthesis_provider")
    if provider is not None and provider not in PROVIDERS:
        raise CliError(f"synthesis_provider must be one of {', '.join(PROVIDERS)}, got {provider!r}")
    triage = options.get("triage")
    if triage is not None and triage not in TRIAGE_VALUES:
        raise CliError(f"triage must be one of {', '.join(TRIAGE_VALUES)}, got {triage!r}")
    from ticket_enhancer.sync.ratelimit import option_problems

    problems = retention.option_problems(options) + option_problems(options) + note_option_problems(options)
    if problems:
        raise CliError(problems[0])
    return options


def _validate_id(tenant_id: str) -> None:
    if not valid_tenant_id(tenant_id):
        raise CliError(f"tenant id {tenant_id!r} must match [A-Za-z0-9][A-Za-z0-9_-]{{0,63}}")


def get_row(target: Target, tenant_id: str) -> dict[str, Any]:
    _validate_id(tenant_id)
    item = (
        target.client("dynamodb")
        .get_item(TableName=target.tables["TenantsTable"], Key={"tenant_id": {"S": tenant_id}})
        .get("Item")
    )
    if not item:
        raise CliError(f"unknown tenant {tenant_id!r}")
    return deserialize_item(item)


def _add_secrets(
    args: Any, tool: str, scheme: schemes.WebhookScheme
) -> tuple[str, bool, str | None, str | None]:
    """(webhook secret, whether it was generated, API token, API user) from options, stdin (``-``,
    for one of them) or environment."""
    reader = ValueReader()
    given = reader.value(args.webhook_secret, "--webhook-secret", ENV_WEBHOOK_SECRET)
    api_token = reader.value(args.api_token, "--api-token", ENV_API_TOKEN)
    api_user = reader.value(args.api_user, "--api-user")
    if scheme.tool_makes_secret and not given:
        raise CliError(f"{tool} creates its own signing secret: pass it with --webhook-secret")
    webhook_secret = given or new_webhook_secret(scheme)
    check_webhook_secret(scheme, webhook_secret)
    return webhook_secret, given is None, api_token, api_user


def _create_secrets(sm: Any, tenant_id: str, documents: dict[str, dict[str, Any]]) -> None:
    """Create every secret, or none: one that already exists is left alone and refused."""
    created: list[str] = []
    try:
        for secret_id, document in documents.items():
            sm.create_secret(Name=secret_id, SecretString=json.dumps(document))
            created.append(secret_id)
    except Exception as exc:
        for secret_id in created:
            delete_secret(sm, secret_id)
        if _error_code(exc) == "ResourceExistsException":
            raise CliError(
                f"a secret of tenant {tenant_id!r} already exists: remove the tenant first"
            ) from None
        raise


def add(target: Target, args: Any) -> int:
    tool, tenant_id = args.tool, args.tenant_id
    _validate_id(tenant_id)
    plugin = tools.plugin(tool)
    mode = args.webhook_auth or plugin.default_auth_mode
    scheme = webhook_scheme(tool, mode)
    options = parse_options(args.option or [])
    tools.check_tool_options(tool, options)
    if args.allow_custom_host:
        options["allow_custom_host"] = "true"
    try:
        base_url = plugin.check_base_url(
            args.base_url, allow_custom_host=args.allow_custom_host, local=target.local, options=options
        )
    except BaseUrlError as exc:
        raise CliError(str(exc)) from None
    webhook_secret, generated, api_token, api_user = _add_secrets(args, tool, scheme)

    ddb, sm = target.client("dynamodb"), target.client("secretsmanager")
    table = target.tables["TenantsTable"]
    if ddb.get_item(TableName=table, Key={"tenant_id": {"S": tenant_id}}).get("Item"):
        raise CliError(f"tenant {tenant_id!r} already exists (use `tenants remove` first)")
    name = secret_name(tool, tenant_id)
    documents: dict[str, dict[str, Any]] = {  # the webhook function may read the first only (contract)
        webhook_secret_name(tool, tenant_id): {"webhook_secrets": [webhook_secret]},
        name: {"api_user": api_user or "", "api_token": api_token or ""},
    }
    _create_secrets(sm, tenant_id, documents)
    now = _now()
    try:
        ddb.put_item(
            TableName=table,
            ConditionExpression="attribute_not_exists(tenant_id)",
            Item={
                "tenant_id": {"S": tenant_id},
                "tool_type": {"S": tool},
                "base_url": {"S": base_url},
                "enabled": {"BOOL": True},
                "webhook_auth": {"S": mode},
                "secret_id": {"S": name},
                "options": {"M": {k: {"S": v} for k, v in options.items()}},
                "created_at": {"S": now},
                "updated_at": {"S": now},
            },
        )
    except Exception:
        for secret_id in documents:  # change nothing
            delete_secret(sm, secret_id)
        raise
    url = target.tool(tool).webhook_url.replace("{tenant_id}", tenant_id)
    print(f"tenant {tenant_id} added ({tool}, auth {mode})")
    if generated:
        print(f"webhook secret (shown once): {webhook_secret}")
    for line in setup_text(plugin, mode, url):
        print(line)
    return 0


def list_(target: Target, args: Any) -> int:
    paginator = target.client("dynamodb").get_paginator("scan")
    rows = [
        deserialize_item(i)
        for page in paginator.paginate(TableName=target.tables["TenantsTable"])
        for i in page.get("Items", [])
    ]
    if not rows:
        print("no tenants")
        return 0
    print(f"{'TENANT':24} {'TOOL':17} {'ENABLED':8} {'AUTH':18} BASE URL")
    for row in sorted(rows, key=lambda r: str(r["tenant_id"])):
        print(
            f"{row['tenant_id']:24} {row['tool_type']:17} {'yes' if row.get('enabled') else 'no':8} "
            f"{row.get('webhook_auth', ''):18} {row.get('base_url', '')}"
        )
    return 0


def show(target: Target, args: Any) -> int:
    row = get_row(target, args.tenant_id)
    sm = target.client("secretsmanager")
    secret = read_document(sm, str(row["secret_id"])) or {}
    row["webhook_secrets"] = f"{len(webhook_secrets(sm, str(row['secret_id'])))} current (values not shown)"
    row["api_credentials"] = "set" if secret.get("api_token") else "missing"
    row["credentials_set"] = sorted(k for k in CREDENTIAL_KEYS if secret.get(k))
    print(json.dumps(row, indent=2, default=str))
    return 0


def set_enabled(target: Target, tenant_id: str, enabled: bool) -> int:
    get_row(target, tenant_id)
    target.client("dynamodb").update_item(
        TableName=target.tables["TenantsTable"],
        Key={"tenant_id": {"S": tenant_id}},
        UpdateExpression="SET enabled = :e, updated_at = :u",
        ExpressionAttributeValues={":e": {"BOOL": enabled}, ":u": {"S": _now()}},
    )
    print(
        f"tenant {tenant_id} {'enabled' if enabled else 'disabled'} (webhooks follow within the cache time)"
    )
    return 0


def enable(target: Target, args: Any) -> int:
    return set_enabled(target, args.tenant_id, True)


def disable(target: Target, args: Any) -> int:
    return set_enabled(target, args.tenant_id, False)


def remove(target: Target, args: Any) -> int:
    row = get_row(target, args.tenant_id)
    ddb = target.client("dynamodb")
    for kind in ("kb", "asset", "ticket", "recent", "index", "sync", "oauth"):  # oauth: access tokens
        pk = f"{args.tenant_id}#{kind}"
        for page in ddb.get_paginator("query").paginate(
            TableName=target.tables["ContextTable"],
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ProjectionExpression="pk, sk",
        ):
            for item in page.get("Items", []):
                ddb.delete_item(
                    TableName=target.tables["ContextTable"], Key={"pk": item["pk"], "sk": item["sk"]}
                )
    tools = sorted(set(target.tools) | {str(row["tool_type"])})
    erase_index.delete_pending(ddb, target.tables["ContextTable"], tools, args.tenant_id)
    erase_index.delete_tenant_objects(target, args.tenant_id)  # its search index, every version
    ddb.delete_item(TableName=target.tables["TenantsTable"], Key={"tenant_id": {"S": args.tenant_id}})
    sm = target.client("secretsmanager")
    for secret_id in (str(row["secret_id"]), str(row["secret_id"]) + WEBHOOK_SECRET_SUFFIX):
        delete_secret(sm, secret_id)
    print(f"tenant {args.tenant_id} removed (config, secrets, knowledge, assets, ticket index, search index)")
    print(
        "job and delivery records and queued jobs stay until they expire: "
        f"`ticket-enhancer tenants erase {args.tenant_id}` deletes every trace and says what remains"
    )
    return 0


def rotate_secret(target: Target, args: Any) -> int:
    row = get_row(target, args.tenant_id)
    tool = str(row["tool_type"])
    mode = str(row.get("webhook_auth") or auth_modes(tool)[0])
    scheme = webhook_scheme(tool, mode)
    given = ValueReader().value(args.webhook_secret, "--webhook-secret", ENV_WEBHOOK_SECRET)
    if scheme.tool_makes_secret and not given:
        raise CliError(f"{tool} creates its own signing secret: pass the new one with --webhook-secret")
    new = given or new_webhook_secret(scheme)
    check_webhook_secret(scheme, new)
    sm = target.client("secretsmanager")
    current = webhook_secrets(sm, str(row["secret_id"]))
    # The previous one stays valid until the next rotation.
    store_webhook_secrets(sm, str(row["tool_type"]), args.tenant_id, [new, *current[:1]])
    if given is None:  # generated here: shown once; one the operator supplied is never echoed
        print(f"tenant {args.tenant_id}: new webhook secret (shown once): {new}")
    else:
        print(f"tenant {args.tenant_id}: new webhook secret stored")
    print(
        "the previous secret stays valid until the next rotation (webhooks pick it up within the cache time)"
    )
    return 0


def _store(target: Target) -> Any:
    from ticket_enhancer.enhance.store import ContextStore

    return ContextStore(target.client("dynamodb"), target.tables["ContextTable"])


def knowledge(target: Target, args: Any) -> int:
    get_row(target, args.tenant_id)
    articles = []
    for number, line in enumerate(_read(args.file).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            article = json.loads(line)
        except json.JSONDecodeError:
            raise CliError(f"{args.file}:{number}: not valid JSON") from None
        if not isinstance(article, dict) or not all(
            isinstance(article.get(k), str) and article[k].strip() for k in ("title", "body", "url")
        ):
            raise CliError(f"{args.file}:{number}: needs string fields title, body and url")
        if not str(article["url"]).startswith(("https://", "http://")):
            raise CliError(f"{args.file}:{number}: url must be http(s)")
        articles.append(article)
    store = _store(target)
    for article in articles:
        store.put_article(args.tenant_id, article["title"], article["body"], article["url"])
    print(f"tenant {args.tenant_id}: {len(articles)} knowledge article(s) loaded")
    return 0


def assets(target: Target, args: Any) -> int:
    get_row(target, args.tenant_id)
    rows = []
    for number, record in enumerate(csv.reader(_read(args.file).splitlines()), start=1):
        if not record or (number == 1 and record[0].strip().lower() == "cidr_or_host"):
            continue
        if len(record) < 2:
            raise CliError(f"{args.file}:{number}: expected cidr_or_host,name,notes")
        key, name, notes = record[0].strip(), record[1].strip(), ",".join(record[2:]).strip()
        try:
            ipaddress.ip_network(key, strict=False)
        except ValueError:
            if not HOST_RE.fullmatch(key):
                raise CliError(
                    f"{args.file}:{number}: {key!r} is neither a CIDR, an IP nor a host name"
                ) from None
        rows.append((key, name, notes))
    store = _store(target)
    for key, name, notes in rows:
        store.put_asset(args.tenant_id, key, name, notes)
    print(f"tenant {args.tenant_id}: {len(rows)} network/asset row(s) loaded")
    return 0


def _read(file: str) -> str:
    try:
        return sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {file}: {exc}") from None
