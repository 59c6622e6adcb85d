"""A deployed Ticket Enhancer stack inside moto, for the CLI's ``--stack`` tests.

``deploy()`` creates what ``template.yaml`` declares and the CLI touches (the four tables with the
template's keys, the versioned index bucket, a FIFO queue and FIFO DLQ per tool, one worker function
per tool with its SQS event source mapping) and a CloudFormation stack whose Outputs carry exactly the names
``cli/target.py`` ``outputs_to_target`` reads. ``Deployment.cli(...)`` runs
``ticket_enhancer_dev.cli.main.main`` in-process against it and returns exit code, stdout and stderr
(captured with ``contextlib.redirect_*``, so module-scoped fixtures can run commands too).
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from ticket_enhancer.plugins import PluginManager
from ticket_enhancer_dev.cli.main import main

from tests.support import REGION, TOOLS, create_tool_queues, unique

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

    from tests.support import World

TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "TenantsTable": ("tenant_id",),
    "DeliveriesTable": ("dedupe_key",),
    "JobsTable": ("job_key",),
    "ContextTable": ("pk", "sk"),
}


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


@dataclass
class Deployment:
    name: str
    api_url: str
    tables: dict[str, str]
    queues: dict[str, str]
    dlqs: dict[str, str]
    mappings: dict[str, str]
    dynamodb: DynamoDBClient
    secretsmanager: SecretsManagerClient
    sqs: SQSClient
    lambda_: Any
    s3: Any = None
    bucket: str = ""  # ContextIndexBucket (versioned, as the template has it)

    def cli(self, *argv: str, target: bool = True) -> Run:
        """``ticket-enhancer ARGV --stack NAME --region R`` in this process."""
        args = [*argv, "--stack", self.name, "--region", REGION] if target else list(argv)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exc:  # argparse errors
                code = int(exc.code or 0)
        return Run(code, out.getvalue(), err.getvalue())

    def webhook_url(self, tool: str, tenant_id: str) -> str:
        return f"{self.api_url}/webhooks/{tool}/{tenant_id}"

    def row(self, tenant_id: str) -> dict[str, Any] | None:
        from ticket_enhancer.tenants import deserialize_item

        item = self.dynamodb.get_item(
            TableName=self.tables["TenantsTable"], Key={"tenant_id": {"S": tenant_id}}
        ).get("Item")
        return deserialize_item(dict(item)) if item else None

    def secret(self, tool: str, tenant_id: str) -> dict[str, Any]:
        """The tenant's two secret documents merged (the API secret never holds webhook secrets)."""
        name = f"ticket-enhancer/{tool}/{tenant_id}"
        api: dict[str, Any] = json.loads(self.secretsmanager.get_secret_value(SecretId=name)["SecretString"])
        assert "webhook_secrets" not in api
        webhook = json.loads(self.secretsmanager.get_secret_value(SecretId=f"{name}/webhook")["SecretString"])
        assert set(webhook) == {"webhook_secrets"}
        return {**api, **webhook}

    def secret_names(self) -> list[str]:
        return sorted(s["Name"] for s in self.secretsmanager.list_secrets().get("SecretList", []))

    def items(self, table: str) -> list[dict[str, Any]]:
        found = self.dynamodb.scan(TableName=self.tables[table]).get("Items", [])
        return sorted((dict(i) for i in found), key=lambda i: json.dumps(i, sort_keys=True))

    def depth(self, url: str) -> int:
        names: Any = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return sum(int(attrs.get(n, "0")) for n in names)

    def snapshot(self) -> dict[str, Any]:
        """Everything a command could change: table items, secrets (values included), queue depths."""
        return {
            "tables": {name: self.items(name) for name in self.tables},
            "secrets": {
                name: self.secretsmanager.get_secret_value(SecretId=name)["SecretString"]
                for name in self.secret_names()
            },
            "queues": {url: self.depth(url) for url in (*self.queues.values(), *self.dlqs.values())},
            "mappings": {
                tool: self.lambda_.get_event_source_mapping(UUID=uuid)["State"]
                for tool, uuid in self.mappings.items()
            },
        }


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def deploy(world: World) -> Deployment:
    """The template's resources under fresh names and a CloudFormation stack pointing at them."""
    prefix = unique("clistack")
    dynamodb, sqs = world.dynamodb, world.sqs
    tables: dict[str, str] = {}
    for logical, keys in TABLE_KEYS.items():
        tables[logical] = f"{prefix}-{logical}"
        dynamodb.create_table(
            TableName=tables[logical],
            KeySchema=[
                {"AttributeName": k, "KeyType": "HASH" if i == 0 else "RANGE"} for i, k in enumerate(keys)
            ],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
            BillingMode="PAY_PER_REQUEST",
        )
    s3: Any = boto3.client("s3", region_name=REGION)
    bucket = f"{prefix}-index".lower()
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    iam: Any = boto3.client("iam", region_name=REGION)
    role = iam.create_role(
        RoleName=f"{prefix}-worker",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    lambda_: Any = boto3.client("lambda", region_name=REGION)
    code = _zip()
    queues: dict[str, str] = {}
    dlqs: dict[str, str] = {}
    mappings: dict[str, str] = {}
    outputs: dict[str, str] = {
        "WebhookApiUrl": f"https://{prefix}.execute-api.{REGION}.amazonaws.com",
        **{f"{logical}Name": name for logical, name in tables.items()},
        "ContextIndexBucketName": bucket,
    }
    for tool in TOOLS:
        camel = PluginManager().get_plugin(tool).logical_name()
        queues[tool], dlqs[tool] = create_tool_queues(sqs, f"{prefix}-{tool.replace('_', '-')}")
        worker = f"{prefix}-{camel}Worker"
        lambda_.create_function(
            FunctionName=worker,
            Runtime="python3.11",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": code},
        )
        arn = sqs.get_queue_attributes(QueueUrl=queues[tool], AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        mappings[tool] = lambda_.create_event_source_mapping(
            EventSourceArn=arn, FunctionName=worker, BatchSize=10, Enabled=True
        )["UUID"]
        outputs.update(
            {
                f"{camel}WebhookUrl": f"{outputs['WebhookApiUrl']}/webhooks/{tool}/{{tenant_id}}",
                f"{camel}QueueUrl": queues[tool],
                f"{camel}DeadLetterQueueUrl": dlqs[tool],
                f"{camel}WebhookFunctionName": f"{prefix}-{camel}Webhook",
                f"{camel}WorkerFunctionName": worker,
                f"{camel}EventSourceMapping": mappings[tool],
            }
        )
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cloudformation: Any = boto3.client("cloudformation", region_name=REGION)
    with warnings.catch_warnings():  # moto does not model the placeholder resource: harmless
        warnings.simplefilter("ignore", UserWarning)
        cloudformation.create_stack(StackName=prefix, TemplateBody=json.dumps(template))
    return Deployment(
        name=prefix,
        api_url=outputs["WebhookApiUrl"],
        tables=tables,
        queues=queues,
        dlqs=dlqs,
        mappings=mappings,
        dynamodb=dynamodb,
        secretsmanager=world.secretsmanager,
        sqs=sqs,
        lambda_=lambda_,
        s3=s3,
        bucket=bucket,
    )
