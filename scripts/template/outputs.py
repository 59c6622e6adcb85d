"""Stack outputs: shared ones (the CLI reads them), then each tool's."""

from __future__ import annotations

from collections.abc import Sequence

from scripts.template.base import API_URL, Doc, Node, ref, sub
from scripts.template.selection import Tool


def output(description: str, value: Node) -> Doc:
    return {"Description": description, "Value": value}


def outputs(tools: Sequence[Tool]) -> Doc:
    result: Doc = {
        "WebhookApiUrl": output("Base URL of the webhook HTTP API.", sub(API_URL)),
        "TenantsTableName": output("DynamoDB table of tenants.", ref("TenantsTable")),
        "DeliveriesTableName": output("DynamoDB table of webhook de-duplication.", ref("DeliveriesTable")),
        "JobsTableName": output("DynamoDB table of job records.", ref("JobsTable")),
        "ContextTableName": output("DynamoDB table of knowledge, assets, tickets.", ref("ContextTable")),
        "ContextIndexBucketName": output(
            "S3 bucket of the tenants' retrieval indexes.", ref("ContextIndexBucket")
        ),
    }
    for spec in tools:
        tool, camel = spec.name, spec.camel
        result |= {
            f"{camel}WebhookFunctionName": output(
                f"{tool} webhook function.", ref(f"{camel}WebhookFunction")
            ),
            f"{camel}WorkerFunctionName": output(f"{tool} worker function.", ref(f"{camel}WorkerFunction")),
            f"{camel}OpsFunctionName": output(
                f"{tool} ops function (sync, preview).", ref(f"{camel}OpsFunction")
            ),
            f"{camel}QueueUrl": output(f"{tool} job queue.", ref(f"{camel}Queue")),
            f"{camel}DeadLetterQueueUrl": output(
                f"{tool} dead-letter queue.", ref(f"{camel}DeadLetterQueue")
            ),
            f"{camel}EventSourceMapping": output(
                f"UUID of the {tool} queue -> worker mapping (disabled to pause the tool).",
                ref(f"{camel}WorkerFunction{camel}JobQueue"),
            ),
            f"{camel}WebhookUrl": output(
                f"Webhook URL to configure in {tool}; replace {{tenant_id}}.",
                sub(f"{API_URL}/webhooks/{tool}/{{tenant_id}}"),
            ),
        }
    return result
