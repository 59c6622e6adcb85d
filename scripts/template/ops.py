"""`tenants sync` / `tenants preview` inside the deployment: each tool's ops function, its role and
schedules, and the context index bucket they write (shared by every tool)."""

from __future__ import annotations

import json

from ticket_enhancer.plugins.registry import ENV_ENTRY_POINTS
from ticket_enhancer.retention import HISTORY, INDEX

from scripts.template.base import (
    BEDROCK_MODELS,
    INDEX_OBJECTS,
    WEBHOOK_SECRETS,
    Doc,
    arn,
    checkov_skips,
    ref,
    role,
    secret_arn,
    secrets_prefix,
    stateful,
    statement,
)
from scripts.template.constants import INDEX_BUCKET, SKIP_FUNCTION
from scripts.template.parameters import index_layer
from scripts.template.selection import Tool

# A sync runs as long as Lambda allows and continues in the next invocation from its checkpoint.
OPS_TIMEOUT = 900
OPS_MEMORY = 2048  # the index build of a large tenant; more than one vCPU from 1,769 MB
NONCURRENT_VERSION_DAYS = 7  # a deleted index version (publish deletes the older ones) stays this long

SKIP_OPS_FUNCTION = [
    (check, comment)
    if check != "CKV_AWS_116"
    else (
        check,
        "Invoked asynchronously (tenants sync, the schedules) with a tenant id only: a lost invocation loses "
        "nothing, the checkpoint and the pending set let the next schedule tick continue the sync.",
    )
    for check, comment in SKIP_FUNCTION
]
SKIP_BUCKET = [
    (
        "CKV_AWS_18",
        "Holds derived retrieval indexes only (rebuilt from the ContextTable by `tenants sync`); the "
        "ops and worker functions' logs record who wrote what.",
    ),
    ("CKV_AWS_144", "A derived index: rebuilt by a sync, not replicated to another region."),
    (
        "CKV_AWS_145",
        "Encrypted at rest with S3-managed keys (SSE-S3); a customer-managed key would add a KMS call "
        "per object read and is an operator's choice.",
    ),
]


def sync_parameters() -> Doc:
    return {
        "SyncSchedule": {
            "Type": "String",
            "Default": "rate(1 day)",
            "Description": "When every enabled tenant's history and knowledge are synced (EventBridge "
            "Scheduler expression: rate(...), cron(...)); tenant option sync_schedule=off opts out.",
        },
        "SyncContinueSchedule": {
            "Type": "String",
            "Default": "rate(15 minutes)",
            "Description": "How often unfinished syncs continue from their checkpoints (a long import spans "
            "many 15-minute invocations; an idle tick reads one DynamoDB partition).",
        },
        "SyncScheduleState": {
            "Type": "String",
            "Default": "ENABLED",
            "AllowedValues": ["ENABLED", "DISABLED"],
            "Description": "DISABLED: no scheduled syncs (`tenants sync` still works).",
        },
    }


def index_bucket() -> Doc:
    """Private, encrypted, versioned (a reader keeps the version it loaded), old versions expire."""
    return {
        INDEX_BUCKET: stateful(
            "AWS::S3::Bucket",
            {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                            "BucketKeyEnabled": True,
                        }
                    ]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "ExpireReplacedIndexVersions",
                            "Status": "Enabled",
                            "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_VERSION_DAYS},
                            # An erased tenant's keys end as delete markers over no version once
                            # the noncurrent ones expire: remove those markers too.
                            "ExpiredObjectDeleteMarker": True,
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        }
                    ]
                },
            },
            retain=True,
            skips=SKIP_BUCKET,
        ),
        f"{INDEX_BUCKET}Policy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": ref(INDEX_BUCKET),
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [arn(INDEX_BUCKET), INDEX_OBJECTS],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
    }


def _schedule(expression: str, action: str, description: str) -> Doc:
    return {
        "Type": "ScheduleV2",
        "Properties": {
            "ScheduleExpression": ref(expression),
            "Input": json.dumps({"action": action}),
            "State": ref("SyncScheduleState"),
            "Description": description,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "RetryPolicy": {"MaximumRetryAttempts": 2},
        },
    }


def ops_resources(spec: Tool) -> Doc:
    tool, camel = spec.name, spec.camel
    function, role_id = f"{camel}OpsFunction", f"{camel}OpsRole"
    tool_env: Doc = {"TICKET_ENHANCER_TOOL": tool, "SECRETS_PREFIX": secrets_prefix(tool)}
    if spec.requirement:  # an entry-point plugin: its package is in the function (requirements.txt)
        tool_env[ENV_ENTRY_POINTS] = "1"
    return {
        function: {
            "Type": "AWS::Serverless::Function",
            "Metadata": checkov_skips(*SKIP_OPS_FUNCTION),
            "Properties": {
                "Description": f"{tool} ops: tenants sync and preview, scheduled syncs.",
                "CodeUri": f"functions/{tool}_ops/",
                "Handler": f"{tool}_ops.handler",
                "Timeout": OPS_TIMEOUT,
                "MemorySize": OPS_MEMORY,
                "Environment": {
                    "Variables": {
                        **tool_env,
                        "CONTEXT_INDEX_BUCKET": ref(INDEX_BUCKET),
                        **{setting.env: ref(setting.parameter) for setting in (INDEX, HISTORY)},
                    }
                },
                **index_layer(),
                "Role": arn(role_id),
                # The CLI invokes it asynchronously (sync) and follows the checkpoints: a failed
                # invocation is retried once; the checkpoint makes the retry continue, not repeat.
                "EventInvokeConfig": {"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 3600},
                "Events": {
                    f"{camel}DailySync": _schedule(
                        "SyncSchedule",
                        "scheduled",
                        f"Sync every enabled {tool} tenant's history and knowledge.",
                    ),
                    f"{camel}SyncContinue": _schedule(
                        "SyncContinueSchedule", "continue", f"Continue unfinished {tool} syncs."
                    ),
                },
            },
        },
        role_id: role(
            f"{tool} ops: its tenants' API secrets (never webhook secrets), tenants (read), context, index.",
            # `scheduled` lists this tool's tenants: a Scan of the (small) tenants table.
            statement(["dynamodb:GetItem", "dynamodb:Scan"], [arn("TenantsTable")]),
            statement(
                [
                    "dynamodb:BatchWriteItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:Query",
                    "dynamodb:UpdateItem",
                ],
                [arn("ContextTable")],
            ),
            # DeleteObject: publishing deletes the versions older than the one it replaced
            statement(["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], [INDEX_OBJECTS]),
            statement(["s3:ListBucket"], [arn(INDEX_BUCKET)]),
            statement(["secretsmanager:GetSecretValue"], [secret_arn(tool)]),
            statement(["secretsmanager:GetSecretValue"], [secret_arn(tool, WEBHOOK_SECRETS)], effect="Deny"),
            # preview synthesises the note with the tenant's provider, as the worker does.
            statement(["bedrock:InvokeModel"], [BEDROCK_MODELS]),
        ),
    }
