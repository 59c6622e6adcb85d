"""What API Gateway's HTTP API does around a Lambda integration (payload format 2.0).

``http_api_event`` builds the event the deployed API would send; ``http_api_reply`` turns the
function's answer into the HTTP response the API would give.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from ticket_enhancer_dev.local.functions import Outcome

ACCOUNT_ID = "123456789012"
API_ID = "local"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_reply(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Reply:
    raw = b"" if body is None else json.dumps(body).encode()
    sent = [("content-type", "application/json"), *(headers or {}).items()]
    return Reply(status, raw, sent)


@functools.cache
def route_pattern(path: str) -> re.Pattern[str]:
    """``/webhooks/jira/{tenant_id}`` -> a regex with one named group per path parameter."""
    parts = re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\})", path)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(regex)


def is_text(content_type: str | None) -> bool:
    mime = (content_type or "").split(";")[0].strip().lower()
    return mime.startswith("text/") or mime == "application/json" or mime.endswith("+json")


def http_api_event(
    *,
    route_key: str,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    path_parameters: Mapping[str, str],
    source_ip: str,
) -> dict[str, Any]:
    sent: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        else:
            sent[key] = f"{sent[key]},{value}" if key in sent else value
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": sent,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": sent.get("host", "127.0.0.1"),
            "domainPrefix": sent.get("host", "127.0.0.1").split(".")[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": sent.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if raw_query:
        query: dict[str, str] = {}
        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            query[key] = f"{query[key]},{value}" if key in query else value
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        text = _as_text(body) if is_text(sent.get("content-type")) else None
        event["body"] = text if text is not None else base64.b64encode(body).decode()
        event["isBase64Encoded"] = text is None
    return event


def _as_text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def http_api_reply(outcome: Outcome, request_id: str) -> Reply:
    """The HTTP response for a function's outcome (500 when it raised, 502 when it died)."""
    extra = {"apigw-requestid": request_id}
    if outcome.status == "error":
        return json_reply(500, {"message": "Internal Server Error"}, extra)
    if outcome.status == "timeout":
        return json_reply(503, {"message": "Service Unavailable"}, extra)
    if outcome.status != "ok":
        return json_reply(502, {"message": "Internal Server Error"}, extra)
    result = outcome.result
    if not (isinstance(result, dict) and "statusCode" in result):
        return json_reply(200, result, extra)  # payload 2.0 infers a JSON 200
    try:
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        headers = [(str(k).lower(), str(v)) for k, v in (result.get("headers") or {}).items()]
        headers += [("set-cookie", str(c)) for c in result.get("cookies") or []]
        return Reply(int(result["statusCode"]), body, [*headers, *extra.items()])
    except (binascii.Error, TypeError, ValueError):
        return json_reply(502, {"message": "Internal Server Error"}, extra)
