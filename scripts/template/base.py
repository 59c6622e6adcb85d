"""Building blocks: CloudFormation intrinsics (long form), IAM statements and roles, data-holding
resources with their deletion policies, alarms."""

from __future__ import annotations

from typing import TypeAlias

Node: TypeAlias = str | int | bool | list["Node"] | dict[str, "Node"]
Doc: TypeAlias = dict[str, Node]


# -- intrinsic functions (long form) ------------------------------------------------------------
def ref(name: str) -> Doc:
    return {"Ref": name}


def arn(logical_id: str) -> Doc:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def sub(text: str) -> Doc:
    return {"Fn::Sub": text}


def secret_arn(tool: str, pattern: str = "*") -> Doc:
    """Secrets of ``tool`` whose name (with Secrets Manager's 6-character suffix) matches ``pattern``."""
    return sub(
        "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}"
        f":secret:{secrets_prefix(tool)}{pattern}"
    )


# The webhook secret `ticket-enhancer/<tool>/<tenant_id>/webhook` (tenant ids hold no "/").
WEBHOOK_SECRETS = "*/webhook-??????"


def secrets_prefix(tool: str) -> str:
    return f"ticket-enhancer/{tool}/"


API_URL = "https://${WebhookApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
INDEX_OBJECTS = sub("${ContextIndexBucket.Arn}/*")  # the tenants' search indexes
BEDROCK_MODELS = sub("arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/*")
# Geographic cross-Region inference profiles (the default Bedrock model: us./eu./apac.... by region).
BEDROCK_PROFILES = sub("arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/*")
# A profile routes to the model in any Region of its geography: allowed only through our profiles.
BEDROCK_ROUTED_MODELS = sub("arn:${AWS::Partition}:bedrock:*::foundation-model/*")


def checkov_skips(*checks: tuple[str, str]) -> Doc:
    """A resource's ``Metadata`` telling checkov which findings are by design, and why."""
    return {"checkov": {"skip": [{"id": check, "comment": comment} for check, comment in checks]}}


def statement(actions: list[str], resources: list[Node], *, effect: str = "Allow") -> Doc:
    return {"Effect": effect, "Action": list(actions), "Resource": list(resources)}


def policy(*statements: Doc) -> list[Node]:
    return [{"Version": "2012-10-17", "Statement": list(statements)}]


def role(description: str, *statements: Doc) -> Doc:
    """An explicit execution role. Used for workers: with an SQS event and no `Role`, SAM attaches
    AWSLambdaSQSQueueExecutionRole, which allows receiving from and deleting on every queue."""
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": description,
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "ManagedPolicyArns": [
                sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"),
                sub("arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"),
            ],
            "Policies": [{"PolicyName": "worker", "PolicyDocument": policy(*statements)[0]}],
        },
    }


def stateful(
    resource_type: str, properties: Doc, *, retain: bool = False, skips: list[tuple[str, str]] | None = None
) -> Doc:
    """A resource holding data, with its deletion policies spelled out (cfn-lint I3011)."""
    deletion = "Retain" if retain else "Delete"
    resource: Doc = {
        "Type": resource_type,
        "DeletionPolicy": deletion,
        "UpdateReplacePolicy": deletion,
        "Properties": properties,
    }
    if skips:
        resource["Metadata"] = checkov_skips(*skips)
    return resource


def alarm(description: str, metric: Doc, *, threshold: int, operator: str, period: int) -> Doc:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            **metric,
            "Period": period,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": operator,
            "TreatMissingData": "notBreaching",
            "AlarmActions": {
                "Fn::If": ["HasAlarmTopic", [ref("AlarmTopicArn")], ref("AWS::NoValue")],
            },
        },
    }
