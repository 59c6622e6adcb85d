"""The template's tables and queues in a fresh embedded AWS emulator, for in-process benchmarks.

``emulated_aws(separate_process=True)`` runs the emulator (moto's server) in a child process: the
function under test then pays only its own side of every AWS call (botocore building the request,
HTTP, parsing the answer), as in Lambda, where DynamoDB's own work is not the function's CPU. In the
same process, moto's request handling (about two thirds of the CPU of a worker batch, measured) holds
the GIL the function needs and would be billed to the function.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from ticket_enhancer_dev.local.emulator import Emulator, Resources

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


def _serve(conn: Connection) -> None:
    """The child process: an emulator until the parent says stop (or goes away)."""
    from ticket_enhancer_dev.local.emulator import Emulator

    emulator = Emulator()
    conn.send(emulator.start())
    with contextlib.suppress(EOFError):  # the parent went away: stop as well
        conn.recv()
    emulator.stop()


@contextmanager
def _emulator(separate_process: bool) -> Iterator[Emulator]:
    from ticket_enhancer_dev.local.emulator import Emulator

    if not separate_process:
        emulator = Emulator()
        emulator.start()
        try:
            yield emulator
        finally:
            emulator.stop()
        return
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_serve, args=(child,), daemon=True)
    process.start()
    child.close()  # the child's end: a child that dies makes ``recv`` fail instead of waiting forever
    try:
        if not parent.poll(120):
            raise RuntimeError("the emulator process did not start")
        remote = Emulator()  # a handle on the child's server: clients only (no server of its own)
        remote.endpoint_url = str(parent.recv())
        yield remote
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        process.join(timeout=30)
        if process.is_alive():
            process.kill()


@contextmanager
def emulated_aws(*, separate_process: bool = False) -> Iterator[Emulated]:
    """A started emulator holding the template's resources; ``AWS_*`` point at it meanwhile."""
    from ticket_enhancer_dev.local import template
    from ticket_enhancer_dev.local.emulator import DUMMY_CREDENTIALS, create_resources

    with _emulator(separate_process) as emulator:
        saved = dict(os.environ)
        endpoint = {"AWS_ENDPOINT_URL": emulator.endpoint_url, "AWS_DEFAULT_REGION": "us-east-1"}
        os.environ.update({**endpoint, **DUMMY_CREDENTIALS})
        try:
            yield Emulated(emulator, create_resources(emulator, template.load(ROOT), time_scale=60))
        finally:
            os.environ.clear()
            os.environ.update(saved)
