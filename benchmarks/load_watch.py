"""Sending a load test's deliveries and watching what becomes of them (``benchmarks/load.py``):
the senders, the note watcher (polls the sandbox's note counts), and the per-run outcome."""

from __future__ import annotations

import queue
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from ticket_enhancer_dev.local.launcher import Launched

from benchmarks.load_plan import MODES, TOOLS, Delivery

PROGRESS_SECONDS = 60.0  # how often a long run prints where it is
POLL_INTERVAL = 0.05
SEND_RETRIES = 5


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


def run_senders(order: list[Delivery], senders: int, seen: Observations) -> None:
    """Send ``order`` from ``senders`` threads: as fast as they go, or each delivery not before its
    time (``Delivery.at``, seconds from the start: an offered load, ``load_plan.schedule``)."""
    work: queue.Queue[Delivery | None] = queue.Queue()
    for delivery in order:
        work.put(delivery)
    for _ in range(senders):
        work.put(None)
    start = time.monotonic()

    def sender() -> None:
        with httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0)) as http:
            while (delivery := work.get()) is not None:
                if delivery.at is not None:
                    time.sleep(max(0.0, start + delivery.at - time.monotonic()))
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

    def __init__(self, sandbox_url: str, interval: float = POLL_INTERVAL) -> None:
        self.sandbox_url = sandbox_url
        self.interval = interval
        self.first_seen: dict[tuple[str, str], float] = {}
        self.counts: dict[tuple[str, str], int] = {}
        self._cursors: dict[str, str] = {}
        self._polling = threading.Lock()  # one poll at a time: a cursor and its counts go together
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="note-watcher", daemon=True)

    def __enter__(self) -> NoteWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def poll(self, http: httpx.Client) -> None:
        with self._polling:  # the watcher's thread and a run's last check both poll
            self._poll(http)

    def _poll(self, http: httpx.Client) -> None:
        for tool in TOOLS:
            # Only the tickets whose notes changed since the last poll (the sandbox's cursor; after
            # a reset of the sandbox it reads every ticket again).
            since = {"since": self._cursors.get(tool, "")}
            body = http.get(f"{self.sandbox_url}/{tool}/_notes", params=since).json()
            self._cursors[tool] = body["cursor"]
            now = time.monotonic()
            for ticket_id, count in body["notes"].items():
                key = (tool, ticket_id)
                self.counts[key] = count
                self.first_seen.setdefault(key, now)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self._stop.wait(self.interval):
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
    note_timeout: float | None = None,
) -> Scenario:
    """Send ``order``, then wait for its notes and for the queues to empty (a progress line a minute)."""
    seen = Observations()
    expected = {(d.tool, d.ticket_id) for d in order if d.original is None}
    done = threading.Event()
    progress = threading.Thread(target=report_progress, args=(order, expected, watcher, done), daemon=True)
    progress.start()
    try:
        run_senders(order, senders, seen)
        with httpx.Client(timeout=10, headers=stack.control_headers) as http:
            timeout = note_timeout if note_timeout is not None else 60 + len(expected) * 0.25
            wait_until(lambda: expected <= set(watcher.first_seen), timeout)
            wait_until(lambda: queues_empty(http, stack.config["control_url"]), 30)
            time.sleep(1.0)  # a straggler would show up by now
            watcher.poll(http)
            dlq = dead_letters(http, stack.config["control_url"])
    finally:
        done.set()
    return Scenario(order, seen, expected, dlq)


def report_progress(
    order: list[Delivery],
    expected: set[tuple[str, str]],
    watcher: NoteWatcher,
    done: threading.Event,
    every: float = PROGRESS_SECONDS,
) -> None:
    """Every ``every`` seconds until ``done``: deliveries answered and notes seen so far."""
    started = time.monotonic()
    while not done.wait(every):
        answered = sum(1 for d in order if d.answered.is_set())
        notes = len(expected & watcher.first_seen.keys())
        elapsed = time.monotonic() - started
        print(
            f"  {elapsed:.0f} s: {answered}/{len(order)} deliveries answered, "
            f"{notes}/{len(expected)} notes ({notes / max(elapsed, 1e-9):.1f}/s)",
            flush=True,
        )


def outcome(run: Scenario, watcher: NoteWatcher, known: set[tuple[str, str]]) -> dict[str, Any]:
    """Delivery and note counts of one run; ``known``: every ticket of the runs so far."""
    order, seen, expected = run.order, run.seen, run.expected
    originals = [d for d in order if d.original is None]
    repeats = [d for d in order if d.original is not None]
    # Accepted: 202, or after a 503 the tool's retry answered 200 duplicate (the first attempt had
    # written the delivery record before failing; the retry queued the same job under the same
    # de-duplication id). Either way the tool sees its delivery taken.
    accepted = [
        d
        for d in originals
        if d.status == 202 or (d.status == 200 and d.attempts > 1 and d.answer.get("status") == "duplicate")
    ]
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
        "accepted_on_retry": sum(1 for d in accepted if d.status == 200),
        "duplicates_answered": len(duplicates_ok),
        "retried_503": seen.retried,
        "rejected": sorted({f"{d.status}" for d in order if d not in accepted and d not in duplicates_ok}),
        "rejected_examples": [
            f"{d.tool}/{d.ticket_id}{' (re-sent)' if d.original else ''}: {d.status} {d.answer}"[:300]
            for d in order
            if d not in accepted and d not in duplicates_ok
        ][:10],
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
