"""What deployments vary in the workers: a VPC for on-prem tools on private networks (parameters
``WorkerSubnetIds``, ``WorkerSecurityGroupIds``, ``AllowedPrivateCidrs``), and the alarms on failures
a person must act on (refused credentials, a note made public)."""

from __future__ import annotations

from scripts.template.base import Doc, alarm, ref, sub

VPC_CONFIG: Doc = {"SubnetIds": ref("WorkerSubnetIds"), "SecurityGroupIds": ref("WorkerSecurityGroupIds")}
# Worker metrics of failures a person must act on (plugins.errors.VendorError.alarm).
ATTENTION = {
    "VendorCredentialsRefused": "the tool refused the tenant's credentials (expired or revoked token): "
    "set new ones with `tenants update`",
    "NotesMadePublic": "a note came out public (Jira jsdPublic: true) and was deleted: check the "
    "project's comment permissions",
}


def in_vpc(worker_role: Doc) -> Doc:
    """A worker role that may create its network interfaces when the workers are in a VPC."""
    properties = worker_role["Properties"]
    managed = properties.get("ManagedPolicyArns") if isinstance(properties, dict) else None
    if not isinstance(managed, list):
        raise TypeError("a role has Properties.ManagedPolicyArns")
    vpc_policy = sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
    managed.append({"Fn::If": ["WorkersInVpc", vpc_policy, ref("AWS::NoValue")]})
    return worker_role


def attention_alarms(tool: str, camel: str) -> Doc:
    return {
        f"{camel}{metric}Alarm": alarm(
            f"Jobs of {tool}: {what}.",
            {
                "Namespace": "TicketEnhancer",
                "MetricName": metric,
                "Dimensions": [{"Name": "tool", "Value": tool}],
                "Statistic": "Sum",
            },
            threshold=1,
            operator="GreaterThanOrEqualToThreshold",
            period=300,
        )
        for metric, what in ATTENTION.items()
    }
