"""(Re)generate the sample webhook events in events/<tool>/ticket_created.json.

Usage: python scripts/make_events.py [--check] [--tool TOOL]... [--now EPOCH] [--dir DIR]

Each file is an API Gateway HTTP API (payload 2.0) event, as `sam local invoke -e` takes it, signed
with the documented TEST secrets (events/README.md). The tools and their sample bodies come from the
plugin registry (each plugin's ``sample_webhook``). Modes that sign no timestamp give files that never
change; Zendesk and Standard Webhooks sign one that the function accepts for 300 s only, so running
this again re-signs those with the current time.

--check   write nothing; report files that are missing, stale (timestamp outside the 300 s window)
          or whose signature does not verify with the test secret; exit 1 if any.
"""

from __future__ import annotations

import argparse
import base64
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
from ticket_enhancer.plugins.registry import PluginManager, known_tools  # noqa: E402
from ticket_enhancer.webhooks import schemes  # noqa: E402

EVENTS_DIR = ROOT / "events"
FILE_NAME = "ticket_created.json"
PLUGINS = {tool: PluginManager().get_plugin(tool) for tool in known_tools()}  # each declares its sample
TOOLS = tuple(PLUGINS)


def test_secret(tool: str, mode: str) -> str:
    """The public TEST secret of a tool's sample event (events/README.md); never a real tenant's."""
    secret = f"test-{tool.replace('_', '-')}-secret"
    return (
        "whsec_" + base64.b64encode(secret.encode()).decode() if mode == schemes.STANDARD_WEBHOOKS else secret
    )


MODES: dict[str, str] = {tool: plugin.default_auth_mode for tool, plugin in PLUGINS.items()}
# Each tool's default scheme, as its plugin declares it (its own, or a common one).
SCHEMES: dict[str, schemes.WebhookScheme] = {
    tool: scheme for tool, plugin in PLUGINS.items() if (scheme := plugin.webhook_scheme(MODES[tool]))
}
TEST_SECRETS: dict[str, str] = {tool: test_secret(tool, mode) for tool, mode in MODES.items()}
TENANT_IDS: dict[str, str] = {tool: "demo-" + tool.replace("_", "-") for tool in TOOLS}
TIMESTAMPED = frozenset(tool for tool, scheme in SCHEMES.items() if scheme.signed_at is not None)
FIXED_TIME = 1704164645.0  # 2024-01-02T03:04:05Z: request time of the files that sign no timestamp
DELIVERY_IDS = {tool: f"demo-{tool.replace('_', '-')}-delivery-0001" for tool in TOOLS}
USER_AGENTS = {tool: plugin.sample_user_agent for tool, plugin in PLUGINS.items()}
BODIES: dict[str, Any] = {tool: plugin.sample_webhook for tool, plugin in PLUGINS.items()}


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
    signed = SCHEMES[tool].sign(raw, TEST_SECRETS[tool], when, DELIVERY_IDS.get(tool))
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
    """The signed timestamp of an event (None for modes that sign none)."""
    read = SCHEMES[tool].signed_at
    if read is None:
        return None
    return read(WebhookRequest(body=b"", headers=Headers(event.get("headers") or {})))


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
    if not SCHEMES[tool].verify(request, [TEST_SECRETS[tool]], check_at):
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
