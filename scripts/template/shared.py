"""Resources every tool shares: the HTTP API and its access logs, the layers, the tables, the
secrets-layout migration, and one log group per function."""

from __future__ import annotations

from scripts.template.base import (
    Doc,
    arn,
    checkov_skips,
    policy,
    ref,
    stateful,
    statement,
    sub,
)
from scripts.template.constants import (
    ACCESS_LOG_FORMAT,
    DEPENDENCY_LAYERS,
    INDEX_LAYERS,
    SKIP_FUNCTION,
    SKIP_FUNCTION_LOG_GROUP,
    SKIP_LOG_GROUP,
    SKIP_TABLE_CMK,
)
from scripts.template.parameters import layer


def table(keys: list[str], *, ttl: bool, point_in_time_recovery: bool, retain: bool) -> Doc:
    key_types = ["HASH", "RANGE"]  # partition key, then the optional sort key
    props: Doc = {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"} for key in keys],
        "KeySchema": [
            {"AttributeName": key, "KeyType": kind}
            for key, kind in zip(keys, key_types[: len(keys)], strict=True)
        ],
        "SSESpecification": {"SSEEnabled": True},
    }
    if point_in_time_recovery:
        props["PointInTimeRecoverySpecification"] = {
            "PointInTimeRecoveryEnabled": True,
            "RecoveryPeriodInDays": ref("PointInTimeRecoveryDays"),
        }
    if ttl:
        props["TimeToLiveSpecification"] = {"AttributeName": "expires_at", "Enabled": True}
    skips = [SKIP_TABLE_CMK]
    if not point_in_time_recovery:
        skips.append(
            (
                "CKV_AWS_28",
                "De-duplication records only: they expire after 24 h and a lost one costs at most one "
                "duplicate job, which the worker's job records still make one note.",
            )
        )
    return stateful("AWS::DynamoDB::Table", props, retain=retain, skips=skips)


def shared_resources() -> Doc:
    return {
        "WebhookApi": {
            "Type": "AWS::Serverless::HttpApi",
            "Properties": {
                "Description": "Ticket Enhancer webhooks: POST /webhooks/{tool}/{tenant_id}",
                "FailOnWarnings": True,
                "DefaultRouteSettings": {"ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100},
                # Every request, including those refused before a function runs (throttled, no route).
                "AccessLogSettings": {
                    "DestinationArn": arn("WebhookApiAccessLogs"),
                    "Format": ACCESS_LOG_FORMAT,
                },
            },
        },
        "WebhookApiAccessLogs": stateful(
            "AWS::Logs::LogGroup", {"RetentionInDays": ref("AccessLogRetentionDays")}, skips=SKIP_LOG_GROUP
        ),
        **{
            name: layer("layers/dependencies/", f"Third-party runtime dependencies (pinned), {arch}.", arch)
            for arch, name in DEPENDENCY_LAYERS.items()
        },
        **{
            name: layer(
                "layers/index/", f"The tenants' search index: bm25s and numpy (pinned), {arch}.", arch
            )
            for arch, name in INDEX_LAYERS.items()
        },
        "SharedLayer": layer("shared/", "The ticket_enhancer package."),
        # Deletion policies and backups are choices (README, "Data we keep"). Tenants and context
        # are loaded by operators: kept when the stack is deleted or a change would replace them, and
        # restorable for PointInTimeRecoveryDays. Deliveries and jobs expire by TTL and go with the
        # stack; jobs have point-in-time recovery (one note per ticket event), deliveries do not.
        "TenantsTable": table(["tenant_id"], ttl=False, point_in_time_recovery=True, retain=True),
        "DeliveriesTable": table(["dedupe_key"], ttl=True, point_in_time_recovery=False, retain=False),
        "JobsTable": table(["job_key"], ttl=True, point_in_time_recovery=True, retain=False),
        # TTL: processed-ticket index items expire after IndexRetentionDays (or the tenant's
        # index_retention_days); articles and assets carry no `expires_at` and stay until removed.
        "ContextTable": table(["pk", "sk"], ttl=True, point_in_time_recovery=True, retain=True),
        **secrets_migration(),
    }


def secrets_migration() -> Doc:
    """Splits pre-split tenant secrets on deploy (``ticket_enhancer.migrations``), before any webhook
    function is replaced; bump ``Layout`` to run it again."""
    every_secret = sub(
        "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:ticket-enhancer/*"
    )
    return {
        "SecretsMigrationFunction": {
            "Type": "AWS::Serverless::Function",
            "Metadata": checkov_skips(*SKIP_FUNCTION),
            "Properties": {
                "Description": "Deploy-time migration: each tenant's webhook secret apart from the API one.",
                "CodeUri": "functions/secrets_migration/",
                "Handler": "secrets_migration.handler",
                "Timeout": 300,
                "MemorySize": 256,
                "Policies": policy(
                    statement(["dynamodb:Scan"], [arn("TenantsTable")]),
                    statement(
                        [
                            "secretsmanager:CreateSecret",
                            "secretsmanager:DescribeSecret",
                            "secretsmanager:GetSecretValue",
                        ],
                        [every_secret],
                    ),
                ),
            },
        },
        "SecretsLayoutMigration": {
            "Type": "Custom::SecretsLayoutMigration",
            "Properties": {"ServiceToken": arn("SecretsMigrationFunction"), "Layout": "2"},
        },
    }


def with_log_groups(resources: Doc) -> Doc:
    """Each function with a log group of its own, created before it and kept LogRetentionDays.

    Lambda's implicit group (``/aws/lambda/<function name>``, created at the first invocation) never
    expires, and declaring that name here would fail on stacks whose functions already created it:
    each function logs to ``/aws/lambda/<stack>/<function id>`` instead (``LoggingConfig``).
    """
    result: Doc = {}
    for logical_id, resource in resources.items():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Serverless::Function":
            group = f"{logical_id}Logs"
            properties = resource["Properties"]
            if not isinstance(properties, dict):
                raise TypeError(f"{logical_id}: Properties must be a mapping")
            result[logical_id] = {
                **resource,
                "Properties": {**properties, "LoggingConfig": {"LogGroup": ref(group)}},
            }
            result[group] = stateful(
                "AWS::Logs::LogGroup",
                {
                    "LogGroupName": sub(f"/aws/lambda/${{AWS::StackName}}/{logical_id}"),
                    "RetentionInDays": ref("LogRetentionDays"),
                },
                skips=SKIP_FUNCTION_LOG_GROUP,
            )
        else:
            result[logical_id] = resource
    return result
