"""What deployments vary in the workers: a VPC for on-prem tools on private networks (parameters
``WorkerSubnetIds``, ``WorkerSecurityGroupIds``, ``AllowedPrivateCidrs``), and the alarms on failures
a person must act on (refused credentials, a note made public)."""

from __future__ import annotations

from scripts.template.base import Doc, Node, alarm, ref, sub
from scripts.template.constants import SERVICE_NAME

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


def worker_dimensions(tool: str) -> list[Node]:
    """The dimensions of a worker's EMF metrics: the tool (``observability.make_metrics``) and the
    service Powertools adds whenever POWERTOOLS_SERVICE_NAME is set (Globals): an alarm naming
    fewer dimensions watches another metric, one nothing ever emits."""
    return [{"Name": "tool", "Value": tool}, {"Name": "service", "Value": SERVICE_NAME}]


def attention_alarms(tool: str, camel: str) -> Doc:
    return {
        f"{camel}{metric}Alarm": alarm(
            f"Jobs of {tool}: {what}.",
            {
                "Namespace": "TicketEnhancer",
                "MetricName": metric,
                "Dimensions": worker_dimensions(tool),
                "Statistic": "Sum",
            },
            threshold=1,
            operator="GreaterThanOrEqualToThreshold",
            period=300,
        )
        for metric, what in ATTENTION.items()
    }
