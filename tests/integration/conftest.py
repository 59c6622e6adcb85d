"""Fixtures for the CLI's ``--stack`` tests (``tests.cli_support`` is imported only when used)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

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
