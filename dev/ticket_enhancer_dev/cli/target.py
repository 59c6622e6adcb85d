"""Where a command acts: the running local stack (`--local`) or a deployed stack (`--stack NAME`).

Resource names come from `.ticket-enhancer/local.json` or from the stack's CloudFormation outputs
(the names `template.yaml` declares), never from configuration kept twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ticket_enhancer_dev.cli.errors import CliError
from ticket_enhancer_dev.cli.tools import known_tools, plugin
from ticket_enhancer_dev.local.guard import TOKEN_HEADER

LOCAL_STATE = Path(".ticket-enhancer") / "local.json"
TABLES = ("TenantsTable", "DeliveriesTable", "JobsTable", "ContextTable")
INDEX_BUCKET = "ContextIndexBucket"  # output ContextIndexBucketName; local.json's "buckets"


@dataclass(frozen=True)
class ToolResources:
    webhook_url: str
    queue_url: str
    dlq_url: str
    webhook_function: str
    worker_function: str
    event_source_mapping: str | None = None
    ops_function: str | None = None  # `tenants sync` / `preview` (absent on stacks from before it)


@dataclass
class Target:
    kind: str  # "local" or "stack"
    region: str
    tables: dict[str, str]
    tools: dict[str, ToolResources]
    endpoint_url: str | None = None
    control_url: str | None = None
    control_token: str | None = None  # local.json's; the control routes need it
    sandbox_url: str | None = None
    api_url: str | None = None
    index_bucket: str | None = None  # the tenants' search indexes (absent on stacks from before them)
    session: Any = None  # one boto3 session for every client (each new one reloads botocore's data)
    _clients: dict[str, Any] = field(default_factory=dict)

    @property
    def local(self) -> bool:
        return self.kind == "local"

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3

            kwargs: dict[str, Any] = {"region_name": self.region}
            if self.endpoint_url:
                dummy = "testing"  # the emulator's keys; never real credentials
                kwargs.update(
                    endpoint_url=self.endpoint_url, aws_access_key_id=dummy, aws_secret_access_key=dummy
                )
            if self.session is None:
                self.session = boto3.session.Session()
            self._clients[service] = self.session.client(service, **kwargs)
        return self._clients[service]

    def control_headers(self) -> dict[str, str]:
        """The headers a request to the local stack's control routes carries."""
        return {TOKEN_HEADER: self.control_token} if self.control_token else {}

    def tool(self, tool: str) -> ToolResources:
        if tool not in self.tools:
            raise CliError(f"unknown tool {tool!r}; known here: {', '.join(self.tools) or 'none'}")
        return self.tools[tool]


def load_local(root: Path | None = None) -> Target:
    path = (root or Path.cwd()) / LOCAL_STATE
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        raise CliError(
            f"no local stack is running ({path} not found): start one with `ticket-enhancer local up`"
        ) from None
    except json.JSONDecodeError:
        raise CliError(f"{path} is not valid JSON: restart `ticket-enhancer local up`") from None
    tools = {
        name: ToolResources(
            t["webhook_url"],
            t["queue_url"],
            t["dlq_url"],
            t["webhook_function"],
            t["worker_function"],
            ops_function=t.get("ops_function"),
        )
        for name, t in state["tools"].items()
    }
    return Target(
        "local",
        state["region"],
        dict(state["tables"]),
        tools,
        endpoint_url=state["endpoint_url"],
        control_url=state.get("control_url"),
        control_token=state.get("control_token"),
        sandbox_url=state.get("sandbox_url"),
        api_url=state.get("api_url"),
        index_bucket=(state.get("buckets") or {}).get(INDEX_BUCKET),
    )


def outputs_to_target(
    outputs: dict[str, str], region: str, endpoint_url: str | None = None, session: Any = None
) -> Target:
    def need(key: str) -> str:
        if key not in outputs:
            raise CliError(f"stack output {key!r} is missing: is this a Ticket Enhancer stack?")
        return outputs[key]

    tables = {name: need(f"{name}Name") for name in TABLES}
    tools = {}
    for tool in known_tools():
        try:
            camel = plugin(tool).logical_name()
        except CliError:  # an installed plugin that fails to load: its tool stays unknown here
            continue
        if f"{camel}WebhookUrl" not in outputs:  # a tool this stack was not generated with
            continue
        tools[tool] = ToolResources(
            webhook_url=need(f"{camel}WebhookUrl"),
            queue_url=need(f"{camel}QueueUrl"),
            dlq_url=need(f"{camel}DeadLetterQueueUrl"),
            webhook_function=need(f"{camel}WebhookFunctionName"),
            worker_function=need(f"{camel}WorkerFunctionName"),
            event_source_mapping=outputs.get(f"{camel}EventSourceMapping"),
            ops_function=outputs.get(f"{camel}OpsFunctionName"),
        )
    return Target(
        "stack",
        region,
        tables,
        tools,
        endpoint_url=endpoint_url,
        api_url=outputs.get("WebhookApiUrl"),
        index_bucket=outputs.get(f"{INDEX_BUCKET}Name"),
        session=session,
    )


def load_stack(name: str, region: str | None) -> Target:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    resolved = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not resolved:
        raise CliError("no region: pass --region or set AWS_REGION")
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    session = boto3.session.Session()
    try:
        stacks = session.client("cloudformation", region_name=resolved).describe_stacks(StackName=name)[
            "Stacks"
        ]
    except ClientError as exc:
        raise CliError(
            f"stack {name!r} not found in {resolved}: {exc.response['Error'].get('Message')}"
        ) from None
    except BotoCoreError as exc:
        raise CliError(f"cannot reach CloudFormation in {resolved}: {exc}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return outputs_to_target(outputs, resolved, endpoint, session)


def resolve(args: Any) -> Target:
    if getattr(args, "local", False) and getattr(args, "stack", None):
        raise CliError("choose one target: --local or --stack NAME")
    if getattr(args, "local", False):
        return load_local()
    if getattr(args, "stack", None):
        return load_stack(args.stack, getattr(args, "region", None))
    raise CliError("choose a target: --local (the running `local up` stack) or --stack NAME")
