"""Template parameters, conditions, Globals (runtime, layers, shared environment) and the layers."""

from __future__ import annotations

from ticket_enhancer.retention import HISTORY, INDEX, MAX_DAYS

from scripts.template.base import Doc, ref
from scripts.template.constants import (
    ACCESS_LOG_DAYS,
    ARCHITECTURES,
    DEPENDENCY_LAYERS,
    FUNCTION_LOG_DAYS,
    INDEX_LAYERS,
    LOG_RETENTION_VALUES,
    PITR_DAYS,
    RUNTIME,
    SERVICE_NAME,
    SNAPSTART_ALIAS,
    TABLES,
)

# Whole numbers 0..3650 (MAX_DAYS), as alternatives; `days_pattern` drops those under a minimum.
_UNDER_MAX_DAYS = r"[0-9]|[1-9][0-9]|[1-9][0-9]{2}|[1-2][0-9]{3}|3[0-5][0-9]{2}|36[0-4][0-9]|3650"
_FROM_30 = r"[3-9][0-9]|[1-9][0-9]{2}|[1-2][0-9]{3}|3[0-5][0-9]{2}|36[0-4][0-9]|3650"


def days_pattern(minimum: int) -> str:
    """The AllowedPattern of a whole number of days from ``minimum`` (0 or 30) to MAX_DAYS."""
    if MAX_DAYS != 3650 or minimum not in (0, 30):
        raise ValueError(f"no pattern for days {minimum}..{MAX_DAYS}: extend days_pattern")
    return f"^({_UNDER_MAX_DAYS if minimum == 0 else _FROM_30})$"


def parameters() -> Doc:
    return {
        "Stage": {
            "Type": "String",
            "Default": "dev",
            "AllowedPattern": "^[a-z][a-z0-9-]{0,15}$",
            "Description": "Deployment stage (dev, prod, ...); tags every function and the API.",
        },
        "LogLevel": {
            "Type": "String",
            "Default": "INFO",
            "AllowedValues": ["DEBUG", "INFO", "WARNING", "ERROR"],
            "Description": "Powertools log level of every function.",
        },
        "AlarmTopicArn": {
            "Type": "String",
            "Default": "",
            "Description": "SNS topic the alarms notify; empty for no notifications.",
        },
        "WorkerMaxConcurrency": {
            "Type": "Number",
            "Default": 5,
            "MinValue": 2,
            "MaxValue": 1000,
            "Description": "Maximum concurrent worker invocations per tool queue (SQS scaling config).",
        },
        "Architecture": {
            "Type": "String",
            "Default": "x86_64",
            "AllowedValues": list(ARCHITECTURES),
            "Description": "Instruction set of every function (arm64: Graviton, cheaper per GB-second); "
            "each has its own DependenciesLayer build.",
        },
        "SnapStart": {
            "Type": "String",
            "Default": "Disabled",
            "AllowedValues": ["Disabled", "Webhooks", "All"],
            "Description": "Lambda SnapStart on the webhooks, or on webhooks and workers: faster cold "
            "starts, billed per cached snapshot and per restore (README, Runtime).",
        },
        # Retention (README, "Data we keep"): every log group, the ticket index, job history, backups.
        "LogRetentionDays": {
            "Type": "Number",
            "Default": FUNCTION_LOG_DAYS,
            "AllowedValues": list(LOG_RETENTION_VALUES),
            "Description": "Days the functions' logs are kept (tenant and ticket ids, never ticket text).",
        },
        "AccessLogRetentionDays": {
            "Type": "Number",
            "Default": ACCESS_LOG_DAYS,
            "AllowedValues": list(LOG_RETENTION_VALUES),
            "Description": "Days the webhook API's access logs are kept (source IP, path with tenant id).",
        },
        INDEX.parameter: {
            # A String with a pattern: a Number parameter accepts fractions (45.5), which the
            # functions' settings refuse at init; CloudFormation refuses them here instead.
            "Type": "String",
            "Default": str(INDEX.default),
            "AllowedPattern": days_pattern(INDEX.minimum),
            "ConstraintDescription": f"a whole number of days from {INDEX.minimum} to {MAX_DAYS}",
            "Description": "Days a processed ticket stays in the similar-ticket index (0: not indexed); "
            "tenant option index_retention_days overrides it.",
        },
        HISTORY.parameter: {
            # A String with a pattern: a Number parameter accepts fractions (45.5), which the
            # functions' settings refuse at init; CloudFormation refuses them here instead.
            "Type": "String",
            "Default": str(HISTORY.default),
            "AllowedPattern": days_pattern(HISTORY.minimum),
            "ConstraintDescription": f"a whole number of days from {HISTORY.minimum} to {MAX_DAYS}",
            "Description": "Days a job record (ids, states, timings) is kept; tenant option "
            "history_retention_days overrides it.",
        },
        "PointInTimeRecoveryDays": {
            "Type": "Number",
            "Default": PITR_DAYS,
            "MinValue": 1,
            "MaxValue": PITR_DAYS,
            "Description": "Days of point-in-time recovery of the tenants, jobs and context tables (erased "
            "data stays restorable this long).",
        },
        # On-prem tools on private networks (README, "Onboarding a real tenant, per tool"): the
        # operator, never a tenant, puts the workers in a VPC and names what they may reach there.
        "WorkerSubnetIds": {
            "Type": "CommaDelimitedList",
            "Default": "",
            "Description": "Subnets of a VPC for the workers (empty: no VPC). They need a route to the "
            "internet (NAT) for SaaS tools and AWS APIs, and to the on-prem tools.",
        },
        "WorkerSecurityGroupIds": {
            "Type": "CommaDelimitedList",
            "Default": "",
            "Description": "Security groups of the workers in the VPC (with WorkerSubnetIds).",
        },
        "AllowedPrivateCidrs": {
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^[0-9a-fA-F.:/, ]*$",
            "Description": "Comma-separated private networks (RFC 1918, 100.64.0.0/10, fc00::/7) whose "
            "addresses a tenant's custom host may resolve to (on-prem tools over VPN or Direct Connect); "
            "empty: private addresses are refused. Never loopback, link-local or public ranges.",
        },
    }


def conditions() -> Doc:
    return {
        "HasAlarmTopic": {"Fn::Not": [{"Fn::Equals": [ref("AlarmTopicArn"), ""]}]},
        "IsArm64": {"Fn::Equals": [ref("Architecture"), "arm64"]},
        "IsX86_64": {"Fn::Equals": [ref("Architecture"), "x86_64"]},
        "SnapStartWebhooks": {"Fn::Not": [{"Fn::Equals": [ref("SnapStart"), "Disabled"]}]},
        "SnapStartWorkers": {"Fn::Equals": [ref("SnapStart"), "All"]},
        "WorkersInVpc": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", ref("WorkerSubnetIds")]}, ""]}]},
    }


def snapstart(condition: str) -> Doc:
    """SnapStart applies to published versions only: SAM publishes one (alias ``live``) whenever the
    code, environment or memory change, and events invoke the alias. SAM cannot make the alias
    conditional (aws/serverless-application-model#1154), so it is always there; versions it
    replaces are deleted, which also ends their snapshots' caching charge."""
    return {
        "AutoPublishAlias": SNAPSTART_ALIAS,
        "VersionDeletionPolicy": "Delete",
        "SnapStart": {
            "Fn::If": [condition, {"ApplyOn": "PublishedVersions"}, {"ApplyOn": "None"}],
        },
    }


def globals_section() -> Doc:
    variables: Doc = {
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": "TicketEnhancer",
        "POWERTOOLS_LOG_LEVEL": ref("LogLevel"),
        **{name: ref(table) for name, table in TABLES.items()},
        "TENANT_CACHE_SECONDS": "300",
    }
    tags: Doc = {"Application": "ticket-enhancer", "Stage": ref("Stage")}
    return {
        "Function": {
            "Runtime": RUNTIME,
            "Architectures": [ref("Architecture")],
            "Layers": [
                {
                    "Fn::If": [
                        "IsArm64",
                        ref(DEPENDENCY_LAYERS["arm64"]),
                        ref(DEPENDENCY_LAYERS["x86_64"]),
                    ]
                },
                ref("SharedLayer"),
            ],
            # Lambda-level X-Ray only: the Powertools Tracer is not imported (cold start).
            "Tracing": "Active",
            "Environment": {"Variables": variables},
            "Tags": tags,
        },
        "HttpApi": {"Tags": dict(tags)},
    }


def index_layer() -> Doc:
    """``Layers`` of a function that searches or builds the tenants' index (added to Globals')."""
    return {"Layers": [{"Fn::If": ["IsArm64", ref(INDEX_LAYERS["arm64"]), ref(INDEX_LAYERS["x86_64"])]}]}


def layer(content_uri: str, description: str, architecture: str | None = None) -> Doc:
    """A layer built for ``architecture`` (deployed only when the stack's Architecture is that one),
    or for both when it is pure Python (``None``)."""
    resource: Doc = {
        "Type": "AWS::Serverless::LayerVersion",
        # A Makefile per layer: pip for Lambda's platform, then bytecode compiled into the
        # artifact by Lambda's Python (Lambda cannot write .pyc files at run time: without them
        # every cold start compiles every module from source).
        "Metadata": {"BuildMethod": "makefile", "BuildArchitecture": architecture or "x86_64"},
        "Properties": {
            "Description": description,
            "ContentUri": content_uri,
            "CompatibleRuntimes": [RUNTIME],
            "CompatibleArchitectures": [architecture] if architecture else list(ARCHITECTURES),
            "RetentionPolicy": "Delete",
        },
    }
    if architecture:
        return {"Condition": "IsArm64" if architecture == "arm64" else "IsX86_64", **resource}
    return resource
