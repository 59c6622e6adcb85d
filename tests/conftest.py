"""Fixtures for the webhook tests: moto (``aws``), tenants and HTTP API (2.0) events.

moto starts once per test module (``world``); each test gets tables and queues of its own
(``aws``), so tests never see each other's tenants, deliveries or messages. ``tests.support`` (moto,
boto3) is imported only when a fixture is used, so other tests' import state stays untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support import EventBuilder, Stack, TenantFactory, World


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark hypothesis property tests ``property``: `make quick` leaves them out (`make unit` runs them)."""
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.property)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """moto ``mock_aws`` (region us-east-1, dummy credentials) and shared boto3 clients."""
    from tests.support import moto_world

    with moto_world() as started:
        yield started


@pytest.fixture
def aws(world: World) -> Iterator[Stack]:
    """The template's tables and FIFO queues (with DLQs), fresh for this test."""
    stack = world.stack()
    yield stack
    stack.unhook()


@pytest.fixture
def tenant(aws: Stack) -> TenantFactory:
    """``tenant("jira", webhook_auth=..., secrets=[...], enabled=...)`` writes a row and its secret."""
    return aws.add_tenant


@pytest.fixture
def webhook_event() -> EventBuilder:
    """``webhook_event(tool, tenant_id, body, headers, base64=False)``: an HTTP API 2.0 event."""
    from tests.support import webhook_event as build_event

    return build_event
