"""Vendor REST calls: the base class's template methods over ``plugins/http.send``.

Every call goes through ``httpx.MockTransport``; ``sleep`` is a fake that records the delays.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import SecretStr
from ticket_enhancer.models import Note, TenantConfig, TenantSecret, Ticket
from ticket_enhancer.plugins import TenantContext
from ticket_enhancer.plugins.errors import (
    VendorAuthError,
    VendorError,
    VendorNotFoundError,
    VendorOutcomeUnknownError,
    VendorRateLimitedError,
    VendorRequestError,
    VendorUnavailableError,
)
from ticket_enhancer.plugins.http import parse_retry_after, send
from ticket_enhancer.plugins.requests import RetryPolicy, VendorRequest
from ticket_enhancer.plugins.zendesk.plugin import ZendeskPlugin

T = TypeVar("T")
BASE_URL = "https://acme.zendesk.com"
JOB_ID = "01JD3Q8Z7XK4M2N6P9R5T8V0W3"
TICKET_JSON = {"ticket": {"id": 42, "subject": "VPN down", "priority": "urgent", "status": "new"}}
Step = httpx.Response | type[httpx.TransportError]


class Script:
    """A MockTransport handler answering each request with the next scripted step."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert self.steps, f"unexpected extra request {request.method} {request.url}"
        step = self.steps.pop(0)
        if isinstance(step, httpx.Response):
            return step
        raise step(f"scripted {step.__name__}", request=request)

    @property
    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.path) for r in self.requests]


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


class RecordingMetrics:
    def __init__(self) -> None:
        self.metrics: list[tuple[str, Any, float]] = []

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.metrics.append((name, unit, value))

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self.metrics]


def tenant(client: httpx.AsyncClient | None) -> TenantContext:
    return TenantContext(
        config=TenantConfig(
            tenant_id="acme",
            tool_type="zendesk",
            base_url=BASE_URL,
            secret_id="ticket-enhancer/zendesk/acme",
        ),
        secret=TenantSecret(api_user="agent@acme.com", api_token=SecretStr("zd-token")),
        http=client,
    )


def run(script: Script, call: Callable[[TenantContext], Awaitable[T]]) -> T:
    async def scenario() -> T:
        async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as client:
            return await call(tenant(client))

    return asyncio.run(scenario())


def run_send(
    script: Script, request: VendorRequest, sleep: RecordingSleep, policy: RetryPolicy
) -> httpx.Response:
    async def scenario() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as client:
            return await send(
                client,
                BASE_URL + "/",
                request,
                headers={"Authorization": "Basic x"},
                tool="zendesk",
                operation="op",
                policy=policy,
                sleep=sleep,
            )

    return asyncio.run(scenario())


def plugin(
    sleep: RecordingSleep, metrics: RecordingMetrics, policy: RetryPolicy | None = None
) -> ZendeskPlugin:
    return ZendeskPlugin(sleep=sleep, metrics=metrics, retry=policy or RetryPolicy())


def ok(body: Any = None) -> httpx.Response:
    return httpx.Response(200, json=TICKET_JSON if body is None else body)


def status(code: int, **headers: str) -> httpx.Response:
    return httpx.Response(code, headers=headers, json={"error": "x"})


def comments(*bodies: str) -> httpx.Response:
    return httpx.Response(200, json={"comments": [{"html_body": body} for body in bodies]})


NOTE = Note(markdown="**Likely cause:** the VPN concentrator.", job_id=JOB_ID)
TICKET_PATH = "/api/v2/tickets/42"
COMMENTS_PATH = "/api/v2/tickets/42/comments"


# -- get_ticket (GET, idempotent) ------------------------------------------------------------------
def test_get_ticket_success_sends_auth_and_parses() -> None:
    script, sleep, metrics = Script(ok()), RecordingSleep(), RecordingMetrics()
    ticket = run(script, lambda t: plugin(sleep, metrics).get_ticket(t, "42"))
    assert isinstance(ticket, Ticket)
    assert (ticket.ticket_id, ticket.subject, ticket.tenant_id) == ("42", "VPN down", "acme")
    (request,) = script.requests
    assert str(request.url) == f"{BASE_URL}{TICKET_PATH}?include=groups"  # the group's name sideloaded
    expected = base64.b64encode(b"agent@acme.com/token:zd-token").decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert sleep.delays == []


def test_retry_after_is_honoured_on_429() -> None:
    script, sleep, metrics = (
        Script(status(429, **{"Retry-After": "2"}), ok()),
        RecordingSleep(),
        RecordingMetrics(),
    )
    ticket = run(script, lambda t: plugin(sleep, metrics).get_ticket(t, "42"))
    assert ticket.ticket_id == "42"
    assert script.calls == [("GET", TICKET_PATH)] * 2
    assert len(sleep.delays) == 1
    assert 2.0 <= sleep.delays[0] <= 2.2  # Retry-After plus at most 10 % jitter


def test_503_twice_then_success_on_get() -> None:
    script, sleep, metrics = Script(status(503), status(503), ok()), RecordingSleep(), RecordingMetrics()
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    ticket = run(script, lambda t: plugin(sleep, metrics, policy).get_ticket(t, "42"))
    assert ticket.ticket_id == "42"
    assert len(script.requests) == 3
    assert len(sleep.delays) == 2
    assert all(0 <= d <= 0.5 * 2**i for i, d in enumerate(sleep.delays))  # full-jitter bounds


def test_500_on_get_is_retried_then_exhausted() -> None:
    policy = RetryPolicy(attempts=3)
    script, sleep, metrics = (
        Script(status(500), status(502), status(500)),
        RecordingSleep(),
        RecordingMetrics(),
    )
    with pytest.raises(VendorUnavailableError) as caught:
        run(script, lambda t: plugin(sleep, metrics, policy).get_ticket(t, "42"))
    assert (caught.value.status, caught.value.retryable) == (500, True)
    assert len(script.requests) == 3
    assert len(sleep.delays) == 2


def test_read_timeout_on_get_is_retried() -> None:
    script, sleep, metrics = Script(httpx.ReadTimeout, ok()), RecordingSleep(), RecordingMetrics()
    ticket = run(script, lambda t: plugin(sleep, metrics).get_ticket(t, "42"))
    assert ticket.ticket_id == "42"
    assert len(script.requests) == 2


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (401, VendorAuthError),
        (403, VendorAuthError),
        (404, VendorNotFoundError),
        (400, VendorRequestError),
        (422, VendorRequestError),
    ],
)
def test_final_client_errors_are_not_retried(code: int, error: type[VendorError]) -> None:
    script, sleep, metrics = Script(status(code)), RecordingSleep(), RecordingMetrics()
    with pytest.raises(error) as caught:
        run(script, lambda t: plugin(sleep, metrics).get_ticket(t, "42"))
    assert type(caught.value) is error
    assert caught.value.status == code
    assert caught.value.retryable is False
    assert (caught.value.tool_type, caught.value.operation) == ("zendesk", "get_ticket")
    assert str(caught.value) == f"zendesk get_ticket: HTTP {code} from GET {TICKET_PATH}"
    assert len(script.requests) == 1
    assert sleep.delays == []


def test_exhausted_429_raises_rate_limited_with_retry_after() -> None:
    policy = RetryPolicy(attempts=3)
    script = Script(*(status(429, **{"Retry-After": "1"}) for _ in range(3)))
    sleep, metrics = RecordingSleep(), RecordingMetrics()
    with pytest.raises(VendorRateLimitedError) as caught:
        run(script, lambda t: plugin(sleep, metrics, policy).get_ticket(t, "42"))
    assert caught.value.retry_after == 1.0
    assert (caught.value.status, caught.value.retryable) == (429, True)
    assert len(script.requests) == 3
    assert len(sleep.delays) == 2
    assert all(1.0 <= d <= 1.1 for d in sleep.delays)


def test_429_without_retry_after_backs_off() -> None:
    script, sleep, metrics = Script(status(429), ok()), RecordingSleep(), RecordingMetrics()
    run(script, lambda t: plugin(sleep, metrics).get_ticket(t, "42"))
    assert len(sleep.delays) == 1
    assert 0 <= sleep.delays[0] <= RetryPolicy().base_delay


def test_retry_after_beyond_policy_is_raised_at_once() -> None:
    policy = RetryPolicy(max_retry_after=30.0)
    script, sleep, metrics = (
        Script(status(429, **{"Retry-After": "120"}), ok()),
        RecordingSleep(),
        RecordingMetrics(),
    )
    with pytest.raises(VendorRateLimitedError) as caught:
        run(script, lambda t: plugin(sleep, metrics, policy).get_ticket(t, "42"))
    assert caught.value.retry_after == 120.0
    assert len(script.requests) == 1
    assert sleep.delays == []


def test_timeouts_come_from_the_policy() -> None:
    script = Script(ok())
    run_send(
        script,
        VendorRequest("GET", "/x", idempotent=True),
        RecordingSleep(),
        RetryPolicy(timeout=7.0, connect_timeout=2.0),
    )
    assert script.requests[0].extensions["timeout"] == {
        "connect": 2.0,
        "read": 7.0,
        "write": 7.0,
        "pool": 7.0,
    }


# -- send() on non-idempotent requests ----------------------------------------------------------------
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_500_on_non_idempotent_request_is_outcome_unknown(method: str) -> None:
    script, sleep = Script(status(500), ok()), RecordingSleep()
    with pytest.raises(VendorOutcomeUnknownError) as caught:
        run_send(script, VendorRequest(method, "/notes", json={"b": 1}), sleep, RetryPolicy())
    assert caught.value.status == 500
    assert caught.value.retryable is True
    assert len(script.requests) == 1
    assert sleep.delays == []


def test_read_timeout_on_non_idempotent_request_is_outcome_unknown() -> None:
    script, sleep = Script(httpx.ReadTimeout, ok()), RecordingSleep()
    with pytest.raises(VendorOutcomeUnknownError, match="ReadTimeout on POST /notes") as caught:
        run_send(script, VendorRequest("POST", "/notes"), sleep, RetryPolicy())
    assert caught.value.status is None
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(script.requests) == 1
    assert sleep.delays == []


@pytest.mark.parametrize("failure", [httpx.ConnectError, httpx.ConnectTimeout])
def test_connection_failure_is_retried_even_when_not_idempotent(
    failure: type[httpx.TransportError],
) -> None:
    script, sleep = Script(failure, ok({"done": True})), RecordingSleep()
    response = run_send(script, VendorRequest("POST", "/notes", json={"b": 1}), sleep, RetryPolicy())
    assert response.json() == {"done": True}
    assert len(script.requests) == 2
    assert json.loads(script.requests[1].content) == {"b": 1}
    assert len(sleep.delays) == 1


def test_connection_failures_exhausted_raise_unavailable() -> None:
    script, sleep = Script(httpx.ConnectError, httpx.ConnectError), RecordingSleep()
    with pytest.raises(VendorUnavailableError, match="ConnectError on POST /notes"):
        run_send(script, VendorRequest("POST", "/notes"), sleep, RetryPolicy(attempts=2))
    assert len(script.requests) == 2
    assert len(sleep.delays) == 1


def test_send_merges_request_headers_and_params() -> None:
    script = Script(ok())
    request = VendorRequest("GET", "/api/x", params={"page": "2"}, headers={"X-Extra": "1"}, idempotent=True)
    run_send(script, request, RecordingSleep(), RetryPolicy())
    sent = script.requests[0]
    assert str(sent.url) == f"{BASE_URL}/api/x?page=2"
    assert (sent.headers["authorization"], sent.headers["x-extra"]) == ("Basic x", "1")


# -- update_ticket: posting a note exactly once -----------------------------------------------------------
def test_update_ticket_posts_the_rendered_note_with_footer() -> None:
    script, sleep, metrics = Script(ok({"ticket": {}})), RecordingSleep(), RecordingMetrics()
    assert run(script, lambda t: plugin(sleep, metrics).update_ticket(t, "42", NOTE)) is True
    (request,) = script.requests
    assert (request.method, request.url.path) == ("PUT", TICKET_PATH)
    comment = json.loads(request.content)["ticket"]["comment"]
    assert comment["public"] is False
    assert NOTE.footer in comment["html_body"]
    assert "<strong>Likely cause:</strong>" in comment["html_body"]


def test_unknown_outcome_with_footer_present_counts_as_posted() -> None:
    script = Script(status(500), comments("<p>older</p>", f"<p>hi</p><hr><p>{NOTE.footer}</p>"))
    sleep, metrics = RecordingSleep(), RecordingMetrics()
    assert run(script, lambda t: plugin(sleep, metrics).update_ticket(t, "42", NOTE)) is True
    assert script.calls == [("PUT", TICKET_PATH), ("GET", COMMENTS_PATH)]
    assert sleep.delays == []


def test_unknown_outcome_with_footer_absent_is_reraised() -> None:
    other = Note(markdown="x", job_id="01JD3Q8Z7XK4M2N6P9R5T8V0W4").footer
    script = Script(status(500), comments("<p>older</p>", f"<p>{other}</p>"))
    sleep, metrics = RecordingSleep(), RecordingMetrics()
    with pytest.raises(VendorOutcomeUnknownError) as caught:
        run(script, lambda t: plugin(sleep, metrics).update_ticket(t, "42", NOTE))
    assert (caught.value.operation, caught.value.status) == ("update_ticket", 500)
    assert script.calls == [("PUT", TICKET_PATH), ("GET", COMMENTS_PATH)]


def test_read_timeout_on_note_then_footer_check() -> None:
    script = Script(httpx.ReadTimeout, comments(f"<p>{NOTE.footer}</p>"))
    sleep, metrics = RecordingSleep(), RecordingMetrics()
    assert run(script, lambda t: plugin(sleep, metrics).update_ticket(t, "42", NOTE)) is True
    assert script.calls == [("PUT", TICKET_PATH), ("GET", COMMENTS_PATH)]


def test_final_error_on_note_skips_footer_check() -> None:
    script, sleep, metrics = Script(status(403)), RecordingSleep(), RecordingMetrics()
    with pytest.raises(VendorAuthError):
        run(script, lambda t: plugin(sleep, metrics).update_ticket(t, "42", NOTE))
    assert script.calls == [("PUT", TICKET_PATH)]


# -- metrics -----------------------------------------------------------------------------------------
def test_latency_metric_per_call() -> None:
    script, sleep, metrics = Script(ok()), RecordingSleep(), RecordingMetrics()
    run(script, lambda t: plugin(sleep, metrics).get_ticket(t, "42"))
    assert len(metrics.metrics) == 1
    name, unit, value = metrics.metrics[0]
    assert name == "zendesk_get_ticket_latency"
    assert "get_ticket" in name
    assert unit == "Milliseconds"
    assert value >= 0


def test_latency_metric_recorded_for_each_operation_even_on_failure() -> None:
    script = Script(status(500), comments())
    sleep, metrics = RecordingSleep(), RecordingMetrics()
    with pytest.raises(VendorOutcomeUnknownError):
        run(script, lambda t: plugin(sleep, metrics).update_ticket(t, "42", NOTE))
    assert metrics.names == ["zendesk_update_ticket_latency", "zendesk_list_notes_latency"]


def test_rest_call_without_http_client_is_an_error() -> None:
    metrics = RecordingMetrics()
    with pytest.raises(RuntimeError, match=r"TenantContext\.http is required"):
        asyncio.run(plugin(RecordingSleep(), metrics).get_ticket(tenant(None), "42"))
    assert metrics.names == []


# -- Retry-After parsing -------------------------------------------------------------------------------
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("2", 2.0),
        (" 30 ", 30.0),
        ("0", 0.0),
        ("Sat, 01 Mar 2025 12:00:45 GMT", 45.0),
        ("Sat, 01 Mar 2025 12:01:00 -0000", 60.0),
        ("Sat, 01 Mar 2025 13:00:10 +0100", 10.0),
        ("Sat, 01 Mar 2025 11:59:00 GMT", 0.0),  # in the past: retry now
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_parse_retry_after_http_date_defaults_to_current_time() -> None:
    future = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 100, tz=UTC)
    parsed = parse_retry_after(format_datetime(future, usegmt=True))
    assert parsed is not None
    assert 95 <= parsed <= 100


def test_http_date_retry_after_drives_the_delay() -> None:
    when = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 5, tz=UTC)
    script = Script(status(429, **{"Retry-After": format_datetime(when, usegmt=True)}), ok())
    sleep, metrics = RecordingSleep(), RecordingMetrics()
    run(script, lambda t: plugin(sleep, metrics).get_ticket(t, "42"))
    assert len(sleep.delays) == 1
    assert 3.0 <= sleep.delays[0] <= 5.5
