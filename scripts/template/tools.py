"""Each tool's resources: webhook and worker functions, job queue and dead-letter queue, the
worker's role, alarms (which tools: ``selection.py``)."""

from __future__ import annotations

from ticket_enhancer.plugins.registry import ENV_ENTRY_POINTS
from ticket_enhancer.retention import HISTORY, INDEX

from scripts.template.base import (
    BEDROCK_MODELS,
    BEDROCK_PROFILES,
    BEDROCK_ROUTED_MODELS,
    INDEX_OBJECTS,
    WEBHOOK_SECRETS,
    Doc,
    alarm,
    arn,
    checkov_skips,
    policy,
    ref,
    role,
    secret_arn,
    secrets_prefix,
    stateful,
    statement,
)
from scripts.template.constants import (
    INDEX_BUCKET,
    MAX_RECEIVE_COUNT,
    RETENTION_SECONDS,
    SKIP_FUNCTION,
    SKIP_QUEUE,
    VISIBILITY_TIMEOUT,
    WEBHOOK_MEMORY,
    WEBHOOK_TIMEOUT,
    WORKER_MEMORY,
    WORKER_TIMEOUT,
)
from scripts.template.parameters import index_layer, snapstart
from scripts.template.selection import Tool
from scripts.template.workers import VPC_CONFIG, attention_alarms, in_vpc, worker_dimensions


def errors_alarm(tool: str, function_id: str, what: str) -> Doc:
    metric: Doc = {
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        "Dimensions": [{"Name": "FunctionName", "Value": ref(function_id)}],
        "Statistic": "Sum",
    }
    return alarm(
        f"The {tool} {what} function raised errors.",
        metric,
        threshold=1,
        operator="GreaterThanOrEqualToThreshold",
        period=300,
    )


def tool_resources(spec: Tool) -> Doc:
    tool, camel = spec.name, spec.camel
    webhook, worker = f"{camel}WebhookFunction", f"{camel}WorkerFunction"
    queue, dlq = f"{camel}Queue", f"{camel}DeadLetterQueue"
    # The internet-facing webhook reads webhook secrets only; the worker reads API secrets only.
    webhook_secrets = statement(["secretsmanager:GetSecretValue"], [secret_arn(tool, WEBHOOK_SECRETS)])
    api_secrets = statement(["secretsmanager:GetSecretValue"], [secret_arn(tool)])
    not_webhook_secrets = statement(
        ["secretsmanager:GetSecretValue"], [secret_arn(tool, WEBHOOK_SECRETS)], effect="Deny"
    )
    tool_env: Doc = {"TICKET_ENHANCER_TOOL": tool, "SECRETS_PREFIX": secrets_prefix(tool)}
    if spec.requirement:  # an entry-point plugin: its package is in the function (requirements.txt)
        tool_env[ENV_ENTRY_POINTS] = "1"
    retention_env: Doc = {setting.env: ref(setting.parameter) for setting in (INDEX, HISTORY)}
    dlq_metric: Doc = {
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}],
        "Statistic": "Maximum",
    }
    return {
        webhook: {
            "Type": "AWS::Serverless::Function",
            # Replaced only once every tenant has its webhook secret (pre-split deployments).
            "DependsOn": ["SecretsLayoutMigration"],
            "Metadata": checkov_skips(*SKIP_FUNCTION),
            "Properties": {
                "Description": f"{tool} webhook: verify, de-duplicate, queue.",
                "CodeUri": f"functions/{tool}_webhook/",
                "Handler": f"{tool}_webhook.handler",
                "Timeout": WEBHOOK_TIMEOUT,
                "MemorySize": WEBHOOK_MEMORY,
                **snapstart("SnapStartWebhooks"),
                "Environment": {"Variables": {**tool_env, "QUEUE_URL": ref(queue)}},
                "Policies": policy(
                    statement(["dynamodb:GetItem"], [arn("TenantsTable")]),
                    statement(["dynamodb:GetItem", "dynamodb:PutItem"], [arn("DeliveriesTable")]),
                    statement(["sqs:SendMessage"], [arn(queue)]),
                    webhook_secrets,
                ),
                "Events": {
                    f"{camel}Webhook": {
                        "Type": "HttpApi",
                        "Properties": {
                            "ApiId": ref("WebhookApi"),
                            "Path": f"/webhooks/{tool}/{{tenant_id}}",
                            "Method": "POST",
                        },
                    },
                },
            },
        },
        queue: stateful(
            "AWS::SQS::Queue",
            {
                # FIFO for its de-duplication: the webhook re-sends a job whose delivery record
                # exists (the first send may have been lost) and SQS drops the repeat.
                "FifoQueue": True,
                "DeduplicationScope": "queue",
                "VisibilityTimeout": VISIBILITY_TIMEOUT,
                "MessageRetentionPeriod": RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {"deadLetterTargetArn": arn(dlq), "maxReceiveCount": MAX_RECEIVE_COUNT},
            },
            skips=SKIP_QUEUE,
        ),
        dlq: stateful(
            "AWS::SQS::Queue",
            {"FifoQueue": True, "MessageRetentionPeriod": RETENTION_SECONDS, "SqsManagedSseEnabled": True},
            skips=SKIP_QUEUE,
        ),
        worker: {
            "Type": "AWS::Serverless::Function",
            "Metadata": checkov_skips(*SKIP_FUNCTION),
            "Properties": {
                "Description": f"{tool} worker: enhance tickets from the {tool} queue.",
                "CodeUri": f"functions/{tool}_worker/",
                "Handler": f"{tool}_worker.handler",
                "Timeout": WORKER_TIMEOUT,
                "MemorySize": WORKER_MEMORY,
                **snapstart("SnapStartWorkers"),
                # QUEUE_URL: a rate-limited record's visibility is set to the vendor's Retry-After.
                "Environment": {
                    "Variables": {
                        **tool_env,
                        "QUEUE_URL": ref(queue),
                        **retention_env,
                        "CONTEXT_INDEX_BUCKET": ref(INDEX_BUCKET),
                        "ALLOWED_PRIVATE_CIDRS": ref("AllowedPrivateCidrs"),
                    }
                },
                **index_layer(),
                "Role": {"Fn::GetAtt": [f"{camel}WorkerRole", "Arn"]},
                "VpcConfig": {"Fn::If": ["WorkersInVpc", VPC_CONFIG, ref("AWS::NoValue")]},
                "Events": {
                    # Stable name: SAM names the mapping <Camel>WorkerFunction<Camel>JobQueue.
                    f"{camel}JobQueue": {
                        "Type": "SQS",
                        "Properties": {
                            "Queue": arn(queue),
                            "BatchSize": 10,
                            "FunctionResponseTypes": ["ReportBatchItemFailures"],
                            "ScalingConfig": {"MaximumConcurrency": ref("WorkerMaxConcurrency")},
                        },
                    },
                },
            },
        },
        f"{camel}WorkerRole": in_vpc(
            role(
                f"{tool} worker: its own queue, the job and context tables, its tenants' secrets.",
                statement(
                    [
                        "sqs:ChangeMessageVisibility",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                        "sqs:ReceiveMessage",
                    ],
                    [arn(queue)],
                ),
                statement(
                    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
                    [arn("JobsTable"), arn("ContextTable")],
                ),
                # A job reads the newest processed tickets (BatchGetItem) and writes its ticket's
                # pointer (BatchWriteItem; the ticket's item is an UpdateItem): enhance.store.ContextStore.
                statement(["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"], [arn("ContextTable")]),
                statement(["dynamodb:GetItem"], [arn("TenantsTable")]),
                # Marks a delivery done so late repeats send nothing.
                statement(["dynamodb:UpdateItem"], [arn("DeliveriesTable")]),
                api_secrets,
                not_webhook_secrets,
                # The Converse API is authorised by bedrock:InvokeModel.
                statement(["bedrock:InvokeModel"], [BEDROCK_MODELS, BEDROCK_PROFILES]),
                {
                    **statement(["bedrock:InvokeModel"], [BEDROCK_ROUTED_MODELS]),
                    "Condition": {"StringLike": {"bedrock:InferenceProfileArn": BEDROCK_PROFILES}},
                },
                # The tenants' search indexes, read only (the ops function publishes them).
                statement(["s3:GetObject"], [INDEX_OBJECTS]),
            )
        ),
        **attention_alarms(tool, camel),
        f"{camel}DeadLetterAlarm": alarm(
            f"Jobs of {tool} reached its dead-letter queue.",
            dlq_metric,
            threshold=0,
            operator="GreaterThanThreshold",
            period=60,
        ),
        f"{camel}WebhookErrorsAlarm": errors_alarm(tool, webhook, "webhook"),
        f"{camel}WorkerErrorsAlarm": errors_alarm(tool, worker, "worker"),
        # The worker's EMF metric: a job ended `failed` (a final vendor error, or given up after 5
        # real attempts or 24 h); its reason is in the job record's last_error.
        f"{camel}JobsFailedAlarm": alarm(
            f"Jobs of {tool} failed (final error, or given up after 5 attempts or 24 h).",
            {
                "Namespace": "TicketEnhancer",
                "MetricName": "JobsFailed",
                "Dimensions": worker_dimensions(tool),
                "Statistic": "Sum",
            },
            threshold=1,
            operator="GreaterThanOrEqualToThreshold",
            period=300,
        ),
    }
