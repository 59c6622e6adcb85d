"""Fixtures shared by integration tests: the CLI's ``--stack`` tests (``tests.cli_support`` is
imported only when used) and the context table on moto's DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.cli_support import Deployment


@pytest.fixture
def deployed() -> Iterator[Deployment]:
    """A Ticket Enhancer stack in a moto account of this test's own, and a way to run the CLI on it.

    A fresh account per test: secret names (``ticket-enhancer/<tool>/<tenant_id>``) are global to one.
    """
    from tests.cli_support import deploy
    from tests.support import moto_world

    with moto_world() as world:
        yield deploy(world)


@pytest.fixture
def context_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A DynamoDB client on moto with the context table (``CONTEXT_TABLE``: ``pk``, ``sk``)."""
    import boto3
    from moto import mock_aws

    from tests.support import CONTEXT_TABLE, create_table, moto_env

    moto_env(monkeypatch)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, CONTEXT_TABLE, "pk", "sk")
        yield client
