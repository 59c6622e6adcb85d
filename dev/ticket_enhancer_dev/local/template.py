"""``template.yaml`` as typed dataclasses: what the local stack runs (tables, queues, functions).

Only the long intrinsic forms the generator writes are understood (``Ref``, ``Fn::GetAtt``);
values are resolved later against the local resources (``Resolver``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class TemplateError(ValueError):
    """template.yaml is missing or declares something the local stack cannot run."""


@dataclass(frozen=True)
class Table:
    logical_id: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    ttl_attribute: str | None = None
    global_indexes: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Queue:
    logical_id: str
    fifo: bool
    attributes: dict[str, str]  # SQS attributes as declared (unscaled), minus RedrivePolicy
    dlq: str | None = None  # logical id of the dead-letter queue
    max_receive_count: int | None = None


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str  # e.g. /webhooks/jira/{tenant_id}

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class SqsEvent:
    queue: str  # logical id
    batch_size: int
    report_failures: bool
    enabled: bool = True
    max_concurrency: Any = None  # ScalingConfig.MaximumConcurrency, unresolved (a Ref or a number)


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_dir: Path
    handler: str  # module.attribute
    timeout: int
    memory: int
    env: dict[str, Any]  # Globals + function variables, unresolved
    route: HttpRoute | None = None
    sqs: SqsEvent | None = None

    @property
    def tool(self) -> str:
        return str(self.env.get("TICKET_ENHANCER_TOOL", ""))


@dataclass(frozen=True)
class Template:
    tools: list[str]
    parameters: dict[str, str]  # defaults
    tables: dict[str, Table]
    queues: dict[str, Queue]
    functions: dict[str, Function]
    buckets: list[str] = field(default_factory=list)  # logical ids of the S3 buckets

    def webhook_function(self, tool: str) -> Function | None:
        return next((f for f in self.functions.values() if f.tool == tool and f.route), None)

    def worker_function(self, tool: str) -> Function | None:
        return next((f for f in self.functions.values() if f.tool == tool and f.sqs), None)

    def ops_function(self, tool: str) -> Function | None:
        """The tool's ops function (``tenants sync`` / ``preview``): no route, no queue."""
        return next(
            (f for f in self.functions.values() if f.tool == tool and f.logical_id.endswith("OpsFunction")),
            None,
        )


def load(root: Path) -> Template:
    path = root / "template.yaml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TemplateError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path} is not valid YAML: {exc}") from None
    resources: dict[str, Any] = doc.get("Resources") or {}
    globals_fn: dict[str, Any] = (doc.get("Globals") or {}).get("Function") or {}

    def by_type(kind: str) -> dict[str, dict[str, Any]]:
        return {name: r.get("Properties") or {} for name, r in resources.items() if r.get("Type") == kind}

    return Template(
        tools=list(((doc.get("Metadata") or {}).get("TicketEnhancer") or {}).get("Tools") or []),
        parameters={k: str(v.get("Default", "")) for k, v in (doc.get("Parameters") or {}).items()},
        tables={k: _table(k, p) for k, p in by_type("AWS::DynamoDB::Table").items()},
        queues={k: _queue(k, p) for k, p in by_type("AWS::SQS::Queue").items()},
        functions={
            k: _function(k, p, globals_fn, root) for k, p in by_type("AWS::Serverless::Function").items()
        },
        buckets=list(by_type("AWS::S3::Bucket")),
    )


def _table(logical_id: str, props: dict[str, Any]) -> Table:
    ttl = props.get("TimeToLiveSpecification") or {}
    return Table(
        logical_id=logical_id,
        key_schema=list(props["KeySchema"]),
        attribute_definitions=list(props["AttributeDefinitions"]),
        ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled") else None,
        global_indexes=list(props.get("GlobalSecondaryIndexes") or []),
    )


_QUEUE_ATTRIBUTES = (
    "DeduplicationScope",
    "FifoThroughputLimit",
    "ContentBasedDeduplication",
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "MaximumMessageSize",
)


def _queue(logical_id: str, props: dict[str, Any]) -> Queue:
    attributes = {k: _text(props[k]) for k in _QUEUE_ATTRIBUTES if k in props}
    fifo = bool(props.get("FifoQueue"))
    if fifo:
        attributes["FifoQueue"] = "true"
    redrive = props.get("RedrivePolicy") or {}
    target = redrive.get("deadLetterTargetArn")
    dlq = _getatt(target)[0] if target else None
    count = int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None
    return Queue(logical_id, fifo, attributes, dlq, count)


def _function(logical_id: str, props: dict[str, Any], globals_fn: dict[str, Any], root: Path) -> Function:
    env = {
        **((globals_fn.get("Environment") or {}).get("Variables") or {}),
        **((props.get("Environment") or {}).get("Variables") or {}),
    }
    route: HttpRoute | None = None
    sqs: SqsEvent | None = None
    for event in (props.get("Events") or {}).values():
        event_props = event.get("Properties") or {}
        if event.get("Type") == "HttpApi":
            route = HttpRoute(str(event_props.get("Method", "ANY")).upper(), str(event_props["Path"]))
        elif event.get("Type") == "SQS":
            sqs = SqsEvent(
                queue=_getatt(event_props["Queue"])[0],
                batch_size=int(event_props.get("BatchSize", 10)),
                report_failures="ReportBatchItemFailures" in (event_props.get("FunctionResponseTypes") or []),
                enabled=bool(event_props.get("Enabled", True)),
                max_concurrency=(event_props.get("ScalingConfig") or {}).get("MaximumConcurrency"),
            )
    code_uri = props.get("CodeUri", globals_fn.get("CodeUri"))
    handler = props.get("Handler", globals_fn.get("Handler"))
    if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
        raise TemplateError(f"{logical_id}: needs a local CodeUri and a module.attribute Handler")
    return Function(
        logical_id=logical_id,
        code_dir=(root / code_uri).resolve(),
        handler=handler,
        timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
        memory=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
        env=env,
        route=route,
        sqs=sqs,
    )


def _getatt(value: Any) -> tuple[str, str]:
    if isinstance(value, dict) and isinstance(value.get("Fn::GetAtt"), list):
        logical_id, attribute = value["Fn::GetAtt"]
        return str(logical_id), str(attribute)
    raise TemplateError(f"expected Fn::GetAtt, got {value!r}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


Lookup = Callable[[str, str | None], str]  # (logical id, attribute or None for Ref) -> value


def resolve(value: Any, lookup: Lookup) -> str:
    """A template value (plain, ``Ref`` or ``Fn::GetAtt``) as the local string."""
    if isinstance(value, dict) and "Ref" in value:
        return lookup(str(value["Ref"]), None)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return lookup(*_getatt(value))
    if isinstance(value, dict | list):
        raise TemplateError(f"unsupported intrinsic in the local stack: {value!r}")
    return _text(value)
