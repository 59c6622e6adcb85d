"""Load: signed webhooks from concurrent senders against `ticket-enhancer local up` on loopback.

    python benchmarks/load.py                 # CI size (`make proof`)
    python benchmarks/load.py --size full     # `make load` (or LOAD_SIZE=full)

Starts the local stack as a subprocess (a temporary project root linking to the repo's template,
functions and shared code, so nothing is written into the checkout but the results), onboards
tenants of the five tools on the vendor sandbox, gives every webhook a ticket of its own
(``POST /_sandbox/{tool}/_tickets``) and sends them from K threads (one ``httpx.Client`` each),
re-sending 1 % of them byte for byte (same body, same signature headers) after their first answer
(``load_plan``). A 503 is retried as the tools do. Then it waits until every ticket has a note and
the queues are empty, and checks that every accepted delivery ended as exactly one note: none lost,
none doubled, nothing in a dead-letter queue (``load_watch``).

Three parts, one stack:

1. Capacity: ``SIZES`` webhooks (small 100 from 5 senders, full 1,000 from 20) as fast as the senders
   go: webhooks/s, ingest latency (each HTTP round trip), end-to-end latency (first send -> note
   visible, sampled by polling ``GET /_sandbox/{tool}/_notes?since=<cursor>``: every 50 ms, 100 ms at
   full size, each poll carrying the tickets whose notes changed since the last).
2. The floor: the emulator accepting the webhook's own calls (PutItem + SendMessage) from as many
   threads as there were senders; ingest is reported as a ratio to it.
3. Fair sharing (issue 14), ``FAIR_SIZES``: ``NOISY_TOOL``'s tenant 0 sends ``NOISY_WEIGHT`` times as
   many webhooks as each of the 9 others (small: 100 webhooks; full: 10,000), offered at 60 % of the
   capacity part 1 measured (at most 8/s small, 12/s full), ``SLOW_TOOL``'s vendor answering each
   call ``SLOW_DELAY_SECONDS`` late; before it, a run of the same plan without the noisy tenant (the
   quiet tenants' deliveries at the same times; full: of the plan's first 2,000). The quiet tenants'
   end-to-end p50/p99 in both, and 0 lost, 0 doubled, 0 DLQ.

The local stack runs a pool of up to 4 processes per function (``ticket_enhancer_dev.local.pool``, as
Lambda scales execution environments; all started before measuring, ``POST /_local/warm``) and each
worker's MaximumConcurrency pollers, on the machine it is given: the numbers are this machine's, not
Lambda's. Results: ``benchmarks/results/load.json``
and the latency chart ``benchmarks/results/latency.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ticket_enhancer_dev.local.launcher import Launched, code_path, launch, link_project  # noqa: E402

from benchmarks.load_plan import (  # noqa: E402 (after the path set-up)
    NOISY_TOOL,
    SEEDED_TICKETS,
    TOOLS,
    plan,
    schedule,
    tenant_name,
    ticket_id_for,
    webhook_body_for,
    without_tenant,
)
from benchmarks.load_report import chart, report, result_line  # noqa: E402
from benchmarks.load_watch import (  # noqa: E402
    POLL_INTERVAL,
    NoteWatcher,
    end_to_end_ms,
    outcome,
    percentiles,
    play,
)

__all__ = ["RESULTS", "TOOLS", "main", "report", "run", "ticket_id_for", "webhook_body_for"]

SIZES: dict[str, tuple[int, int]] = {"small": (100, 5), "full": (1000, 20)}
WATCH_INTERVALS = {"small": POLL_INTERVAL, "full": 0.1}  # seconds between the watcher's polls
# Environments per function (TICKET_ENHANCER_LOCAL_POOL), all started before measuring.
POOL_SIZES = {"small": 2, "full": 4}


@dataclass(frozen=True)
class FairSize:
    """The noisy-tenant run (issue 14): ``webhooks`` offered at ``LOAD_FRACTION`` of the capacity just
    measured (webhooks/s and notes/s, the lower), at most ``max_rate`` webhooks/s: below the local
    stack's capacity on whatever machine runs it. The run without the noisy tenant sends the quiet
    tenants' deliveries among the plan's first ``baseline_positions`` at the same times (the noisy
    tenant's left out), so the quiet tenants' latencies compare one for one."""

    webhooks: int
    max_rate: float
    baseline_positions: int
    seeded: int = SEEDED_TICKETS  # processed tickets each tenant starts with (a full window: 100)


# CI size: 20 processed tickets a tenant (seeding 100 for 30 tenants took a minute of the CI run).
FAIR_SIZES = {"small": FairSize(100, 8.0, 100, seeded=20), "full": FairSize(10_000, 12.0, 2_000)}
# 60 %: the capacity part is a burst from 20 senders; an hour's run sustains less than a burst does.
LOAD_FRACTION = 0.6
NOISY_WEIGHT = 10  # the noisy tenant sends 10 times as many webhooks as each other tenant
SLOW_TOOL = "servicenow"  # this vendor answers every call late in both runs
SLOW_DELAY_SECONDS = 0.2
TIME_SCALE = 120  # visibility timeout 360 s -> 3 s
READY_TIMEOUT = 90.0
RESULTS = ROOT / "benchmarks" / "results"


@contextmanager
def local_stack(time_scale: float = TIME_SCALE, pool_size: int = 2) -> Iterator[Launched]:
    """`ticket-enhancer local up` in a temporary project root; stopped with SIGINT at the end."""
    with tempfile.TemporaryDirectory(prefix="te-load-") as tmp:
        root = link_project(Path(tmp), ROOT)
        env = {**os.environ, "PYTHONPATH": code_path(ROOT), "TICKET_ENHANCER_LOCAL_POOL": str(pool_size)}
        stack = launch(root, time_scale=time_scale, timeout=READY_TIMEOUT, env=env)
        try:
            yield stack
        finally:
            stack.stop()


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


def warm(stack: Launched) -> dict[str, int]:
    """Every function's pool of environments started before measuring (``POST /_local/warm``, like
    Lambda's provisioned concurrency): the runs see warm environments, not cold starts."""
    with httpx.Client(timeout=600, headers=stack.control_headers) as http:
        answer = http.post(f"{stack.config['control_url']}/warm")
        answer.raise_for_status()
        environments: dict[str, int] = answer.json()["environments"]
        return environments


def reset_sandbox(stack: Launched) -> None:
    """A fresh vendor sandbox between runs, so the watcher's polls carry only this run's notes (the
    watcher keeps what it saw before)."""
    with httpx.Client(timeout=10, headers=stack.control_headers) as http:
        http.post(f"{stack.config['sandbox_url']}/_reset").raise_for_status()


def fair_sharing(
    stack: Launched,
    watcher: NoteWatcher,
    known: set[tuple[str, str]],
    *,
    size: FairSize,
    senders: int,
    rate: float,
) -> dict[str, Any]:
    """Issue 14's proof at this size: ``size.webhooks`` from the noisy tenant (``NOISY_WEIGHT`` times each
    other tenant's share) and the quiet ones, offered at ``rate`` webhooks/s, ``SLOW_TOOL``'s vendor
    slow; before it, the plan's first ``size.baseline_positions`` without the noisy tenant (tenants of
    their own, the quiet tenants' deliveries at the same times). The quiet tenants' end to end in each."""
    runs: dict[str, Any] = {}
    samples: dict[str, list[float]] = {}
    try:
        for n, name in enumerate(("baseline", "noisy")):
            prefix = f"fair{n}"
            reset_sandbox(stack)
            set_delay(stack, SLOW_TOOL, SLOW_DELAY_SECONDS)
            order = plan(
                stack,
                size.webhooks if name == "noisy" else size.baseline_positions,
                2,
                seed=11,  # the same plan in both runs, under other tenants and ticket ids
                prefix=prefix,
                first_index=(n + 1) * 1_000_000,
                noisy_weight=NOISY_WEIGHT,
                seeded=size.seeded,
            )
            noisy = tenant_name(prefix, NOISY_TOOL, 0)
            schedule(order, rate)
            if name == "baseline":
                order = without_tenant(order, noisy)
            known |= {(d.tool, d.ticket_id) for d in order}
            played = play(stack, watcher, order, senders, note_timeout=len(order) / rate + 120)
            quiet = {d.tenant_id for d in order if d.tenant_id != noisy}
            samples[name] = end_to_end_ms(played, watcher, quiet)
            result = outcome(played, watcher, known)
            result["noisy_tenant_webhooks"] = sum(
                1 for d in order if d.original is None and d.tenant_id == noisy
            )
            result["quiet_tenants"] = len(quiet)
            result["quiet_webhooks"] = len(samples[name])
            result["quiet_end_to_end_ms"] = percentiles(samples[name])
            result["noisy_end_to_end_ms"] = percentiles(end_to_end_ms(played, watcher, {noisy}))
            slow = {d.tenant_id for d in order if d.tool == SLOW_TOOL}
            result["slow_vendor_end_to_end_ms"] = percentiles(end_to_end_ms(played, watcher, slow))
            runs[name] = result
            print(f"{name}: {result_line(result)}", flush=True)
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
    fair: FairSize | None = None,
    watch_interval: float = POLL_INTERVAL,
    pool_size: int = 2,
) -> dict[str, Any]:
    """The capacity run (as fast as ``senders`` go), the emulator's floor for the same ingest calls
    from as many threads, and with ``fair`` the noisy-tenant runs below the capacity measured."""
    started = time.monotonic()
    with local_stack(pool_size=pool_size) as stack:
        ready = time.monotonic()
        environments = warm(stack)
        warmed = time.monotonic()
        order = plan(stack, webhooks, tenants_per_tool, seed, seeded=fair.seeded if fair else SEEDED_TICKETS)
        known = {(d.tool, d.ticket_id) for d in order}
        with NoteWatcher(stack.config["sandbox_url"], watch_interval) as watcher:
            capacity = play(stack, watcher, order, senders, note_timeout=note_timeout)
            measured = outcome(capacity, watcher, known)
            print(f"capacity: {result_line(measured)}", flush=True)
            floor = ingest_floor(stack, senders, webhooks)
            print(f"floor: {floor}", flush=True)
            fairness = None
            if fair is not None:
                took = min(measured["webhooks_per_s"], measured["notes_per_s"])
                rate = round(min(fair.max_rate, LOAD_FRACTION * took), 1)
                fairness = fair_sharing(stack, watcher, known, size=fair, senders=senders, rate=rate)
        finished = time.monotonic()
    e2e = end_to_end_ms(capacity, watcher)
    result: dict[str, Any] = {
        "senders": senders,
        "tenants": tenants_per_tool * len(TOOLS),
        **measured,
        "end_to_end_ms": percentiles(e2e),
        "floor": floor,
        "startup_seconds": round(ready - started, 1),
        "warm_seconds": round(warmed - ready, 1),
        "pool_size": pool_size,
        "environments": environments,
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
        chart(out / "latency.png", result, capacity.seen.round_trips_ms, e2e, samples)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", choices=sorted(SIZES), default=os.environ.get("LOAD_SIZE", "small"))
    parser.add_argument("--webhooks", type=int, help="overrides the size's webhook count")
    parser.add_argument("--senders", type=int, help="overrides the size's sender count")
    parser.add_argument(
        "--fair-webhooks", type=int, help="overrides the noisy-tenant run's webhook count (a slow machine)"
    )
    parser.add_argument("--baseline-positions", type=int, help="overrides the baseline's share of the plan")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where load.json and latency.png go")
    args = parser.parse_args(argv)
    if args.size not in SIZES:
        parser.error(f"LOAD_SIZE must be one of {', '.join(sorted(SIZES))}")
    webhooks, senders = SIZES[args.size]
    result = run(
        args.webhooks or webhooks,
        args.senders or senders,
        out=args.out,
        fair=FairSize(
            args.fair_webhooks or FAIR_SIZES[args.size].webhooks,
            FAIR_SIZES[args.size].max_rate,
            args.baseline_positions or FAIR_SIZES[args.size].baseline_positions,
            FAIR_SIZES[args.size].seeded,
        ),
        watch_interval=WATCH_INTERVALS[args.size],
        pool_size=POOL_SIZES[args.size],
    )
    print(report(result), flush=True)
    print(f"wrote {args.out / 'load.json'} and {args.out / 'latency.png'}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
