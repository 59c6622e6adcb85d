"""Produce the headers a tool would send: for `ticket-enhancer sign`, `events/` and tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from datetime import UTC, datetime

from ticket_enhancer.webhooks import schemes


def sign(
    mode: str, body: bytes, secret: str, *, now: float | None = None, delivery_id: str | None = None
) -> dict[str, str]:
    """Headers (canonical capitalisation) authenticating ``body`` under ``mode``."""
    when = time.time() if now is None else now
    if mode == schemes.JIRA_HMAC:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return {
            "X-Hub-Signature": f"sha256={digest}",
            "X-Atlassian-Webhook-Identifier": delivery_id or str(uuid.uuid4()),
        }
    if mode == schemes.ZENDESK_HMAC:
        stamp = datetime.fromtimestamp(int(when), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        mac = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
        return {
            "X-Zendesk-Webhook-Signature": base64.b64encode(mac).decode(),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        }
    if mode == schemes.STANDARD_WEBHOOKS:
        key = schemes.standard_webhooks_key(secret)
        if key is None:
            raise ValueError("standard-webhooks secret must be whsec_<base64>")
        msg_id = delivery_id or f"msg_{uuid.uuid4().hex}"
        stamp = str(int(when))
        mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": stamp,
            "webhook-signature": f"v1,{base64.b64encode(mac).decode()}",
        }
    if mode == schemes.SHARED_TOKEN:
        return {"X-Webhook-Token": secret}
    raise ValueError(f"unknown auth mode {mode!r}; known: {', '.join(sorted(schemes.VERIFIERS))}")
