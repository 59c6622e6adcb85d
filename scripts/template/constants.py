"""Settings every resource shares: runtime, sizes, timeouts, retention, checkov's by-design findings."""

from __future__ import annotations

# Lambda's python3.13: the tests import every built function with CPython 3.13 (`make install`
# builds it), and the layers' wheels and bytecode are for 3.13 (layers/dependencies/Makefile).
RUNTIME = "python3.13"
ARCHITECTURES = ("x86_64", "arm64")
# The DependenciesLayer of each architecture (native wheels differ); the SharedLayer is pure Python.
DEPENDENCY_LAYERS = {"x86_64": "DependenciesLayer", "arm64": "DependenciesLayerArm64"}
# bm25s and numpy (layers/index): the tenants' search index, for the workers and ops functions only.
INDEX_LAYERS = {"x86_64": "IndexLayer", "arm64": "IndexLayerArm64"}
INDEX_BUCKET = "ContextIndexBucket"  # their S3 bucket (scripts/template/ops.py)
SNAPSTART_ALIAS = "live"
WEBHOOK_TIMEOUT = 10
WEBHOOK_MEMORY = 512
WORKER_TIMEOUT = 60
WORKER_MEMORY = 1024
# AWS guidance: queue visibility timeout >= 6 x the function timeout when Lambda polls the queue.
VISIBILITY_TIMEOUT = 6 * WORKER_TIMEOUT
# The guard against poison messages (they fail on every receive). Jobs give up on their own well before
# (ticket_enhancer.jobs: 5 real attempts or 24 h), and rate-limit deferrals are receives too.
MAX_RECEIVE_COUNT = 50
RETENTION_SECONDS = 1_209_600  # 14 days, the SQS maximum
TABLES: dict[str, str] = {
    "TENANTS_TABLE": "TenantsTable",
    "DELIVERIES_TABLE": "DeliveriesTable",
    "JOBS_TABLE": "JobsTable",
    "CONTEXT_TABLE": "ContextTable",
}


# -- checkov: findings that are by design, each with its reason (`make proof` runs checkov) ---------
SKIP_FUNCTION = [
    (
        "CKV_AWS_115",
        "Concurrency is bounded without reserving account capacity: the HTTP API throttles the webhooks "
        "(burst 200, 100 req/s) and each worker's SQS mapping has ScalingConfig.MaximumConcurrency.",
    ),
    (
        "CKV_AWS_116",
        "No asynchronous invocations: webhooks are invoked synchronously by the HTTP API, workers by an SQS "
        "event source mapping whose queue has its own dead-letter queue (maxReceiveCount 50).",
    ),
    (
        "CKV_AWS_117",
        "Workers join a VPC only when the operator sets WorkerSubnetIds (on-prem tools on private networks); "
        "otherwise the functions call public SaaS APIs and AWS APIs only, and a VPC would add a NAT gateway "
        "and nothing to protect.",
    ),
    (
        "CKV_AWS_173",
        "The environment holds only table names, queue URLs and settings (secrets are in Secrets Manager); "
        "Lambda encrypts it at rest with its AWS-managed key.",
    ),
]
SKIP_QUEUE = [
    (
        "CKV_AWS_27",
        "Encrypted with SQS-managed keys (SqsManagedSseEnabled), which this check does not recognise; a "
        "KMS key would add a KMS call per message and a key policy per queue.",
    ),
]
SKIP_TABLE_CMK = (
    "CKV_AWS_119",
    "Encrypted at rest with the AWS-managed DynamoDB key (SSESpecification); a customer-managed key is an "
    "operator's choice, not a default.",
)
SKIP_LOG_GROUP = [
    (
        "CKV_AWS_158",
        "Access logs carry no secrets, signatures or bodies (request id, route, status, latency, source "
        "IP); CloudWatch Logs encrypts them at rest.",
    ),
]
SKIP_FUNCTION_LOG_GROUP = [
    (
        "CKV_AWS_158",
        "Function logs carry ids, states and timings, never secrets, signatures or ticket text (README, "
        "Data we keep); CloudWatch Logs encrypts them at rest.",
    ),
]
# Retention of the logs, in the values CloudWatch Logs accepts. Access logs: enough to investigate
# deliveries without keeping callers' IPs for long; function logs: enough to debug a failed job.
LOG_RETENTION_VALUES = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192]
LOG_RETENTION_VALUES += [2557, 2922, 3288, 3653]
FUNCTION_LOG_DAYS = 30
ACCESS_LOG_DAYS = 90
PITR_DAYS = 35  # DynamoDB's maximum and default point-in-time recovery window
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","time":"$context.requestTime","ip":"$context.identity.sourceIp",'
    '"route":"$context.routeKey","path":"$context.path","status":"$context.status",'
    '"latencyMs":"$context.responseLatency","responseLength":"$context.responseLength",'
    '"integrationError":"$context.integrationErrorMessage"}'
)
# Powertools' service name (Globals); its metrics carry it as the dimension ``service``.
SERVICE_NAME = "ticket-enhancer"
