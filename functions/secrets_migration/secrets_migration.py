"""Lambda entry point: the stack's secrets migration (a CloudFormation custom resource)."""

import os

from ticket_enhancer import aws
from ticket_enhancer.migrations import make_handler

handler = make_handler(
    aws.dynamodb(aws.WORKER_CONFIG),
    aws.secretsmanager(aws.WORKER_CONFIG),
    os.environ["TENANTS_TABLE"],
)
