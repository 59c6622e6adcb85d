"""Lambda entry point: the stack's secrets migration (a CloudFormation custom resource)."""

import os

import botocore.session
from ticket_enhancer.migrations import make_handler

_session = botocore.session.get_session()
handler = make_handler(
    _session.create_client("dynamodb"),
    _session.create_client("secretsmanager"),
    os.environ["TENANTS_TABLE"],
)
