"""(Re)generate the sample webhook events in events/<tool>/ticket_created.json.

Usage: python scripts/make_events.py [--check] [--tool TOOL]... [--now EPOCH] [--dir DIR]

Each file is an API Gateway HTTP API (payload 2.0) event, as `sam local invoke -e` takes it, signed
with the documented TEST secrets (events/README.md). Jira, Freshservice and ServiceDesk Plus sign no
timestamp, so their files never change; Zendesk and ServiceNow (Standard Webhooks) sign one that
the function accepts for 300 s only, so running this again re-signs those two with the current time.

--check   write nothing; report files that are missing, stale (timestamp outside the 300 s window)
          or whose signature does not verify with the test secret; exit 1 if any.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "shared") not in sys.path:
    sys.path.insert(0, str(ROOT / "shared"))

from ticket_enhancer.plugins.context import Headers, WebhookRequest  # noqa: E402
from ticket_enhancer.webhooks import schemes  # noqa: E402
from ticket_enhancer.webhooks.signing import sign  # noqa: E402

EVENTS_DIR = ROOT / "events"
FILE_NAME = "ticket_created.json"
TOOLS = ("jira", "zendesk", "servicenow", "freshservice", "servicedesk_plus")

# TEST secrets only: documented in events/README.md, never used by a real tenant.
TEST_SECRETS: dict[str, str] = {
    "jira": "test-jira-secret",
    "zendesk": "test-zendesk-secret",
    "servicenow": "whsec_dGVzdC1zZXJ2aWNlbm93LXNlY3JldA==",
    "freshservice": "test-freshservice-token",
    "servicedesk_plus": "test-servicedesk-plus-token",
}
TENANT_IDS: dict[str, str] = {tool: "demo-" + tool.replace("_", "-") for tool in TOOLS}
MODES: dict[str, str] = {
    "jira": schemes.JIRA_HMAC,
    "zendesk": schemes.ZENDESK_HMAC,
    "servicenow": schemes.STANDARD_WEBHOOKS,
    "freshservice": schemes.SHARED_TOKEN,
    "servicedesk_plus": schemes.SHARED_TOKEN,
}
TIMESTAMPED = frozenset({"zendesk", "servicenow"})
FIXED_TIME = 1704164645.0  # 2024-01-02T03:04:05Z: request time of the files that sign no timestamp
DELIVERY_IDS = {
    "jira": "5c7d9f0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
    "servicenow": "msg_demo_servicenow_INC0010001",
}
USER_AGENTS = {
    "jira": "Atlassian Webhook HTTP Client",
    "zendesk": "Zendesk Webhook",
    "servicenow": "ServiceNow/1.0",
    "freshservice": "Freshservice-Webhook",
    "servicedesk_plus": "ServiceDeskPlus-Webhook",
}

BODIES: dict[str, dict[str, Any]] = {
    "jira": {
        "timestamp": 1704164645000,
        "webhookEvent": "jira:issue_created",
        "issue_event_type_name": "issue_created",
        "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Demo Agent"},
        "issue": {
            "id": "10001",
            "key": "IT-1",
            "self": "https://demo.atlassian.net/rest/api/2/issue/10001",
            "fields": {
                "summary": "VPN drops every 10 minutes",
                "description": "The VPN disconnects every 10 minutes in the Berlin office.",
                "priority": {"name": "High", "id": "2"},
                "reporter": {
                    "accountId": "5b10a2844c20165700ede21g",
                    "displayName": "Demo User",
                    "emailAddress": "demo.user@example.com",
                },
                "created": "2024-01-02T04:04:05.000+0100",
                "status": {"name": "Open"},
                "project": {"key": "IT"},
            },
        },
    },
    "zendesk": {
        "type": "zen:event-type:ticket.created",
        "account_id": 22129848,
        "id": "2b1c8e5e-6d0a-4c59-9f3e-3f0d7c1a9b01",
        "time": "2024-01-02T03:04:05Z",
        "zendesk_event_version": "2022-11-06",
        "subject": "zen:ticket:123",
        "detail": {
            "id": "123",
            "subject": "Printer on floor 3 prints blank pages",
            "description": "Every job sent to PRN-3F comes out blank since the toner was replaced.",
            "priority": "HIGH",
            "status": "NEW",
            "requester_id": "8193592318236",
            "created_at": "2024-01-02T03:04:05Z",
        },
        "event": {},
    },
    "servicenow": {
        "sys_id": "9d385017c611228701d22104cc95c371",
        "number": "INC0010001",
        "short_description": "Email not syncing on mobile",
        "description": "Outlook on my phone stopped syncing after the password change.",
        "priority": "2",
        "state": "1",
        "caller_id": "Abel Tuter",
        "opened_at": "2024-01-02 03:04:05",
    },
    "freshservice": {
        "freshservice_webhook": {
            "ticket_id": 123,
            "ticket_subject": "Laptop will not boot",
            "ticket_description": "Black screen after the BIOS update, power LED on.",
            "ticket_priority": 3,
            "ticket_status": "Open",
            "ticket_requester_email": "demo.user@example.com",
        }
    },
    "servicedesk_plus": {
        "request": {
            "id": "123",
            "display_id": "123",
            "subject": "Cannot access the shared drive",
            "description": "<p>Mapping \\\\fs01\\shared fails with access denied.</p>",
            "priority": {"name": "High", "id": "3"},
            "requester": {"name": "Demo User", "email_id": "demo.user@example.com"},
            "created_time": {"value": "1704164645000", "display_value": "Jan 2, 2024 03:04 AM"},
            "status": {"name": "Open"},
        }
    },
}


def event_path(tool: str, directory: Path = EVENTS_DIR) -> Path:
    return directory / tool / FILE_NAME


def shown(path: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def build_event(tool: str, now: float | None = None) -> dict[str, Any]:
    """The tool's sample event; Zendesk and ServiceNow signed at ``now`` (default: the current time)."""
    when = (time.time() if now is None else now) if tool in TIMESTAMPED else FIXED_TIME
    when = float(int(when))
    body = json.dumps(BODIES[tool])
    raw = body.encode()
    signed = sign(MODES[tool], raw, TEST_SECRETS[tool], now=when, delivery_id=DELIVERY_IDS.get(tool))
    tenant_id = TENANT_IDS[tool]
    path = f"/webhooks/{tool}/{tenant_id}"
    headers = {
        "accept": "*/*",
        "content-length": str(len(raw)),
        "content-type": "application/json",
        "host": "abc123defg.execute-api.us-east-1.amazonaws.com",
        "user-agent": USER_AGENTS[tool],
        "x-amzn-trace-id": "Root=1-65937d25-0123456789abcdef01234567",
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    headers.update({name.lower(): value for name, value in signed.items()})  # HTTP APIs lowercase names
    stamp = datetime.fromtimestamp(when, UTC)
    return {
        "version": "2.0",
        "routeKey": "POST /webhooks/{tool}/{tenant_id}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": dict(sorted(headers.items())),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123defg",
            "domainName": "abc123defg.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123defg",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": USER_AGENTS[tool],
            },
            "requestId": f"demo-{tool.replace('_', '-')}-request",
            "routeKey": "POST /webhooks/{tool}/{tenant_id}",
            "stage": "$default",
            "time": stamp.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(when * 1000),
        },
        "pathParameters": {"tool": tool, "tenant_id": tenant_id},
        "body": body,
        "isBase64Encoded": False,
    }


def render(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2, ensure_ascii=False) + "\n"


def signed_at(tool: str, event: dict[str, Any]) -> float | None:
    """The signed timestamp of a Zendesk or ServiceNow event (None for tools that sign none)."""
    headers = Headers(event.get("headers") or {})
    if tool == "zendesk":
        return schemes.parse_iso_timestamp(headers.get("x-zendesk-webhook-signature-timestamp", ""))
    if tool == "servicenow":
        stamp = headers.get("webhook-timestamp", "")
        return float(stamp) if stamp.isdigit() else None
    return None


def problems(tool: str, event: dict[str, Any], now: float | None = None) -> list[str]:
    """What keeps the event from being accepted at ``now`` with the test secret (empty: nothing)."""
    current = time.time() if now is None else now
    found: list[str] = []
    if (event.get("pathParameters") or {}).get("tenant_id") != TENANT_IDS[tool]:
        found.append(f"tenant id is not {TENANT_IDS[tool]}")
    signed = signed_at(tool, event)
    if tool in TIMESTAMPED:
        if signed is None:
            found.append("no signed timestamp")
        elif abs(current - signed) > schemes.TOLERANCE_SECONDS:
            found.append(
                f"stale: signed {int(current - signed)} s ago (accepted for {schemes.TOLERANCE_SECONDS} s)"
            )
    body = event.get("body") or ""
    request = WebhookRequest(body=body.encode(), headers=Headers(event.get("headers") or {}))
    check_at = signed if signed is not None else current
    if not schemes.VERIFIERS[MODES[tool]](request, [TEST_SECRETS[tool]], check_at):
        found.append("signature does not verify with the test secret")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="report missing/stale/invalid files; exit 1")
    parser.add_argument("--tool", action="append", choices=TOOLS, help="only this tool (repeatable)")
    parser.add_argument("--now", type=float, help="sign as of this epoch time (default: now)")
    parser.add_argument("--dir", type=Path, default=EVENTS_DIR, help="events directory (default: events/)")
    args = parser.parse_args(argv)
    tools: list[str] = args.tool or list(TOOLS)
    now: float = time.time() if args.now is None else args.now

    if args.check:
        failed = False
        for tool in tools:
            path = event_path(tool, args.dir)
            if not path.exists():
                print(f"{shown(path)}: missing")
                failed = True
                continue
            found = problems(tool, json.loads(path.read_text(encoding="utf-8")), now)
            print(f"{shown(path)}: {'; '.join(found) if found else 'ok'}")
            failed = failed or bool(found)
        if failed:
            print("run `python scripts/make_events.py` to re-sign", file=sys.stderr)
        return 1 if failed else 0

    for tool in tools:
        path = event_path(tool, args.dir)
        text = render(build_event(tool, now))
        if path.exists() and path.read_text(encoding="utf-8") == text:
            print(f"{shown(path)}: unchanged")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"{shown(path)}: written" + (" (valid for 300 s)" if tool in TIMESTAMPED else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
