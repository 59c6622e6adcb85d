"""The template's tables and queues in a fresh embedded AWS emulator, for in-process benchmarks."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ticket_enhancer.local.emulator import Emulator, Resources

ROOT = Path(__file__).resolve().parent.parent
TENANT = "bench"


@dataclass(frozen=True)
class Emulated:
    emulator: Emulator
    resources: Resources

    def add_jira_tenant(self, base_url: str, secret: str, **secret_fields: str) -> None:
        """The `bench` Jira tenant: its row and its two secrets (`jira-hmac`)."""
        name = f"ticket-enhancer/jira/{TENANT}"
        self.emulator.client("dynamodb").put_item(
            TableName=self.resources.tables["TenantsTable"],
            Item={
                "tenant_id": {"S": TENANT},
                "tool_type": {"S": "jira"},
                "base_url": {"S": base_url},
                "enabled": {"BOOL": True},
                "webhook_auth": {"S": "jira-hmac"},
                "secret_id": {"S": name},
            },
        )
        secrets = self.emulator.client("secretsmanager")
        secrets.create_secret(Name=f"{name}/webhook", SecretString=json.dumps({"webhook_secrets": [secret]}))
        secrets.create_secret(Name=name, SecretString=json.dumps(secret_fields))


@contextmanager
def emulated_aws() -> Iterator[Emulated]:
    """A started emulator holding the template's resources; ``AWS_*`` point at it meanwhile."""
    from ticket_enhancer.local import template
    from ticket_enhancer.local.emulator import DUMMY_CREDENTIALS, Emulator, create_resources

    emulator = Emulator()
    endpoint = emulator.start()
    saved = dict(os.environ)
    os.environ.update({"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1", **DUMMY_CREDENTIALS})
    try:
        yield Emulated(emulator, create_resources(emulator, template.load(ROOT), time_scale=60))
    finally:
        os.environ.clear()
        os.environ.update(saved)
        emulator.stop()
