"""botocore clients, for where the light JSON client does not apply (see ``ticket_enhancer.aws``).

Imported only then: ``botocore.session`` alone costs ~0.9x of ``import boto3``. boto3 itself is
never imported by functions; these are the objects ``boto3.client()`` would return.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import botocore.session
from botocore.config import Config

from ticket_enhancer.aws.endpoints import Service
from ticket_enhancer.aws.jsonapi import Timeouts

_session: botocore.session.Session | None = None


def session() -> botocore.session.Session:
    global _session  # noqa: PLW0603 (one session per container, by design)
    if _session is None:
        _session = botocore.session.get_session()
    return _session


def create(service: Service, timeouts: Timeouts, env: Mapping[str, str]) -> Any:
    """A botocore client; region and endpoint URL from ``env`` when it sets them (as botocore would)."""
    config = Config(
        connect_timeout=timeouts.connect,
        read_timeout=timeouts.read,
        retries={"total_max_attempts": timeouts.max_attempts, "mode": "standard"},
    )
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    endpoint = env.get(f"AWS_ENDPOINT_URL_{service.env_name}") or env.get("AWS_ENDPOINT_URL") or None
    if env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() in ("true", "1", "yes"):
        endpoint = None
    return session().create_client(service.name, region_name=region, endpoint_url=endpoint, config=config)
