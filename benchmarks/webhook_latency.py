"""Warm webhook latency against one PutItem + one SendMessage on the same emulator, same run.

The handler is built exactly as in Lambda (``make_webhook_handler``) with its clients pointed
at the embedded AWS emulator (moto server on loopback). Each sample is a new delivery, so every
request does the full work: cached tenant, signature check, metadata, conditional write, send.
The baseline is the two AWS calls alone, made by the same clients, interleaved with the samples.
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import time
from typing import Any

from benchmarks.emulated import emulated_aws

SECRET = "bench-webhook-secret-0123456789"  # noqa: S105 # nosec B105 # a benchmark's throwaway secret
BUDGET = 1.3


def _event(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "POST /webhooks/jira/{tenant_id}",
        "rawPath": "/webhooks/jira/bench",
        "headers": {k.lower(): v for k, v in headers.items()},
        "body": body.decode(),
        "isBase64Encoded": False,
        "pathParameters": {"tenant_id": "bench"},
        "requestContext": {"requestId": "bench", "http": {}},
    }


def run(samples: int = 200) -> dict[str, object]:
    from ticket_enhancer.webhooks.signing import sign

    with emulated_aws() as aws:
        aws.add_jira_tenant("https://bench.atlassian.net", SECRET)
        tables = aws.resources.tables
        tenants, deliveries = tables["TenantsTable"], tables["DeliveriesTable"]
        queue_url = aws.resources.queues["JiraQueue"].url

        from ticket_enhancer.ingest.handler import make_webhook_handler

        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet):  # the handler logs to the stdout it sees when built
            handler = make_webhook_handler(
                "jira", env={"TENANTS_TABLE": tenants, "DELIVERIES_TABLE": deliveries, "QUEUE_URL": queue_url}
            )
        ddb, sqs = handler.dynamodb, handler.sqs

        def request(i: int) -> float:
            body = json.dumps(
                {
                    "webhookEvent": "jira:issue_created",
                    "issue": {
                        "id": str(10_000 + i),
                        "key": f"IT-{i}",
                        "fields": {
                            "summary": "VPN down",
                            "description": "x" * 400,
                            "priority": {"name": "High"},
                        },
                    },
                }
            ).encode()
            event = _event(body, sign("jira-hmac", body, SECRET, delivery_id=f"bench-{i}"))
            started = time.perf_counter()
            answer = handler(event, None)
            elapsed = time.perf_counter() - started
            if answer["statusCode"] != 202:
                raise RuntimeError(f"the webhook answered {answer}")
            return elapsed

        def baseline(i: int) -> float:
            started = time.perf_counter()
            ddb.put_item(
                TableName=deliveries,
                Item={"dedupe_key": {"S": f"baseline-{i}"}, "job_id": {"S": "x"}},
                ConditionExpression="attribute_not_exists(dedupe_key)",
            )
            sqs.send_message(
                QueueUrl=queue_url,
                MessageBody="{}",
                MessageGroupId=f"g{i}",
                MessageDeduplicationId=f"baseline-{i}",
            )
            return time.perf_counter() - started

        with contextlib.redirect_stdout(quiet):  # the handler's log and metric lines
            for i in range(20):  # warm up both paths (tenant cache, connections)
                request(-1 - i)
                baseline(-1 - i)
            handler_s, baseline_s = [], []
            for i in range(samples):
                handler_s.append(request(i))
                baseline_s.append(baseline(i))
    h, b = statistics.median(handler_s), statistics.median(baseline_s)
    return {
        "samples": samples,
        "handler_ms": round(h * 1000, 2),
        "baseline_ms": round(b * 1000, 2),
        "ratio": round(h / b, 2),
        "budget": BUDGET,
    }


def report(result: dict[str, object]) -> str:
    return (
        f"webhook warm latency ({result['samples']} samples, medians): handler {result['handler_ms']} ms, "
        f"PutItem+SendMessage {result['baseline_ms']} ms, ratio {result['ratio']}x (budget {BUDGET}x)"
    )
