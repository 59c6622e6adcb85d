"""Load: signed webhooks from concurrent senders against `ticket-enhancer local up` on loopback.

    python benchmarks/load.py                 # CI size: 100 webhooks, 5 senders (`make proof`)
    python benchmarks/load.py --size full     # 2,000 webhooks, 20 senders (`make load`; or LOAD_SIZE=full)

Starts the local stack as a subprocess (a temporary project root linking to the repo's template,
functions and shared code, so nothing is written into the checkout but the results), onboards
tenants of the five tools on the vendor sandbox, gives every webhook a ticket of its own
(``POST /_sandbox/{tool}/_tickets``) and sends them from K threads (one ``httpx.Client`` each),
re-sending 1 % of them byte for byte (same body, same signature headers) after their first answer.
A 503 is retried as the tools do. Then it waits until every ticket has a note and the queues are
empty, and checks that every accepted delivery ended as exactly one note: none lost, none doubled,
nothing in a dead-letter queue.

Measured: webhooks/s (HTTP requests answered per second of sending), the ingest latency (each
HTTP round trip) and the end-to-end latency (first send -> note visible in the sandbox, sampled
by polling ``GET /_sandbox/{tool}/_notes`` every 50 ms). Each tool's webhook and worker is one
process handling one invocation at a time (a Lambda execution environment), so this measures
one warm environment per function, not Lambda's scaling. Results: ``benchmarks/results/load.json``
and the latency chart ``benchmarks/results/latency.png``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import queue
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ticket_enhancer.local.launcher import Launched, launch, link_project  # noqa: E402

from benchmarks.png import Panel, histograms  # noqa: E402 (after the path set-up)

TOOLS = ("jira", "zendesk", "servicenow", "freshservice", "servicedesk_plus")
MODES = {
    "jira": "jira-hmac",
    "zendesk": "zendesk-hmac",
    "servicenow": "standard-webhooks",
    "freshservice": "shared-token",
    "servicedesk_plus": "shared-token",
}
SIZES: dict[str, tuple[int, int]] = {"small": (100, 5), "full": (2000, 20)}
# The noisy-tenant runs (issue 14), each at an offered load below the local stack's capacity:
# webhooks per run and webhooks/s. A run without the noisy tenant, then one with it, same size.
FAIR_SIZES: dict[str, tuple[int, float]] = {"small": (100, 8.0), "full": (1000, 5.0)}
NOISY_WEIGHT = 10  # the noisy tenant sends 10 times as many webhooks as each other tenant
NOISY_TOOL = "jira"  # its tenant 0 is the noisy one; the tool's other tenant shares its queue
SLOW_TOOL = "servicenow"  # this vendor answers every call late in both runs
SLOW_DELAY_SECONDS = 0.2
TIME_SCALE = 120  # visibility timeout 360 s -> 3 s
REDELIVERY_RATE = 0.01
READY_TIMEOUT = 90.0
POLL_INTERVAL = 0.05
SEND_RETRIES = 5
RESULTS = ROOT / "benchmarks" / "results"
SANDBOX_TOKEN = "sandbox"  # noqa: S105 # nosec B105 # the vendor sandbox accepts any token


@dataclass(eq=False)  # identity: a re-delivery carries the same fields as its original
class Delivery:
    index: int
    tool: str
    tenant_id: str
    ticket_id: str
    url: str
    body: bytes
    secret: str
    delivery_id: str
    original: Delivery | None = None  # set on an exact re-delivery
    headers: dict[str, str] = field(default_factory=dict)
    sent_at: float = 0.0  # first attempt (time.monotonic)
    status: int = 0
    answer: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    answered: threading.Event = field(default_factory=threading.Event)


@contextmanager
def local_stack(time_scale: float = TIME_SCALE) -> Iterator[Launched]:
    """`ticket-enhancer local up` in a temporary project root; stopped with SIGINT at the end."""
    with tempfile.TemporaryDirectory(prefix="te-load-") as tmp:
        root = link_project(Path(tmp), ROOT)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "shared")}
        stack = launch(root, time_scale=time_scale, timeout=READY_TIMEOUT, env=env)
        try:
            yield stack
        finally:
            stack.stop()


# -- tenants, tickets and webhooks ---------------------------------------------------------------


def _new_secret(mode: str) -> str:
    raw = f"load-{uuid.uuid4().hex}"
    return "whsec_" + base64.b64encode(raw.encode()).decode() if mode == "standard-webhooks" else raw


def add_tenant(stack: Launched, tool: str, tenant_id: str) -> str:
    """The tenant row and its secret, on the sandbox; the webhook secret."""
    secret = _new_secret(MODES[tool])
    secret_id = f"ticket-enhancer/{tool}/{tenant_id}"
    stack.client("dynamodb").put_item(
        TableName=stack.config["tables"]["TenantsTable"],
        Item={
            "tenant_id": {"S": tenant_id},
            "tool_type": {"S": tool},
            "base_url": {"S": f"{stack.config['sandbox_url']}/{tool}"},
            "enabled": {"BOOL": True},
            "secret_id": {"S": secret_id},
            "options": {"M": {"synthesis_provider": {"S": "offline"}}},
        },
    )
    secrets = stack.client("secretsmanager")
    webhook_document = {"webhook_secrets": [secret]}
    secrets.create_secret(Name=f"{secret_id}/webhook", SecretString=json.dumps(webhook_document))
    document = {"api_user": "load@example.com", "api_token": SANDBOX_TOKEN}
    secrets.create_secret(Name=secret_id, SecretString=json.dumps(document))
    return secret


def ticket_id_for(tool: str, index: int) -> str:
    return f"{index:032x}" if tool == "servicenow" else str(700_000 + index)


def webhook_body_for(tool: str, tenant_id: str, ticket_id: str) -> dict[str, Any]:
    """What the tool sends when ``ticket_id`` is created (the seed ticket's webhook, re-keyed)."""
    from ticket_enhancer.sandbox.tickets import webhook_body

    body = webhook_body(tool, tenant_id)
    if tool == "jira":
        body["issue"].update(id=ticket_id, key=f"IT-{ticket_id}")
    elif tool == "zendesk":
        body.update(id=f"evt-{tenant_id}-{ticket_id}", subject=f"zen:ticket:{ticket_id}")
        body["detail"]["id"] = ticket_id
    elif tool == "servicenow":
        body.update(sys_id=ticket_id, number=f"INC{int(ticket_id, 16):07d}")
    elif tool == "freshservice":
        body["freshservice_webhook"]["ticket_id"] = int(ticket_id)
    else:
        body["request"].update(id=ticket_id, display_id=ticket_id)
    return body


def tenant_name(prefix: str, tool: str, n: int) -> str:
    return f"{prefix}-{tool.replace('_', '-')}-{n}"


def tenant_cycle(prefix: str, tenants_per_tool: int, noisy_weight: int) -> list[tuple[str, str]]:
    """Which (tool, tenant) sends each webhook, repeating: every tenant once (tools interleaved), or
    with ``noisy_weight`` > 1 the noisy tenant (``NOISY_TOOL``'s tenant 0) that many times as often,
    spread evenly between the others."""
    everyone = [(tool, tenant_name(prefix, tool, n)) for n in range(tenants_per_tool) for tool in TOOLS]
    if noisy_weight <= 1:
        return everyone
    noisy = (NOISY_TOOL, tenant_name(prefix, NOISY_TOOL, 0))
    others = [t for t in everyone if t != noisy]
    cycle: list[tuple[str, str]] = []
    for i in range(max(noisy_weight, len(others))):
        cycle += [noisy] if i < noisy_weight else []
        cycle += [others[i]] if i < len(others) else []
    return cycle


def plan(
    stack: Launched,
    webhooks: int,
    tenants_per_tool: int,
    seed: int,
    *,
    prefix: str = "load",
    first_index: int = 0,
    noisy_weight: int = 1,
) -> list[Delivery]:
    """Tenants, tickets and the deliveries in sending order, re-deliveries included. Ticket ids start
    at ``first_index`` (runs sharing a stack use disjoint ones)."""
    rng = random.Random(seed)  # noqa: S311 # nosec B311 # a reproducible test plan, not a secret
    secrets: dict[tuple[str, str], str] = {}
    for tool in TOOLS:
        for n in range(tenants_per_tool):
            tenant_id = tenant_name(prefix, tool, n)
            secrets[(tool, tenant_id)] = add_tenant(stack, tool, tenant_id)
    cycle = tenant_cycle(prefix, tenants_per_tool, noisy_weight)
    originals: list[Delivery] = []
    tickets: dict[str, list[str]] = {tool: [] for tool in TOOLS}
    for index in range(webhooks):
        tool, tenant_id = cycle[index % len(cycle)]
        ticket_id = ticket_id_for(tool, first_index + index)
        tickets[tool].append(ticket_id)
        url = stack.config["tools"][tool]["webhook_url"].replace("{tenant_id}", tenant_id)
        body = json.dumps(webhook_body_for(tool, tenant_id, ticket_id)).encode()
        originals.append(
            Delivery(
                index, tool, tenant_id, ticket_id, url, body, secrets[(tool, tenant_id)], str(uuid.uuid4())
            )
        )
    with httpx.Client(timeout=30, headers=stack.control_headers) as http:
        for tool, ids in tickets.items():
            if ids:
                answer = http.post(f"{stack.config['sandbox_url']}/{tool}/_tickets", json={"ticket_ids": ids})
                answer.raise_for_status()
    order: list[Delivery] = list(originals)
    repeats = max(1, round(webhooks * REDELIVERY_RATE)) if webhooks else 0
    for original in rng.sample(originals, repeats):
        again = Delivery(
            len(order),
            original.tool,
            original.tenant_id,
            original.ticket_id,
            original.url,
            original.body,
            original.secret,
            original.delivery_id,
            original=original,
        )
        # Later in the stream, as a tool's retry would be (it waits for the first answer anyway).
        position = min(len(order), order.index(original) + rng.randint(1, max(1, webhooks // 4)))
        order.insert(position, again)
    return order


# -- sending and watching ------------------------------------------------------------------------


@dataclass
class Observations:
    round_trips_ms: list[float] = field(default_factory=list)
    retried: int = 0
    errors: list[str] = field(default_factory=list)
    first_sent: float = 0.0
    last_answered: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def send(http: httpx.Client, delivery: Delivery, seen: Observations) -> None:
    from ticket_enhancer.webhooks.signing import sign

    if delivery.original is not None:
        delivery.original.answered.wait(timeout=120)
        delivery.headers = dict(delivery.original.headers)  # the same bytes and headers again
    else:
        mode = MODES[delivery.tool]
        delivery.headers = {
            "Content-Type": "application/json",
            **sign(mode, delivery.body, delivery.secret, delivery_id=delivery.delivery_id),
        }
    for attempt in range(SEND_RETRIES):
        delivery.attempts = attempt + 1
        started = time.monotonic()
        if attempt == 0:
            delivery.sent_at = started
        try:
            answer = http.post(delivery.url, content=delivery.body, headers=delivery.headers)
        except httpx.HTTPError as exc:
            status, body = 0, {"error": f"{type(exc).__name__}: {exc}"}
        else:
            status = answer.status_code
            try:
                body = answer.json()
            except ValueError:
                body = {"error": answer.text[:200]}
        done = time.monotonic()
        with seen.lock:
            seen.round_trips_ms.append((done - started) * 1000)
            seen.first_sent = min(seen.first_sent or started, started)
            seen.last_answered = max(seen.last_answered, done)
            if status in (0, 502, 503, 504):
                seen.retried += 1
        delivery.status, delivery.answer = status, body
        if status not in (0, 502, 503, 504):
            break
        time.sleep(0.2 * 2**attempt)  # what a tool's webhook retry does, compressed
    delivery.answered.set()


def run_senders(order: list[Delivery], senders: int, seen: Observations, rate: float | None = None) -> None:
    """Send ``order`` from ``senders`` threads: as fast as they go, or paced at ``rate`` webhooks/s
    (an offered load: the n-th is not sent before n / rate seconds)."""
    work: queue.Queue[tuple[int, Delivery] | None] = queue.Queue()
    for position, delivery in enumerate(order):
        work.put((position, delivery))
    for _ in range(senders):
        work.put(None)
    start = time.monotonic()

    def sender() -> None:
        with httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0)) as http:
            while (item := work.get()) is not None:
                position, delivery = item
                if rate:
                    time.sleep(max(0.0, start + position / rate - time.monotonic()))
                try:
                    send(http, delivery, seen)
                except Exception as exc:  # recorded: the run fails, the other senders go on
                    with seen.lock:
                        seen.errors.append(f"{delivery.tool}/{delivery.ticket_id}: {exc!r}")
                    delivery.answered.set()

    threads = [threading.Thread(target=sender, name=f"sender-{n}") for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class NoteWatcher:
    """Polls the sandbox's note counts; records when each ticket's first note became visible."""

    def __init__(self, sandbox_url: str) -> None:
        self.sandbox_url = sandbox_url
        self.first_seen: dict[tuple[str, str], float] = {}
        self.counts: dict[tuple[str, str], int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="note-watcher", daemon=True)

    def __enter__(self) -> NoteWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def poll(self, http: httpx.Client) -> None:
        for tool in TOOLS:
            counts = http.get(f"{self.sandbox_url}/{tool}/_notes").json()["notes"]
            now = time.monotonic()
            for ticket_id, count in counts.items():
                key = (tool, ticket_id)
                self.counts[key] = count
                self.first_seen.setdefault(key, now)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self._stop.wait(POLL_INTERVAL):
                try:
                    self.poll(http)
                except httpx.HTTPError:
                    continue


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def queues_empty(http: httpx.Client, control_url: str) -> bool:
    status = http.get(f"{control_url}/status").json()
    return all(
        q["queue"] is not None and q["queue"]["visible"] + q["queue"]["in_flight"] == 0
        for q in status["queues"].values()
    )


def dead_letters(http: httpx.Client, control_url: str) -> int:
    status = http.get(f"{control_url}/status").json()
    return sum(q["dlq"]["visible"] + q["dlq"]["in_flight"] for q in status["queues"].values() if q["dlq"])


# -- the run ---------------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    cuts = values * 99 if len(values) == 1 else statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50": round(cuts[49], 1),
        "p90": round(cuts[89], 1),
        "p99": round(cuts[98], 1),
        "max": round(max(values), 1),
        "mean": round(statistics.fmean(values), 1),
    }


@dataclass
class Scenario:
    """One run of deliveries on the shared stack, and what became of them."""

    order: list[Delivery]
    seen: Observations
    expected: set[tuple[str, str]]
    dlq: int


def play(
    stack: Launched,
    watcher: NoteWatcher,
    order: list[Delivery],
    senders: int,
    *,
    rate: float | None = None,
    note_timeout: float | None = None,
) -> Scenario:
    """Send ``order``, then wait for its notes and for the queues to empty."""
    seen = Observations()
    run_senders(order, senders, seen, rate)
    expected = {(d.tool, d.ticket_id) for d in order if d.original is None}
    with httpx.Client(timeout=10, headers=stack.control_headers) as http:
        timeout = note_timeout if note_timeout is not None else 60 + len(expected) * 0.25
        wait_until(lambda: expected <= set(watcher.first_seen), timeout)
        wait_until(lambda: queues_empty(http, stack.config["control_url"]), 30)
        time.sleep(1.0)  # a straggler would show up by now
        watcher.poll(http)
        dlq = dead_letters(http, stack.config["control_url"])
    return Scenario(order, seen, expected, dlq)


def outcome(run: Scenario, watcher: NoteWatcher, known: set[tuple[str, str]]) -> dict[str, Any]:
    """Delivery and note counts of one run; ``known``: every ticket of the runs so far."""
    order, seen, expected = run.order, run.seen, run.expected
    originals = [d for d in order if d.original is None]
    repeats = [d for d in order if d.original is not None]
    accepted = [d for d in originals if d.status == 202]
    duplicates_ok = [
        d
        for d in repeats
        if d.status == 200
        and d.answer.get("status") == "duplicate"
        and d.original is not None
        and d.answer.get("job_id") == d.original.answer.get("job_id")
    ]
    counts = {key: n for key, n in watcher.counts.items() if key in expected}
    lost = sorted(f"{t}/{i}" for t, i in expected if counts.get((t, i), 0) == 0)
    doubled = sorted(f"{t}/{i}={n}" for (t, i), n in counts.items() if n > 1)
    unexpected = sorted(f"{t}/{i}" for (t, i) in watcher.counts if (t, i) not in known)
    send_seconds = max(1e-9, seen.last_answered - seen.first_sent)
    last_note = max((watcher.first_seen[key] for key in expected if key in watcher.first_seen), default=0.0)
    result: dict[str, Any] = {
        "webhooks": len(originals),
        "redeliveries": len(repeats),
        "requests": len(seen.round_trips_ms),
        "accepted": len(accepted),
        "duplicates_answered": len(duplicates_ok),
        "retried_503": seen.retried,
        "rejected": sorted({f"{d.status}" for d in order if d not in accepted and d not in duplicates_ok}),
        "notes": sum(counts.values()),
        "lost": len(lost),
        "doubled": len(doubled),
        "unexpected_notes": len(unexpected),
        "dead_letters": run.dlq,
        "errors": seen.errors[:10],
        "lost_examples": lost[:10],
        "doubled_examples": doubled[:10],
        "send_seconds": round(send_seconds, 2),
        "webhooks_per_s": round(len(order) / send_seconds, 1),
        "notes_per_s": round(len(expected) / max(1e-9, last_note - seen.first_sent), 1),
        "ingest_ms": percentiles(seen.round_trips_ms),
    }
    result["ok"] = (
        len(accepted) == len(originals)
        and len(duplicates_ok) == len(repeats)
        and not lost
        and not doubled
        and not unexpected
        and run.dlq == 0
        and not seen.errors
    )
    return result


def end_to_end_ms(run: Scenario, watcher: NoteWatcher, tenants: set[str] | None = None) -> list[float]:
    """First send -> note visible, per original delivery (of ``tenants`` only, when given)."""
    return [
        (watcher.first_seen[(d.tool, d.ticket_id)] - d.sent_at) * 1000
        for d in run.order
        if d.original is None
        and (d.tool, d.ticket_id) in watcher.first_seen
        and (tenants is None or d.tenant_id in tenants)
    ]


def ingest_floor(stack: Launched, threads: int, calls: int) -> dict[str, Any]:
    """The emulator's own floor for ingest: ``calls`` conditional PutItem + FIFO SendMessage pairs, the
    webhook's two writes with bodies of the same size, from ``threads`` threads (a client each, made
    before the clock starts), to the deliveries table and a queue of its own (no worker reads it)."""
    table = stack.config["tables"]["DeliveriesTable"]
    queue_url = stack.client("sqs").create_queue(
        QueueName=f"load-floor-{uuid.uuid4().hex[:8]}.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    body = json.dumps({"job_id": "0" * 26, "metadata": {"pad": "x" * 400}})
    clients = [(stack.client("dynamodb"), stack.client("sqs")) for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)
    errors: list[str] = []

    def writer(n: int) -> None:
        dynamodb, sqs = clients[n]
        barrier.wait()
        for i in range(n, calls, threads):
            key = f"floor#{uuid.uuid4().hex}"
            try:
                dynamodb.put_item(
                    TableName=table,
                    Item={"dedupe_key": {"S": key}, "state": {"S": "queued"}, "job_id": {"S": str(i)}},
                    ConditionExpression="attribute_not_exists(dedupe_key)",
                )
                sqs.send_message(
                    QueueUrl=queue_url,
                    MessageBody=body,
                    MessageGroupId=f"floor#{n % 2}",
                    MessageDeduplicationId=key,
                )
            except Exception as exc:  # recorded: a floor with errors is no floor
                errors.append(repr(exc))

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.monotonic()
    for worker in workers:
        worker.join()
    seconds = max(1e-9, time.monotonic() - started)
    return {"threads": threads, "calls": calls, "per_s": round(calls / seconds, 1), "errors": errors[:5]}


def set_delay(stack: Launched, tool: str, seconds: float) -> None:
    with httpx.Client(timeout=10, headers=stack.control_headers) as http:
        http.post(
            f"{stack.config['sandbox_url']}/{tool}/_delay", json={"seconds": seconds}
        ).raise_for_status()


def fair_sharing(
    stack: Launched,
    watcher: NoteWatcher,
    known: set[tuple[str, str]],
    *,
    webhooks: int,
    senders: int,
    rate: float,
) -> dict[str, Any]:
    """Issue 14's proof at this size: a run without the noisy tenant, then one with it (same size, same
    offered load, ``SLOW_TOOL``'s vendor slow in both); the quiet tenants' end-to-end latency of each."""
    set_delay(stack, SLOW_TOOL, SLOW_DELAY_SECONDS)
    runs: dict[str, Any] = {}
    samples: dict[str, list[float]] = {}
    try:
        for n, (name, weight) in enumerate((("baseline", 1), ("noisy", NOISY_WEIGHT))):
            prefix = f"fair{n}"
            order = plan(
                stack,
                webhooks,
                2,
                seed=11 + n,
                prefix=prefix,
                first_index=(n + 1) * 1_000_000,
                noisy_weight=weight,
            )
            noisy = tenant_name(prefix, NOISY_TOOL, 0)
            known |= {(d.tool, d.ticket_id) for d in order}
            played = play(stack, watcher, order, senders, rate=rate, note_timeout=len(order) / rate + 90)
            quiet = {d.tenant_id for d in order if d.tenant_id != noisy}
            samples[name] = end_to_end_ms(played, watcher, quiet)
            result = outcome(played, watcher, known)
            result["noisy_tenant_webhooks"] = sum(
                1 for d in order if d.original is None and d.tenant_id == noisy
            )
            result["quiet_tenants"] = len(quiet)
            result["quiet_end_to_end_ms"] = percentiles(samples[name])
            result["noisy_end_to_end_ms"] = percentiles(end_to_end_ms(played, watcher, {noisy}))
            slow = {d.tenant_id for d in order if d.tool == SLOW_TOOL}
            result["slow_vendor_end_to_end_ms"] = percentiles(end_to_end_ms(played, watcher, slow))
            runs[name] = result
    finally:
        set_delay(stack, SLOW_TOOL, 0)
    return {
        "offered_per_s": rate,
        "senders": senders,
        "noisy_weight": NOISY_WEIGHT,
        "noisy_tool": NOISY_TOOL,
        "slow_tool": SLOW_TOOL,
        "slow_delay_s": SLOW_DELAY_SECONDS,
        **runs,
        "ok": all(r["ok"] for r in runs.values()),
        "_samples": samples,
    }


def run(
    webhooks: int = 100,
    senders: int = 5,
    *,
    tenants_per_tool: int = 2,
    out: Path | None = RESULTS,
    seed: int = 7,
    note_timeout: float | None = None,
    fair: tuple[int, float] | None = None,
) -> dict[str, Any]:
    """The capacity run (as fast as ``senders`` go), the emulator's floor for the same ingest calls
    from as many threads, and with ``fair = (webhooks, webhooks/s)`` the noisy-tenant runs."""
    started = time.monotonic()
    with local_stack() as stack:
        ready = time.monotonic()
        order = plan(stack, webhooks, tenants_per_tool, seed)
        known = {(d.tool, d.ticket_id) for d in order}
        with NoteWatcher(stack.config["sandbox_url"]) as watcher:
            capacity = play(stack, watcher, order, senders, note_timeout=note_timeout)
            floor = ingest_floor(stack, senders, webhooks)
            fairness = None
            if fair is not None:
                fairness = fair_sharing(
                    stack, watcher, known, webhooks=fair[0], senders=senders, rate=fair[1]
                )
        finished = time.monotonic()
    e2e = end_to_end_ms(capacity, watcher)
    result: dict[str, Any] = {
        "senders": senders,
        "tenants": tenants_per_tool * len(TOOLS),
        **outcome(capacity, watcher, known),
        "end_to_end_ms": percentiles(e2e),
        "floor": floor,
        "startup_seconds": round(ready - started, 1),
        "total_seconds": round(finished - started, 1),
        "time_scale": TIME_SCALE,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.system()},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    result["ingest_vs_floor"] = round(result["webhooks_per_s"] / max(1e-9, floor["per_s"]), 3)
    samples: dict[str, list[float]] = {}
    if fairness is not None:
        samples = fairness.pop("_samples")
        result["fair_sharing"] = fairness
        result["ok"] = result["ok"] and fairness["ok"]
    result["ok"] = result["ok"] and not floor["errors"]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "load.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        ingest, end_to_end = result["ingest_ms"], result["end_to_end_ms"]
        panels = [
            Panel(
                f"Ingest latency (HTTP round trip), {result['requests']} requests, {senders} senders",
                capacity.seen.round_trips_ms,
                {"p50": ingest.get("p50", 0.0), "p99": ingest.get("p99", 0.0)},
            ),
            Panel(
                f"End-to-end latency (send to note visible), {len(e2e)} notes",
                e2e,
                {"p50": end_to_end.get("p50", 0.0), "p99": end_to_end.get("p99", 0.0)},
            ),
        ]
        for name, values in samples.items():
            cuts = percentiles(values)
            panels.append(
                Panel(
                    f"Quiet tenants' end to end, {'with' if name == 'noisy' else 'without'} the noisy "
                    f"tenant, {len(values)} notes",
                    values,
                    {"p50": cuts.get("p50", 0.0), "p99": cuts.get("p99", 0.0)},
                )
            )
        histograms(out / "latency.png", panels)
    return result


def report(result: dict[str, Any]) -> str:
    ingest, e2e = result["ingest_ms"], result["end_to_end_ms"]
    verdict = "OK" if result["ok"] else "FAILED"
    return (
        f"load {verdict}: {result['webhooks']} webhooks (+{result['redeliveries']} re-deliveries) from "
        f"{result['senders']} senders, {result['tenants']} tenants: {result['webhooks_per_s']} webhooks/s, "
        f"ingest p50 {ingest.get('p50')} ms p99 {ingest.get('p99')} ms, end-to-end p50 {e2e.get('p50')} ms "
        f"p99 {e2e.get('p99')} ms, {result['notes_per_s']} notes/s; accepted {result['accepted']}, "
        f"duplicates {result['duplicates_answered']}, 503 retried {result['retried_503']}, notes "
        f"{result['notes']}, lost {result['lost']}, doubled {result['doubled']}, "
        f"DLQ {result['dead_letters']}; ingest {result['ingest_vs_floor']}x the emulator's floor "
        f"({result['floor']['per_s']} PutItem+SendMessage/s from {result['floor']['threads']} threads)"
        f"{fair_report(result.get('fair_sharing'))} ({result['total_seconds']} s in all)"
    )


def fair_report(fair: dict[str, Any] | None) -> str:
    if not fair:
        return ""
    parts = []
    for name in ("baseline", "noisy"):
        run, quiet = fair[name], fair[name]["quiet_end_to_end_ms"]
        parts.append(
            f"{name}: quiet tenants p50 {quiet.get('p50')} ms p99 {quiet.get('p99')} ms, lost {run['lost']}, "
            f"doubled {run['doubled']}, DLQ {run['dead_letters']}"
        )
    return f"; at {fair['offered_per_s']} webhooks/s offered, {fair['slow_tool']} slow: " + "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", choices=sorted(SIZES), default=os.environ.get("LOAD_SIZE", "small"))
    parser.add_argument("--webhooks", type=int, help="overrides the size's webhook count")
    parser.add_argument("--senders", type=int, help="overrides the size's sender count")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where load.json and latency.png go")
    args = parser.parse_args(argv)
    if args.size not in SIZES:
        parser.error(f"LOAD_SIZE must be one of {', '.join(sorted(SIZES))}")
    webhooks, senders = SIZES[args.size]
    result = run(args.webhooks or webhooks, args.senders or senders, out=args.out, fair=FAIR_SIZES[args.size])
    print(report(result), flush=True)
    print(f"wrote {args.out / 'load.json'} and {args.out / 'latency.png'}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
